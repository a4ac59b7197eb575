"""SFT rows -> model batches: a dataset over the rows, a collator, and a data order that is a function
of the step alone (so a resumed run sees exactly the batches an uninterrupted one would)."""

from __future__ import annotations

from collections import OrderedDict
from functools import lru_cache

import numpy as np
import polars as pl
import torch

from hispatial_assets.model.processor import encode_batch, point_map_input
from hispatial_assets.storage.images import read_rgb
from hispatial_assets.storage.point_maps import load_point_map

ROW_COLUMNS = ("question", "answer", "image_uri", "point_map_uri")


class _LRU(OrderedDict):
    def __init__(self, size: int):
        super().__init__()
        self.size = size

    def get_or(self, key, make):
        if key in self:
            self.move_to_end(key)
            return self[key]
        value = self[key] = make()
        if len(self) > self.size:
            self.popitem(last=False)
        return value


class SftDataset(torch.utils.data.Dataset):
    """Rows with question, answer, image_uri, point_map_uri; items are the decoded image (H, W, 3) uint8,
    the texts and the point-map input of ``mode`` at the vision input ``size``. Many QA rows share an
    image, so decoded images and point inputs are kept in a small LRU cache."""

    def __init__(self, rows: pl.DataFrame, mode: str, size: int, *, cache_images: int = 256):
        missing = [c for c in ROW_COLUMNS if c not in rows.columns]
        if missing:
            raise ValueError(f"SFT rows lack columns {missing}")
        self.rows = rows.select(ROW_COLUMNS).to_dicts()
        self.mode, self.size = mode, size
        self._images, self._points = _LRU(cache_images), _LRU(cache_images)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> dict:
        row = self.rows[int(i)]
        image = self._images.get_or(row["image_uri"], lambda: read_rgb(row["image_uri"]))
        uri = row["point_map_uri"]
        points = self._points.get_or((uri, self.mode), lambda: point_map_input(
            load_point_map(uri) if uri and self.mode != "rgb" else None, self.mode, self.size))
        return {"image": image, "question": row["question"], "answer": row["answer"], "point_input": points}


class Collator:
    """Examples -> one right-padded training batch with labels on the answers (see `encode_batch`)."""

    def __init__(self, processor):
        self.processor = processor

    def __call__(self, examples: list[dict]) -> dict[str, torch.Tensor]:
        return encode_batch(self.processor, [e["image"] for e in examples], [e["question"] for e in examples],
                            [e["point_input"] for e in examples], answers=[e["answer"] for e in examples])


@lru_cache(maxsize=4)
def _epoch_order(n_rows: int, seed: int, epoch: int) -> np.ndarray:
    return np.random.default_rng([seed, epoch]).permutation(n_rows)


def micro_batch_indices(n_rows: int, batch_size: int, micro_step: int, *, seed: int, rank: int = 0,
                        world: int = 1) -> np.ndarray:
    """Row indices of one micro-batch of one rank: the rows in a seeded permutation per epoch, consumed in
    order, micro-step by micro-step and rank by rank."""
    start = (micro_step * world + rank) * batch_size
    positions = np.arange(start, start + batch_size)
    epochs, offsets = np.divmod(positions, n_rows)
    out = np.empty(batch_size, np.int64)
    for epoch in np.unique(epochs):
        sel = epochs == epoch
        out[sel] = _epoch_order(n_rows, seed, int(epoch))[offsets[sel]]
    return out


class StepSampler(torch.utils.data.Sampler):
    """Batch sampler over micro-steps ``[start, stop)`` (a DataLoader ``batch_sampler``)."""

    def __init__(self, n_rows: int, batch_size: int, start: int, stop: int, *, seed: int, rank: int = 0, world: int = 1):
        if n_rows <= 0:
            raise ValueError("no training rows")
        self.n_rows, self.batch_size, self.start, self.stop = n_rows, batch_size, start, stop
        self.seed, self.rank, self.world = seed, rank, world

    def __len__(self) -> int:
        return max(0, self.stop - self.start)

    def __iter__(self):
        for m in range(self.start, self.stop):
            yield micro_batch_indices(self.n_rows, self.batch_size, m, seed=self.seed, rank=self.rank,
                                      world=self.world).tolist()
