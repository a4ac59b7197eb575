"""Evaluation runs from the command line: scoring recipe × benchmark partitions of `eval_scores`
through Dagster (so they show in the UI with their history), and the paper's two ablations at small
scale (drops → pipeline → training → scores → tables)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass

import dagster as dg
import polars as pl

from hispatial_assets.cli import orchestrate
from hispatial_assets.config import PipelineConfig
from hispatial_assets.model.recipes import BASELINES, HIERARCHY_ABLATION, INPUT_ABLATION
from hispatial_assets.cli.progress import Progress
from hispatial_assets.splits import split_of
from hispatial_assets.storage import io
from hispatial_assets.storage.layout import DataRoot

ABLATIONS = {"hierarchy": HIERARCHY_ABLATION, "input": INPUT_ABLATION}


def score_partition(defs: dg.Definitions, instance: dg.DagsterInstance, recipe: str, benchmark: str) -> str | None:
    """Materialize eval_scores[recipe, benchmark]; None on success, else the error."""
    from hispatial_assets.definitions import EVAL_JOB

    key = dg.MultiPartitionKey({"recipe": recipe, "benchmark": benchmark})
    result = defs.resolve_job_def(EVAL_JOB).execute_in_process(
        partition_key=key, instance=instance, raise_on_error=False, run_config=orchestrate.QUIET,
        tags={"hispatial/source": "cli"})
    if result.success:
        return None
    errors = [e.step_failure_data.error for e in result.all_events if e.is_step_failure and e.step_failure_data.error]
    return "; ".join(orchestrate.root_error(err) for err in errors) or "run failed"


@dataclass(frozen=True)
class AblationScale:
    """How big the small-scale run is: drops of scene-engine images and training steps per recipe."""

    train_drops: int = 2
    images_per_drop: int = 8
    test_images: int = 8
    width: int = 256
    height: int = 192
    max_steps: int = 1000
    seed: int = 0


def ablation_drop_ids(scale: AblationScale) -> dict[str, list[str]]:
    """Train drops (ids whose hash puts them in train), one val_ drop and one test_ drop."""
    train, k = [], 0
    while len(train) < scale.train_drops:
        drop_id = f"ablation_{k:03d}"
        if split_of(drop_id) == "train":
            train.append(drop_id)
        k += 1
    return {"train": train, "val": ["val_ablation_000"], "test": ["test_ablation_000"]}


def prepare_drops(root: DataRoot, defs: dg.Definitions, instance: dg.DagsterInstance, scale: AblationScale,
                  log: Callable[[str], None] = print, progress: Progress = lambda _n: None) -> list[str]:
    """Render (once) and run the pipeline on the ablation's drops."""
    from hispatial_assets.scenes import write_drop

    ids = ablation_drop_ids(scale)
    all_ids = [d for split in ("train", "val", "test") for d in ids[split]]
    for n, drop_id in enumerate(all_ids):
        if not io.exists(io.join(root.drop_uri(drop_id), "_READY")):
            images = scale.test_images if drop_id in ids["test"] else scale.images_per_drop
            log(f"[scene engine] {drop_id}: rendering {images} images")
            write_drop(root.root, drop_id, n_images=images, seed=scale.seed + 1000 * n, width=scale.width,
                       height=scale.height)
    orchestrate.register_drops(instance, all_ids)
    for drop_id in all_ids:
        if not io.exists(root.table_uri("qa", drop_id, level=3)):
            t = time.time()
            result = orchestrate.materialize_drop(defs, instance, drop_id)
            log(f"[dagster] {drop_id}: {'ok' if result.success else 'FAILED'} in {time.time() - t:.1f}s")
            if not result.success:
                raise RuntimeError(f"the pipeline failed on drop {drop_id}")
        progress(1)
    return all_ids


def ablation_pipeline(config: PipelineConfig) -> PipelineConfig:
    """The pipeline the ablations run: the configured one, except that the scene engine's exact point maps
    (`synthetic`) become estimates (`synthetic_noisy`): with exact maps `rgb_xyz` would see the very
    input of `rgb_gt_xyz` and the input ablation would compare nothing."""
    if config.stages["point_maps"].get("backend") == "synthetic":
        return config.with_stage("point_maps", backend="synthetic_noisy")
    return config


def ablation_definitions(root: DataRoot) -> dg.Definitions:
    from hispatial_assets.definitions import build_definitions

    os.environ["HISPATIAL_ROOT"] = root.root  # as `orchestrate.load_definitions`: subprocesses see the same root
    return build_definitions(ablation_pipeline(PipelineConfig.from_env()), root=root.root)


def ablation_work(kind: str, scale: AblationScale) -> int:
    """How many units `run_ablation` reports to its ``progress``: a drop's pipeline, a recipe's training
    or its scoring each count one."""
    drops = sum(len(ids) for ids in ablation_drop_ids(scale).values())
    return drops + 2 * (len(ABLATIONS[kind]) + len(BASELINES))


def run_ablation(kind: str, root: DataRoot, defs: dg.Definitions, instance: dg.DagsterInstance, *,
                 scale: AblationScale = AblationScale(), train_settings: dict | None = None,
                 log: Callable[[str], None] = print, progress: Progress = lambda _n: None) -> pl.DataFrame:
    """Drops → pipeline (``defs``: see `ablation_definitions`) → rows and training (`build_and_train`, as
    ``hispatial train``) for each recipe of the ablation and each baseline → eval_scores on `self`;
    returns the ablation's table (`evaluation.report`). ``train_settings``: the training section of
    $HISPATIAL_CONFIG and any overrides (device, base_path, lr, batch_size, ...)."""
    from hispatial_assets.evaluation import report
    from hispatial_assets.evaluation.run import all_scores
    from hispatial_assets.model.runs import build_and_train

    recipes = [*ABLATIONS[kind], *BASELINES]
    t0 = time.time()
    prepare_drops(root, defs, instance, scale, log, progress)
    for recipe in recipes:
        t = time.time()
        settings = {k: v for k, v in (train_settings or {}).items() if k != "max_steps"}  # the scale's steps rule
        build_and_train(root, recipe, max_steps=scale.max_steps, log=lambda *_a, **_k: None, **settings)
        progress(1)
        log(f"[train] {recipe}: {time.time() - t:.1f}s")
    for recipe in recipes:
        t = time.time()
        error = score_partition(defs, instance, recipe, "self")
        progress(1)
        log(f"[evaluate] {recipe} on self: {'ok' if error is None else 'FAILED: ' + error} in {time.time() - t:.1f}s")
    log(f"[ablation {kind}] done in {time.time() - t0:.1f}s")
    scores = all_scores(root)
    return report.hierarchy_table(scores) if kind == "hierarchy" else report.input_table(scores)
