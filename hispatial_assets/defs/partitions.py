"""Partitions: one per drop (dynamic, added by the drop sensor or `hispatial add-drop`); one per
recipe (static: the paper's ablations and the baselines); recipe × benchmark for scores."""

import dagster as dg

from hispatial_assets.evaluation import BENCHMARKS
from hispatial_assets.model.recipes import ALL_RECIPES

drops = dg.DynamicPartitionsDefinition(name="drops")
recipes = dg.StaticPartitionsDefinition(list(ALL_RECIPES))
benchmarks = dg.StaticPartitionsDefinition(list(BENCHMARKS))
recipe_benchmarks = dg.MultiPartitionsDefinition({"recipe": recipes, "benchmark": benchmarks})
