"""Baselines: `prior` gives exactly what its definition says on a hand-computed fixture; fitted
baselines are files that come back as answerers."""

from __future__ import annotations

import json

import polars as pl
import pytest

from hispatial_assets.evaluation.baselines import PriorAnswerer, baseline_answerer, fit_baseline
from hispatial_assets.evaluation.scoring import evaluate
from hispatial_assets.evaluation.task import Item, get_task
from hispatial_assets.storage import io


def sft_rows(rows: list[tuple]) -> pl.DataFrame:
    """(task, format, answer_value, split, source) -> rows with the sft columns a baseline reads."""
    return pl.DataFrame([{"qa_id": f"q{i}", "task": t, "format": f, "answer_value": json.dumps(av), "object_ids": [],
                          "split": split, "source": source} for i, (t, f, av, split, source) in enumerate(rows)],
                        schema_overrides={"object_ids": pl.List(pl.Int32)})


TRAIN = sft_rows([
    ("distance", "free", {"value": 1.0, "unit": "m", "meters": 1.0}, "train", "spatial"),
    ("distance", "free", {"value": 2.0, "unit": "m", "meters": 2.0}, "train", "spatial"),
    ("distance", "free", {"value": 4.0, "unit": "m", "meters": 4.0}, "train", "spatial"),  # median 2.0
    ("distance", "free", {"value": 100.0, "unit": "m", "meters": 100.0}, "val", "spatial"),  # not train: ignored
    ("distance", "free", {"text": "a kitchen"}, "train", "general"),  # general VQA: ignored
    ("distance", "boolean", {"bool": True}, "train", "spatial"),
    ("distance", "boolean", {"bool": True}, "train", "spatial"),
    ("distance", "boolean", {"bool": False}, "train", "spatial"),  # mode yes
    ("compare", "choice", {"choice": "B", "options": ["x", "y"]}, "train", "spatial"),
    ("compare", "choice", {"choice": "B", "options": ["x", "y"]}, "train", "spatial"),
    ("compare", "choice", {"choice": "A", "options": ["x", "y"]}, "train", "spatial"),  # mode B
    ("count_constrained", "free", {"count": 2}, "train", "spatial"),
    ("count_constrained", "free", {"count": 2}, "train", "spatial"),
    ("count_constrained", "free", {"count": 3}, "train", "spatial"),  # mode 2
    ("direction", "free", {"label": "left"}, "train", "spatial"),
    ("direction", "free", {"label": "left"}, "train", "spatial"),
    ("direction", "free", {"label": "right"}, "train", "spatial"),  # mode left
    ("depth_order", "free", {"label": "point 2", "index": 2}, "train", "spatial"),
    ("depth_order", "free", {"label": "point 2", "index": 2}, "train", "spatial"),
    ("depth_order", "free", {"label": "point 1", "index": 1}, "train", "spatial"),  # mode 2
    ("perspective", "boolean", {"bool": True}, "train", "spatial"),
    ("perspective", "boolean", {"bool": False}, "train", "spatial"),  # a tie: the smaller, no
])


def item(n: int, task: str, fmt: str, kind: str, truth, options=()) -> Item:
    return Item(id=f"i{n}", question="?", answer=truth, kind=kind, options=tuple(options), categories=(task,),
                meta={"task": task, "format": fmt})


ITEMS = [
    item(1, "distance", "free", "length", 2.2),  # 2.00 m: 9% off, right
    item(2, "distance", "free", "length", 3.0),  # 33% off, wrong
    item(3, "distance", "boolean", "bool", True),  # yes: right
    item(4, "distance", "boolean", "bool", False),  # wrong
    item(5, "compare", "choice", "choice", "B", ["x", "y"]),  # B: right
    item(6, "compare", "choice", "choice", "A", ["x", "y"]),  # wrong
    item(7, "count_constrained", "free", "count", 2),  # right
    item(8, "direction", "free", "label", "right"),  # "left": wrong
    item(9, "depth_order", "free", "index", 2, ["point 1", "point 2"]),  # "Point 2.": right
    item(10, "perspective", "boolean", "bool", False),  # the tie's "no": right
    item(11, "rank", "boolean", "bool", True),  # task never trained: all yes/no rows, 3 yes vs 2 no: right
    item(12, "multi_step", "free", "xyz", [1.0, 2.0, 3.0]),  # a kind never trained: no answer
]


def test_prior_statistics_follow_the_definition(tmp_path):
    doc = io.read_json(fit_baseline("prior", TRAIN, str(tmp_path)))
    assert doc["rows"] == 20  # spatial train rows only
    assert doc["by_task"] == {
        "compare|choice|choice": "B", "count_constrained|free|count": 2, "depth_order|free|index": 2,
        "direction|free|label": "left", "distance|boolean|bool": True, "distance|free|length": 2.0,
        "perspective|boolean|bool": False}
    assert doc["by_kind"]["bool"] is True and doc["by_kind"]["length"] == 2.0


def test_prior_scores_exactly_what_its_definition_gives(tmp_path):
    prior = baseline_answerer(fit_baseline("prior", TRAIN, str(tmp_path)))
    assert isinstance(prior, PriorAnswerer)
    answers = prior.answer(ITEMS)
    assert answers[:3] == ["2.00 m", "2.00 m", "Yes"] and answers[8] == "Point 2." and answers[11] == ""
    result = evaluate(get_task("self"), ITEMS, prior)
    overall = result.scores.filter((pl.col("category") == "all") & (pl.col("metric") == "accuracy")).row(0, named=True)
    assert overall["value"] == pytest.approx(7 / 12) and overall["parse_failures"] == 1
    assert result.predictions["correct"].to_list() == [True, False, True, False, True, False, True, False, True, True,
                                                       True, False]


def test_fitted_baselines_are_files_and_other_recipes_are_refused(tmp_path):
    for name in ("oracle", "geometry"):
        uri = fit_baseline(name, TRAIN, str(tmp_path))
        assert uri.endswith(f"{name}.json") and io.read_json(uri)["baseline"] == name
    with pytest.raises(ValueError, match="not a baseline"):
        fit_baseline("full", TRAIN, str(tmp_path))
    with pytest.raises(ValueError, match="root"):
        baseline_answerer(io.join(str(tmp_path), "oracle.json"))


def test_program_baselines_refuse_published_benchmarks(eval_root, tmp_path):
    from hispatial_assets.evaluation.programs import NotApplicable

    oracle = baseline_answerer(fit_baseline("oracle", TRAIN, str(tmp_path)), eval_root)
    with pytest.raises(NotApplicable, match="self-built"):
        oracle.answer([Item(id="x", question="?", answer="A", kind="choice", options=("a", "b"))])
