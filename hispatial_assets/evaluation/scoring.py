"""One scoring path for every answerer: answers -> parse -> per-item score -> aggregate rows.

Also the per-item rules the benchmarks share (relative-error success, ratio success, exact match) and
the default aggregate (mean per category, parse failures counted separately).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from hispatial_assets import schema
from hispatial_assets.evaluation.task import Item, Score, ScoreRow, Task

ALL = "all"


def relative_success(pred: float, truth: float, tol: float = 0.25) -> Score:
    """SpatialRGPT's quantitative rule: success when 0.75·truth ≤ pred ≤ 1.25·truth, and the
    absolute relative error |pred − truth| / truth."""
    return {"correct": float((1 - tol) * truth <= pred <= (1 + tol) * truth),
            "abs_rel": abs(pred - truth) / max(abs(truth), 1e-4)}


def ratio_success(pred: float, truth: float, factor: float = 2.0) -> Score:
    """Q-Spatial's rule: success when max(pred / truth, truth / pred) < factor."""
    if pred <= 0 or truth <= 0:
        return {"correct": 0.0}
    return {"correct": float(max(pred / truth, truth / pred) < factor)}


def exact(pred, truth) -> Score:
    return {"correct": float(pred == truth)}


def mean_by_category(items: Sequence[Item], scores: Sequence[Score], *, metrics: Sequence[str] = ("accuracy",),
                     categories: Sequence[str] | None = None) -> list[ScoreRow]:
    """Per category ("all" plus each item's own): accuracy = mean of "correct" over every item (a parse
    failure is wrong); another metric (abs_rel) = mean over the parsed items of the kinds that have it,
    with ``n`` and parse failures counted over all items of those kinds."""
    groups: dict[str, list[int]] = {ALL: list(range(len(items)))}
    for i, it in enumerate(items):
        for c in it.categories:
            groups.setdefault(c, []).append(i)
    order = [ALL, *(categories or [c for c in groups if c != ALL])]
    rows = []
    for cat in order:
        idx = groups.get(cat, [])
        if not idx:
            continue
        for metric in metrics:
            if metric == "accuracy":
                eligible, vals = idx, [scores[i]["correct"] for i in idx]
            else:  # over the items of the kinds that have this metric (an unparsed one has no value)
                kinds = {items[i].kind for i in idx if metric in scores[i]}
                eligible = [i for i in idx if items[i].kind in kinds]
                vals = [scores[i][metric] for i in eligible if metric in scores[i]]
            if vals:
                failures = sum(bool(scores[i].get("parse_failed")) for i in eligible)
                rows.append(ScoreRow(cat, metric, float(np.mean(vals)), len(eligible), failures))
    return rows


def with_macro_average(rows: list[ScoreRow], name: str, categories: Sequence[str]) -> list[ScoreRow]:
    """Add the mean of some categories' accuracies as category ``name`` (a benchmark's published total:
    Q-Spatial's two splits, RoboSpatial's three categories)."""
    parts = [r for r in rows if r.category in categories and r.metric == "accuracy"]
    if parts:
        rows = [*rows, ScoreRow(name, "accuracy", sum(r.value for r in parts) / len(parts), sum(r.n for r in parts),
                                sum(r.parse_failures for r in parts))]
    return rows


@dataclass(frozen=True)
class Evaluation:
    scores: pl.DataFrame  # schema.EVAL_SCORES without recipe / benchmark filled in
    predictions: pl.DataFrame  # per item: id, answer text, parsed value, correct, parse_failed, categories


def score_answers(task: Task, items: Sequence[Item], answers: Sequence[str]) -> Evaluation:
    """Parse and score one answer per item, then aggregate."""
    if len(answers) != len(items):
        raise ValueError(f"{len(answers)} answers for {len(items)} items")
    per_item: list[Score] = []
    parsed_values = []
    for item, text in zip(items, answers):
        value = task.parse(text, item)
        s = {"correct": 0.0, "parse_failed": True} if value is None else {**task.score(item, value), "parse_failed": False}
        per_item.append(s)
        parsed_values.append(value)
    rows = task.aggregate(items, per_item)
    scores = pl.DataFrame([r.__dict__ for r in rows], schema={"category": pl.String, "metric": pl.String,
                                                              "value": pl.Float64, "n": pl.Int64,
                                                              "parse_failures": pl.Int64})
    predictions = pl.DataFrame({
        "id": [it.id for it in items], "answer": [str(a) if a is not None else None for a in answers],
        "parsed": [json.dumps(v, default=_jsonable) if v is not None else None for v in parsed_values],
        "correct": [bool(s["correct"]) for s in per_item], "parse_failed": [bool(s["parse_failed"]) for s in per_item],
        "categories": [list(it.categories) for it in items],
    }, schema={"id": pl.String, "answer": pl.String, "parsed": pl.String, "correct": pl.Boolean,
               "parse_failed": pl.Boolean, "categories": pl.List(pl.String)})
    return Evaluation(scores, predictions)


def _jsonable(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


def evaluate(task: Task, items: Sequence[Item], answerer) -> Evaluation:
    """Ask ``answerer`` (see `answerers.Answerer`) every item and score the answers."""
    return score_answers(task, items, list(answerer.answer(list(items))))


def score_table(evaluation: Evaluation, recipe: str, benchmark: str) -> pl.DataFrame:
    """The eval_scores rows of one recipe × benchmark (schema.EVAL_SCORES)."""
    return schema.conform(evaluation.scores.with_columns(recipe=pl.lit(recipe), benchmark=pl.lit(benchmark)),
                          "eval_scores")
