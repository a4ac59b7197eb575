"""Scoring one recipe (or baseline) on one benchmark, end to end: the checkpoint, the answerer, the
benchmark's items, the answers, the scores, the files. The `eval_scores` asset, ``hispatial evaluate``
and the ablations all call `evaluate_recipe`, so a score from the UI and one from the CLI are the same.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from hispatial_assets.evaluation.answerers import POINT_MAPS_BY_MODALITY, Answerer, ModelAnswerer
from hispatial_assets.evaluation.baselines import baseline_answerer
from hispatial_assets.evaluation.programs import NotApplicable
from hispatial_assets.evaluation.scoring import Evaluation, evaluate, score_table
from hispatial_assets.evaluation.task import Item, Task, benchmark_dir, get_task
from hispatial_assets.model.recipes import BASELINES, RECIPES, get_recipe
from hispatial_assets.storage import io
from hispatial_assets.storage.layout import DataRoot

PREDICTIONS_TABLE = "eval_predictions"  # per item answers, beside the scores (not a catalog view)


@dataclass(frozen=True)
class RecipeScores:
    recipe: str
    benchmark: str
    checkpoint_uri: str
    table: pl.DataFrame  # schema.EVAL_SCORES
    evaluation: Evaluation
    scores_uri: str = ""
    predictions_uri: str = ""

    @property
    def data_version(self) -> str:
        return io.frame_hash(self.table)


def benchmark_source(task: Task, root: DataRoot) -> str:
    return root.root if task.source == "data_root" else benchmark_dir(task.name)


def checkpoint_for(root: DataRoot, recipe: str) -> str:
    """The recipe's newest recorded checkpoint; a baseline never fitted is fitted now (`train_recipe`
    records it like any checkpoint). A model recipe must have been trained."""
    from hispatial_assets.model.runs import latest_checkpoint, train_recipe

    uri = latest_checkpoint(root, recipe)
    if uri is None and recipe in BASELINES:
        uri = train_recipe(root, recipe)["uri"]
    if uri is None:
        raise FileNotFoundError(f"no checkpoint recorded for recipe {recipe!r} "
                                f"({root.recipe_table_uri('checkpoints', recipe)}): train it first (`hispatial train "
                                f"--recipe {recipe}` or materialize checkpoints[{recipe}])")
    return uri


def point_map_source(root: DataRoot, which: str | None) -> Callable[[Item], object] | None:
    """What the model sees beside the image: None, the pipeline's estimated point map of a self-built
    item's image, or the scene engine's exact one (`synthetic` backend). Published benchmarks have no
    point maps of ours: their estimate comes from the configured point-map backend."""
    if which is None:
        return None
    from hispatial_assets.storage.tables import point_map_loader

    loaders: dict[str, Callable] = {}

    def of(item: Item):
        drop_id, image_id = item.meta.get("drop_id"), item.meta.get("image_id")
        if drop_id is None:
            if which == "exact":
                raise NotApplicable("exact point maps exist only for scene-engine images (the self-built benchmark)")
            return _backend_point_map(root, item)
        if which == "exact":
            from hispatial_assets.storage.images import ImageRef
            from hispatial_assets.perception.point_maps import read_truth_depth

            return read_truth_depth(ImageRef(drop_id, image_id, str(item.image), item.meta["width"], item.meta["height"]))
        if drop_id not in loaders:
            loaders[drop_id] = point_map_loader(root, drop_id)
        return loaders[drop_id](image_id)

    return of


def _backend_point_map(root: DataRoot, item: Item):
    from hispatial_assets.config import PipelineConfig
    from hispatial_assets.storage.images import ImageRef

    uri = item.image
    rgb = item.rgb()
    if isinstance(uri, bytes):  # embedded image: the backends read files
        uri = io.join(root.root, "cache", "benchmark_images", hashlib.sha256(uri).hexdigest()[:24] + ".png")
        if not io.exists(uri):
            io.write_bytes(uri, io.encode_png(rgb))
    backend = PipelineConfig.from_env().build("point_maps")
    return backend.estimate(ImageRef("benchmark", item.id.replace("/", "_"), str(uri), rgb.shape[1], rgb.shape[0]))


def answerer_for(root: DataRoot, recipe: str, checkpoint_uri: str, *, batch_size: int = 8) -> Answerer:
    if recipe in BASELINES:
        return baseline_answerer(checkpoint_uri, root)
    from hispatial_assets.model.inference import load_predictor

    modality = get_recipe(recipe).modality
    return ModelAnswerer(load_predictor(checkpoint_uri), point_map_source(root, POINT_MAPS_BY_MODALITY[modality]),
                         name=recipe, batch_size=batch_size)


def evaluate_recipe(root: DataRoot, recipe: str, benchmark: str, *, checkpoint_uri: str | None = None,
                    items: list[Item] | None = None, write: bool = True, batch_size: int = 8) -> RecipeScores:
    """Score ``recipe`` on ``benchmark``; with ``write`` the scores go to
    ``tables/eval_scores/recipe=R/benchmark=B/part.parquet`` (and the per-item answers beside them)."""
    if recipe not in RECIPES and recipe not in BASELINES:
        get_recipe(recipe)  # raises UnknownRecipe with the list
    task = get_task(benchmark)
    checkpoint_uri = checkpoint_uri or checkpoint_for(root, recipe)
    if items is None:
        items = task.prepare(benchmark_source(task, root))
    evaluation = evaluate(task, items, answerer_for(root, recipe, checkpoint_uri, batch_size=batch_size))
    table = score_table(evaluation, recipe, benchmark)
    result = RecipeScores(recipe, benchmark, checkpoint_uri, table, evaluation)
    if write:
        scores_uri = io.write_parquet(root.recipe_table_uri("eval_scores", recipe, benchmark=benchmark), table)
        pred_uri = io.write_parquet(root.recipe_table_uri(PREDICTIONS_TABLE, recipe, benchmark=benchmark),
                                    evaluation.predictions)
        result = RecipeScores(recipe, benchmark, checkpoint_uri, table, evaluation, scores_uri, pred_uri)
    return result


def all_scores(root: DataRoot) -> pl.DataFrame:
    """Every score written under the root (the `eval_scores` catalog view)."""
    from hispatial_assets.catalog.duckdb import query

    return query(root, "SELECT * FROM eval_scores ORDER BY benchmark, recipe, category, metric")
