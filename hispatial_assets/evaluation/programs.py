"""Answering self-built questions by running their QA programs against a world: the scene's truth
(`oracle`) or the data engine's own estimate (`geometry`).

A world is one image's objects, keyed by the *truth* object ids the programs name, plus a camera-frame
point map for pixel queries. The estimated world matches the engine's objects to the truth by mask IoU
(≥ 0.5, greedy); estimated objects without a match stay in the world under fresh ids (they still count
in counting questions); a truth object without a match makes every question about it unanswerable.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from hispatial_assets.evaluation import kinds
from hispatial_assets.evaluation.task import Item
from hispatial_assets.geometry.masks import decode_rles, mask_ious
from hispatial_assets.qa.program import Executor
from hispatial_assets.qa.scene import ImageInputs, SceneObjects

UNANSWERABLE = "I cannot tell."  # parses as nothing: scored wrong, counted as a parse failure
MATCH_IOU = 0.5
UNMATCHED_ID_BASE = 1_000_000


@dataclass
class World:
    scene: SceneObjects
    xyz: np.ndarray | None  # (H, W, 3) camera frame, for px() queries


def world_from(objects: pl.DataFrame, xyz: np.ndarray | None, width: int, height: int) -> World:
    drop_id = objects["drop_id"][0] if len(objects) else ""
    image_id = objects["image_id"][0] if len(objects) else ""
    return World(SceneObjects(ImageInputs(drop_id, image_id, width, height, objects=objects)), xyz)


def match_by_mask(estimated: pl.DataFrame, truth: pl.DataFrame, shape: tuple[int, int],
                  min_iou: float = MATCH_IOU) -> dict[int, int]:
    """estimated object_id -> truth object_id, by mask IoU ≥ ``min_iou``, greedy on IoU."""
    if estimated.is_empty() or truth.is_empty():
        return {}
    ious = mask_ious(decode_rles(estimated["mask_rle"].to_list(), shape), decode_rles(truth["mask_rle"].to_list(), shape))
    est_ids, truth_ids = estimated["object_id"].to_list(), truth["object_id"].to_list()
    pairs: dict[int, int] = {}
    used_truth: set[int] = set()
    for flat in np.argsort(-ious, axis=None, kind="stable"):
        i, j = np.unravel_index(flat, ious.shape)
        if ious[i, j] < min_iou:
            break
        if est_ids[i] in pairs or j in used_truth:
            continue
        pairs[est_ids[i]] = truth_ids[j]
        used_truth.add(j)
    return pairs


def in_truth_ids(estimated: pl.DataFrame, truth: pl.DataFrame, shape: tuple[int, int]) -> pl.DataFrame:
    """The estimated objects renamed to the truth ids they match; unmatched ones get fresh ids."""
    pairs = match_by_mask(estimated, truth, shape)
    ids = [pairs.get(oid, UNMATCHED_ID_BASE + k) for k, oid in enumerate(estimated["object_id"].to_list())]
    return estimated.with_columns(pl.Series("object_id", ids, dtype=pl.Int32))


def answer_from_world(world: World, item: Item) -> str:
    """Run the item's program in ``world`` and say the value as the item's kind asks."""
    program = item.meta["program"]
    executor = Executor(world.scene, world.xyz)
    try:
        value = executor.run(program)
        if isinstance(value, tuple) and value and value[0] in ("px", "o"):  # a bare pixel or object: its point
            value = executor._pt(value)
    except (KeyError, IndexError, TypeError, ValueError):  # an object or pixel the world does not have
        return UNANSWERABLE
    kind = item.kind
    if kind == "choice":
        letter = kinds.choose_option(value, item.options, kinds.final_op(program))
        return kinds.say("choice", letter, item.options) if letter else UNANSWERABLE
    if kind == "bool":
        return kinds.say("bool", bool(value)) if isinstance(value, (bool, np.bool_)) else UNANSWERABLE
    if kind == "order":
        ids = list(item.meta["candidate_ids"])
        try:
            return kinds.say("order", [ids.index(oid) + 1 for oid in value], item.options)
        except ValueError:
            return UNANSWERABLE
    if kind == "xyz":
        return kinds.say("xyz", np.asarray(value, dtype=np.float64).tolist())
    return kinds.say(kind, value, item.options) or UNANSWERABLE


class ProgramAnswerer:
    """Answers each item from the world of its image (``world_of(drop_id, image_id)``, cached)."""

    def __init__(self, name: str, world_of: Callable[[str, str], World | None]):
        self.name, self.world_of = name, world_of
        self._cache: dict[tuple[str, str], World | None] = {}

    def answer(self, items: Sequence[Item]) -> list[str]:
        out = []
        for it in items:
            if "program" not in it.meta:
                raise NotApplicable(f"{self.name} answers from scene geometry and needs the self-built benchmark's "
                                    f"programs; item {it.id} has none")
            key = (it.meta["drop_id"], it.meta["image_id"])
            if key not in self._cache:
                self._cache[key] = self.world_of(*key)
            world = self._cache[key]
            out.append(UNANSWERABLE if world is None else answer_from_world(world, it))
        return out


class NotApplicable(ValueError):
    """A baseline asked to answer a benchmark it cannot (oracle / geometry need our scenes)."""
