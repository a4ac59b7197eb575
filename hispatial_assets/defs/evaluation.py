"""eval_scores: one partition per recipe × benchmark, scored by `evaluation.run.evaluate_recipe`."""

import hashlib
import warnings

import dagster as dg

from hispatial_assets.defs.common import finish, now
from hispatial_assets.defs.partitions import recipe_benchmarks
from hispatial_assets.defs.resources import DataRootResource
from hispatial_assets.evaluation import report
from hispatial_assets.evaluation.run import all_scores, evaluate_recipe
from hispatial_assets.evaluation.tasks.self_built import BENCHMARK_QA
from hispatial_assets.model.runs import checkpoint_digest
from hispatial_assets.drawing.previews import preview_markdown

EVAL_VERSION = "1"
# the self-built benchmark's QA settings are part of what a score means
SELF_BENCHMARK = "self+" + hashlib.sha256(BENCHMARK_QA.identity().encode()).hexdigest()[:8]

with warnings.catch_warnings():  # beta in Dagster 1.13; the mapping itself is what we mean
    warnings.simplefilter("ignore", dg.BetaWarning)
    CHECKPOINT_OF_RECIPE = dg.MultiToSingleDimensionPartitionMapping(partition_dimension_name="recipe")


@dg.asset(
    partitions_def=recipe_benchmarks,
    deps=[dg.AssetDep("checkpoints", partition_mapping=CHECKPOINT_OF_RECIPE)],
    code_version=f"{EVAL_VERSION}|{SELF_BENCHMARK}", group_name="evaluation", kinds={"parquet"}, pool="gpu",
    description="Scores of a recipe's latest checkpoint (or a baseline) on a benchmark, per category and metric "
    "(tables/eval_scores/recipe=R/benchmark=B); the comparison across recipes and a chart in metadata.",
)
def eval_scores(context: dg.AssetExecutionContext, data_root: DataRootResource) -> dg.MaterializeResult:
    started, root = now(), data_root.data_root()
    keys = context.partition_key.keys_by_dimension
    result = evaluate_recipe(root, keys["recipe"], keys["benchmark"])
    scores = all_scores(root)
    return finish(context, root, data_version=result.data_version, rows=len(result.table), started_at=started,
                  input_versions={"checkpoints": checkpoint_digest(result.checkpoint_uri)},
                  metadata={
                      "checkpoint": result.checkpoint_uri, "uri": result.scores_uri, "predictions": result.predictions_uri,
                      "items": len(result.evaluation.predictions),
                      "parse_failures": int(result.evaluation.predictions["parse_failed"].sum()),
                      "headline": dg.MetadataValue.float(report.headline(result.table, keys["benchmark"])),
                      "scores": dg.MetadataValue.md(report.markdown(result.table.drop("recipe", "benchmark"))),
                      "comparison": dg.MetadataValue.md(report.markdown(report.comparison(scores))),
                      "chart": dg.MetadataValue.md(preview_markdown([("headline per benchmark", report.comparison_chart(scores))])),
                  })

