"""The tables over eval_scores: headline numbers, the two ablation tables shaped like the paper's, the chart."""

from __future__ import annotations

import numpy as np
import polars as pl

from hispatial_assets import schema
from hispatial_assets.evaluation import report
from hispatial_assets.qa import LEVEL_TASKS
from hispatial_assets.drawing.charts import bar_chart


def scores(rows: list[tuple]) -> pl.DataFrame:
    return schema.conform(pl.DataFrame([{"recipe": r, "benchmark": b, "category": c, "metric": m, "value": v, "n": 10,
                                         "parse_failures": 0} for r, b, c, m, v in rows]), "eval_scores")


def per_task(recipe: str, level: int, values: list[float]) -> list[tuple]:
    return [(recipe, "self", t, "accuracy", v) for t, v in zip(LEVEL_TASKS[level], values)]


def test_hierarchy_table_averages_tasks_per_level_with_deltas_against_full():
    s = scores(per_task("full", 2, [0.9, 0.8, 0.7, 0.6, 0.5, 0.4]) + per_task("full", 3, [0.6, 0.3, 0.3])
               + per_task("no_l1_l2", 2, [0.3] * 6) + per_task("no_l1_l2", 3, [0.1, 0.2, 0.3])
               + per_task("oracle", 2, [1.0] * 6) + per_task("oracle", 3, [1.0] * 3))
    table = report.hierarchy_table(s)
    assert table["recipe"].to_list() == ["full", "no_l1_l2", "oracle (baseline)"]  # no_l0_l1 never ran
    assert table.row(0, named=True)["L2 task avg"] == "65.00" and table.row(0, named=True)["L3 task avg"] == "40.00"
    assert table.row(1, named=True)["L2 task avg"] == "30.00 (-35.00)"
    assert table.row(1, named=True)["L3 task avg"] == "20.00 (-20.00)"
    assert table.row(1, named=True)["L1"] == "" and table.row(1, named=True)["L0"] == "✓"


def test_input_table_gives_each_row_its_delta_against_the_row_above():
    s = scores([("rgb_only", "self", "qualitative", "accuracy", 0.80), ("rgb_only", "self", "quantitative", "accuracy", 0.40),
                ("rgb_xyz", "self", "qualitative", "accuracy", 0.85), ("rgb_xyz", "self", "quantitative", "accuracy", 0.70),
                ("rgb_gt_xyz", "self", "qualitative", "accuracy", 0.86), ("rgb_gt_xyz", "self", "quantitative", "accuracy", 0.75),
                ("prior", "self", "qualitative", "accuracy", 0.5), ("prior", "self", "quantitative", "accuracy", 0.1)])
    table = report.input_table(s)
    assert table.to_dicts() == [
        {"recipe": "rgb_only", "qualitative": "80.00", "quantitative": "40.00"},
        {"recipe": "rgb_xyz", "qualitative": "85.00 (+5.00)", "quantitative": "70.00 (+30.00)"},
        {"recipe": "rgb_gt_xyz", "qualitative": "86.00 (+1.00)", "quantitative": "75.00 (+5.00)"},
        {"recipe": "prior (baseline)", "qualitative": "50.00", "quantitative": "10.00"}]


def test_comparison_uses_each_benchmarks_headline():
    s = scores([("full", "spatialrgpt", "all", "accuracy", 0.5), ("full", "spatialrgpt", "quantitative", "accuracy", 0.7),
                ("full", "3dsrbench", "all", "vanilla", 0.6), ("full", "3dsrbench", "all", "flip_circular", 0.3),
                ("prior", "qspatial", "split_avg", "accuracy", 0.25), ("prior", "qspatial", "all", "accuracy", 0.2)])
    table = report.comparison(s)
    assert table.columns == ["recipe", "spatialrgpt", "qspatial", "3dsrbench"]
    assert table["recipe"].to_list() == ["full", "prior (baseline)"]
    assert table["spatialrgpt"][0] == 70.0 and table["3dsrbench"][0] == 30.0 and table["qspatial"][1] == 25.0
    assert np.isnan(table["qspatial"][0])  # never ran


def test_bar_heights_follow_the_values():
    img = bar_chart(["a", "b"], ["one"], np.array([[1.0, 0.5]]), width=300, height=200)
    color = img[160, 60]  # just above the axis, inside the first bar (plot from x=36, two groups of 57 px)
    heights = [np.all(img[:, x] == color, axis=1).sum() for x in (60, 117)]
    assert heights[0] == 143 and heights[1] == 72  # plot height 142 px: 1.0 and 0.5 of it, both ends drawn


def test_ablation_drops_fall_in_their_splits_and_estimate_point_maps():
    from hispatial_assets.config import PipelineConfig
    from hispatial_assets.cli.experiments import AblationScale, ablation_drop_ids, ablation_pipeline
    from hispatial_assets.splits import split_of

    ids = ablation_drop_ids(AblationScale(train_drops=3))
    assert {split: [split_of(d) for d in drops] for split, drops in ids.items()} == {
        "train": ["train"] * 3, "val": ["val"], "test": ["test"]}
    exact = PipelineConfig()  # the scene engine's exact point maps by default
    assert ablation_pipeline(exact).stages["point_maps"] == {"backend": "synthetic_noisy"}
    assert ablation_pipeline(exact).stages["detection"] == exact.stages["detection"]
    moge = exact.with_stage("point_maps", backend="moge", checkpoint_path="/models/moge")
    assert ablation_pipeline(moge).stages["point_maps"]["backend"] == "moge"  # an estimator stays
