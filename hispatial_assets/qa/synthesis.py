"""Hierarchical QA synthesis: one image's inputs -> schema.QA rows for a level (DESIGN §4)."""

from __future__ import annotations

import gc
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from hispatial_assets.qa import level0, level1, level2, level3
from hispatial_assets.qa.config import LEVEL_TASKS, QAConfig
from hispatial_assets.qa.rows import Balance, Rows
from hispatial_assets.qa.scene import ImageInputs, SceneObjects

GENERATORS: dict[str, Callable] = {
    "point_3d": level0.point_3d, "depth_order": level0.depth_order,
    "object_location": level1.object_location, "object_orientation": level1.object_orientation,
    "object_size": level1.object_size,
    "direction": level2.direction, "direction_vector": level2.direction_vector,
    "distance": level2.distance, "distance_component": level2.distance_component,
    "compare": level2.compare, "rank": level2.rank,
    "perspective": level3.perspective, "count_constrained": level3.count_constrained,
    "multi_step": level3.multi_step,
}

# phraser(task, question) -> rephrased question (or None to keep it). It may only reword the
# question stem; options, answers and programs never pass through it.
Phraser = Callable[[str, str], "str | None"]


@dataclass
class Context:
    """What a task generator reads and writes for one image: ``rnd`` and ``bal`` are the task's own
    (seeded by image and task), ``cache`` is shared by the image's tasks."""

    image: ImageInputs
    cfg: QAConfig
    scene: SceneObjects
    rows: Rows
    rnd: random.Random
    bal: Balance
    cache: dict[str, Any] = field(default_factory=dict)


def generate_qa(level: int, image: ImageInputs, config: QAConfig | None = None, *,
                phraser: Phraser | None = None, phrase_tasks: tuple[str, ...] = ("multi_step",)) -> pl.DataFrame:
    """All QA rows of one level for one image, conforming to schema.QA; deterministic in
    (config, image id, inputs)."""
    return generate_all([image], config, levels=(level,), phraser=phraser, phrase_tasks=phrase_tasks)


def generate_all(images: Iterable[ImageInputs], config: QAConfig | None = None, *,
                 levels: Iterable[int] = (0, 1, 2, 3), phraser: Phraser | None = None,
                 phrase_tasks: tuple[str, ...] = ("multi_step",)) -> pl.DataFrame:
    """QA rows of the given levels for many images as one frame (schema.QA), ordered by image, then
    level. Each image's rows equal `generate_qa` for that image and level."""
    cfg = config or QAConfig()
    levels = tuple(levels)
    for level in levels:
        if level not in LEVEL_TASKS:
            raise ValueError(f"level must be one of {sorted(LEVEL_TASKS)}, not {level!r}")
    # Synthesis allocates many small containers and no reference cycles; pausing the cyclic garbage
    # collector for the call saves its repeated scans of the growing row list (~10%).
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        rows = _synthesize(images, cfg, levels)
        if phraser is not None:  # user code: run it with the collector in its usual state
            if gc_was_enabled:
                gc.enable()
            try:
                _rephrase(rows, phraser, phrase_tasks)
            finally:
                gc.disable()
        return rows.frame()
    finally:
        if gc_was_enabled:
            gc.enable()


def _synthesize(images: Iterable[ImageInputs], cfg: QAConfig, levels: tuple[int, ...]) -> Rows:
    rows = Rows()
    plans = {level: _level_plan(cfg, level) for level in levels}  # the same for every image
    for image in images:
        scene = SceneObjects(image, allow_fallback=cfg.allow_fallback)
        cache: dict[str, Any] = {}
        versions = image.versions_json()
        for level in levels:
            for task, caps in plans[level]:
                ctx = Context(image, cfg, scene, rows, rnd=random.Random(cfg.rng_seed(image.image_id, task)),
                              bal=Balance(random.Random(cfg.rng_seed(image.image_id, task + "/letters"))), cache=cache)
                GENERATORS[task](ctx, task, caps)
            rows.close_segment(image.drop_id, image.image_id, level, versions)
    return rows


def _level_plan(cfg: QAConfig, level: int) -> list[tuple[str, dict[str, int]]]:
    level_caps = {task: cfg.format_caps(task) for task in LEVEL_TASKS[level]}
    if cfg.max_per_image is not None:
        level_caps = _scale_caps(level_caps, cfg.max_per_image)
    return [(task, caps) for task, caps in level_caps.items() if any(caps.values())]


def _scale_caps(level_caps: dict[str, dict[str, int]], limit: int) -> dict[str, dict[str, int]]:
    """Shrink every (task, format) budget by the same factor so the level fits ``limit`` rows;
    boolean budgets stay even."""
    total = sum(sum(c.values()) for c in level_caps.values())
    if total <= limit:
        return level_caps
    f = limit / total
    out = {}
    for task, caps in level_caps.items():
        out[task] = {fmt: (int(n * f) // 2 * 2 if fmt == "boolean" else int(n * f)) for fmt, n in caps.items()}
    return out


def _rephrase(rows: Rows, phraser: Phraser, tasks: tuple[str, ...]) -> None:
    for i, task, question in rows.questions():
        if task not in tasks:
            continue
        stem, sep, options = question.partition("\nA. ")
        new = phraser(task, stem)
        if new:
            rows.set_question(i, new + (sep + options if sep else ""))
