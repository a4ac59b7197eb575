"""Partitions: one per drop (dynamic, added by the drop sensor or `hispatial add-drop`); one per
recipe (static: the paper's ablations and the baselines); recipe × benchmark for scores."""

import warnings

import dagster as dg

from hispatial_assets.evaluation import BENCHMARKS
from hispatial_assets.model.recipes import ALL_RECIPES

drops = dg.DynamicPartitionsDefinition(name="drops")
recipes = dg.StaticPartitionsDefinition(list(ALL_RECIPES))
benchmarks = dg.StaticPartitionsDefinition(list(BENCHMARKS))
recipe_benchmarks = dg.MultiPartitionsDefinition({"recipe": recipes, "benchmark": benchmarks})


def drop_check(**kwargs):
    """``@dg.asset_check`` with one result per drop (``partitions_def=drops``), so the UI shows which drop
    failed. Dagster 1.13.27 calls partitioned checks a preview and warns at each one; that says nothing to users."""
    decorator = dg.asset_check(partitions_def=drops, **kwargs)

    def apply(fn):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", dg.PreviewWarning)
            return decorator(fn)

    return apply
