"""Batched greedy answers from a trained checkpoint: image + point map + question -> text.

    predictor = load_predictor(latest_checkpoint(root, "rgb_xyz"))
    predictor.answer([Query(rgb, "How far is the lamp from the sofa?", point_map)])

The predictor derives what its input mode needs from the point map it is given: the XYZ of the map for
``rgb_xyz`` / ``rgb_gt_xyz`` (pass the estimated map for the first, the exact one for the second),
relative depth for ``rgb_reldepth``; ``rgb`` ignores it.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from hispatial_assets.geometry.camera import PointMap
from hispatial_assets.model.processor import encode_batch, point_map_input


@dataclass(frozen=True)
class Query:
    image: np.ndarray  # (H, W, 3) uint8 RGB
    question: str
    point_map: PointMap | None = None  # camera frame, meters; None for rgb


class Predictor:
    """A loaded checkpoint in eval mode (bf16 on CUDA) and its processor."""

    def __init__(self, model, processor, *, recipe: str, checkpoint_uri: str, device: str | torch.device,
                 cpu_threads: int = 1):
        self.model, self.processor, self.cpu_threads = model, processor, cpu_threads
        self.recipe, self.checkpoint_uri = recipe, checkpoint_uri
        self.modality: str = model.config.input_mode
        self.device = torch.device(device)
        self.image_size: int = model.config.vision_config.image_size

    def _inputs(self, queries: Sequence[Query]) -> dict[str, torch.Tensor]:
        points = [point_map_input(q.point_map, self.modality, self.image_size) for q in queries]
        batch = encode_batch(self.processor, [q.image for q in queries], [q.question for q in queries], points,
                             padding_side="left")
        return {k: v.to(self.device) for k, v in batch.items()}

    @torch.no_grad()
    def answer(self, queries: Sequence[Query], *, max_new_tokens: int = 32, batch_size: int = 8) -> list[str]:
        """One greedy answer per query, in order (special tokens and surrounding spaces removed)."""
        from hispatial_assets.model.train import torch_threads

        with torch_threads(self.cpu_threads if self.device.type == "cpu" else None):
            return self._answer(queries, max_new_tokens, batch_size)

    def _answer(self, queries: Sequence[Query], max_new_tokens: int, batch_size: int) -> list[str]:
        tok = self.processor.tokenizer
        answers: list[str] = []
        for start in range(0, len(queries), batch_size):
            inputs = self._inputs(queries[start:start + batch_size])
            out = self.model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False,
                                      pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id)
            new = out[:, inputs["input_ids"].shape[1]:]
            answers += [t.strip() for t in tok.batch_decode(new, skip_special_tokens=True)]
        return answers


def _local_copy(uri: str) -> str:
    """A local folder with the checkpoint's files (fsspec URIs are copied once into a temp folder)."""
    if "://" not in uri or uri.startswith("file://"):
        return uri.removeprefix("file://")
    from hispatial_assets.storage import io

    fs, path = io.fs_and_path(uri)
    local = os.path.join(tempfile.gettempdir(), "hispatial_checkpoints", path.strip("/").replace("/", "_"))
    if not os.path.isdir(local):
        tmp = f"{local}.tmp-{os.getpid()}"
        fs.get(path.rstrip("/") + "/", tmp, recursive=True)
        os.replace(tmp, local)
    return local


def load_predictor(checkpoint_uri: str, *, device: str | None = None) -> Predictor:
    """A `Predictor` for a checkpoint folder written by `train` (local path or fsspec URI)."""
    from hispatial_assets.model.loading import load_trained
    from hispatial_assets.model.train import read_trainer_state

    path = _local_copy(checkpoint_uri)
    model, processor = load_trained(path, setting="checkpoint_uri")
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    if torch.device(device).type == "cuda":
        model = model.to(torch.bfloat16)
    recipe = read_trainer_state(path).get("recipe", "") if os.path.exists(os.path.join(path, "trainer_state.json")) else ""
    return Predictor(model.to(device).eval(), processor, recipe=recipe, checkpoint_uri=checkpoint_uri, device=device)
