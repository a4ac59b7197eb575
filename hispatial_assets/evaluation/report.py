"""Tables over `eval_scores`: the comparison across recipes (one headline number per benchmark), the
two ablation tables shaped like the paper's, and a bar chart. Numbers are percentages."""

from __future__ import annotations

import numpy as np
import polars as pl

from hispatial_assets.evaluation import BENCHMARKS
from hispatial_assets.model.recipes import ALL_RECIPES, BASELINES, HIERARCHY_ABLATION, INPUT_ABLATION
from hispatial_assets.qa import LEVEL_TASKS

# The number each benchmark is compared by: (category, metric), as the paper reports it.
HEADLINE: dict[str, tuple[str, str]] = {
    "self": ("all", "accuracy"),
    "spatialrgpt": ("quantitative", "accuracy"),  # the paper's "SpatialRGPT Avg" (quantitative success)
    "qspatial": ("split_avg", "accuracy"),  # mean of QSpatial_plus and QSpatial_scannet
    "cvbench3d": ("all", "accuracy"),
    "3dsrbench": ("all", "flip_circular"),
    "embspatial": ("all", "accuracy"),
    "robospatial": ("category_avg", "accuracy"),
}
SELF_COLUMNS = ("object_distance", "object_direction", "spatial_problem_solving")


def _value(scores: pl.DataFrame, recipe: str, benchmark: str, category: str, metric: str = "accuracy") -> float:
    hit = scores.filter((pl.col("recipe") == recipe) & (pl.col("benchmark") == benchmark)
                        & (pl.col("category") == category) & (pl.col("metric") == metric))
    return float(hit["value"][0]) if len(hit) else float("nan")


def headline(scores: pl.DataFrame, benchmark: str) -> float:
    """The headline number of one recipe's scores on ``benchmark`` (a fraction; NaN when absent)."""
    category, metric = HEADLINE[benchmark]
    hit = scores.filter((pl.col("category") == category) & (pl.col("metric") == metric))
    return float(hit["value"][0]) if len(hit) else float("nan")


def _pct(v: float) -> str:
    return "–" if not np.isfinite(v) else f"{100 * v:.2f}"


def _recipes(scores: pl.DataFrame, wanted=ALL_RECIPES) -> list[str]:
    have = set(scores["recipe"].to_list())
    return [r for r in wanted if r in have] + sorted(have - set(wanted))


def comparison(scores: pl.DataFrame) -> pl.DataFrame:
    """One row per recipe, one column per benchmark (its headline number, %), plus the self-built
    benchmark's three paper categories."""
    benches = [b for b in BENCHMARKS if b in set(scores["benchmark"].to_list())]
    rows = []
    for r in _recipes(scores):
        row = {"recipe": r + (" (baseline)" if r in BASELINES else "")}
        for b in benches:
            row[b] = round(100 * _value(scores, r, b, *HEADLINE[b]), 2)
            if b == "self":
                for c in SELF_COLUMNS:
                    row[f"self:{c}"] = round(100 * _value(scores, r, b, c), 2)
        rows.append(row)
    return pl.DataFrame(rows)


def markdown(frame: pl.DataFrame) -> str:
    if frame.is_empty():
        return "_no scores yet_"
    cols = frame.columns
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in frame.iter_rows():
        lines.append("| " + " | ".join(f"{v:.2f}" if isinstance(v, float) and np.isfinite(v) else
                                        ("–" if isinstance(v, float) else str(v)) for v in row) + " |")
    return "\n".join(lines)


def task_average(scores: pl.DataFrame, recipe: str, level: int, benchmark: str = "self") -> float:
    """Mean of the per-task accuracies of one level (the paper's "L2 Task Avg")."""
    vals = [_value(scores, recipe, benchmark, t) for t in LEVEL_TASKS[level]]
    vals = [v for v in vals if np.isfinite(v)]
    return float(np.mean(vals)) if vals else float("nan")


def _with_delta(v: float, ref: float) -> str:
    if not np.isfinite(v):
        return "–"
    if not np.isfinite(ref):
        return f"{100 * v:.2f}"
    return f"{100 * v:.2f} ({100 * (v - ref):+.2f})"


def hierarchy_table(scores: pl.DataFrame, benchmark: str = "self") -> pl.DataFrame:
    """full / no_l0_l1 / no_l1_l2 (+ baselines): L2 and L3 task averages, deltas against full."""
    rows = []
    full_l2, full_l3 = task_average(scores, "full", 2, benchmark), task_average(scores, "full", 3, benchmark)
    for r in [*HIERARCHY_ABLATION, *BASELINES]:
        l2, l3 = task_average(scores, r, 2, benchmark), task_average(scores, r, 3, benchmark)
        if not (np.isfinite(l2) or np.isfinite(l3)):
            continue
        ref = r != "full" and r not in BASELINES
        rows.append({"recipe": r + (" (baseline)" if r in BASELINES else ""),
                     "L0": "✓" if r in ("full", "no_l1_l2") else ("" if r not in BASELINES else "–"),
                     "L1": "✓" if r == "full" else ("" if r not in BASELINES else "–"),
                     "L2": "✓" if r in ("full", "no_l0_l1") else ("" if r not in BASELINES else "–"),
                     "L3": "✓" if r in HIERARCHY_ABLATION else "–",
                     "L2 task avg": _with_delta(l2, full_l2) if ref else _pct(l2),
                     "L3 task avg": _with_delta(l3, full_l3) if ref else _pct(l3)})
    return pl.DataFrame(rows)


def input_table(scores: pl.DataFrame, benchmark: str = "self") -> pl.DataFrame:
    """rgb_only / rgb_reldepth / rgb_xyz / rgb_gt_xyz (+ baselines): qualitative and quantitative
    accuracy, each delta against the row above (as in the paper)."""
    rows, prev = [], (float("nan"), float("nan"))
    for r in [*INPUT_ABLATION, *BASELINES]:
        qual, quant = _value(scores, r, benchmark, "qualitative"), _value(scores, r, benchmark, "quantitative")
        if not (np.isfinite(qual) or np.isfinite(quant)):
            continue
        if r in BASELINES:
            rows.append({"recipe": r + " (baseline)", "qualitative": _pct(qual), "quantitative": _pct(quant)})
            continue
        rows.append({"recipe": r, "qualitative": _with_delta(qual, prev[0]), "quantitative": _with_delta(quant, prev[1])})
        prev = (qual, quant)
    return pl.DataFrame(rows)


def comparison_chart(scores: pl.DataFrame) -> np.ndarray:
    """Headline number per benchmark (groups) and recipe (bars)."""
    from hispatial_assets.drawing.charts import bar_chart

    benches = [b for b in BENCHMARKS if b in set(scores["benchmark"].to_list())]
    recipes = _recipes(scores)
    values = np.array([[_value(scores, r, b, *HEADLINE[b]) for b in benches] for r in recipes])
    return bar_chart(benches, recipes, values, title="eval_scores: headline number per benchmark")
