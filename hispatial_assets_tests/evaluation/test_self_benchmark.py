"""The self-built benchmark: questions and answers from the scene's truth; `oracle` reaches 100% by
executing each question against the truth; `geometry` by executing it against the engine's estimates."""

from __future__ import annotations

import json
import re

import polars as pl
import pytest

from hispatial_assets.evaluation.baselines import baseline_answerer, fit_baseline
from hispatial_assets.evaluation.scoring import evaluate, score_answers
from hispatial_assets.evaluation.task import BenchmarkDataNotFound, get_task
from hispatial_assets.qa import TASKS
from hispatial_assets.storage import io
from hispatial_assets.storage.tables import read_table

from .conftest import TEST_DROP


def accuracy(evaluation, category: str = "all") -> float:
    s = evaluation.scores.filter((pl.col("category") == category) & (pl.col("metric") == "accuracy"))
    return float(s["value"][0])


def baseline(name: str, root):
    return baseline_answerer(fit_baseline(name, pl.DataFrame(), io.join(root.root, "models")), root)


def corrupt(root, table: str, **changes) -> None:
    """Rewrite a drop's table with some columns changed (a mutation of the stored data)."""
    uri = root.table_uri(table, TEST_DROP)
    io.write_parquet(uri, io.read_parquet(uri).with_columns(**changes))


@pytest.fixture
def items(eval_root):
    return get_task("self").prepare(eval_root.root)


def test_only_held_out_drops_make_the_benchmark_and_every_task_is_asked(items):
    assert items and {it.meta["drop_id"] for it in items} == {TEST_DROP}
    asked = {it.meta["task"] for it in items}
    assert asked >= set(TASKS) - {"rank"}, set(TASKS) - asked  # rank needs 3+ comparable objects
    assert {"object_distance", "object_direction", "spatial_problem_solving"} <= {c for it in items for c in it.categories}
    assert len({it.id for it in items}) == len(items)


def test_oracle_scores_100_percent(eval_root, items):
    task = get_task("self")
    result = evaluate(task, items, baseline("oracle", eval_root))
    assert accuracy(result) == 1.0 and result.predictions["parse_failed"].sum() == 0


def test_oracle_answers_from_the_truth_it_is_given(eval_root, items):
    """Move every true object 3 m to the right after the questions were made: the oracle now answers
    for the moved scene, so location questions go wrong — it runs the programs on the truth."""
    truth = read_table(eval_root, "gt_objects", TEST_DROP)
    corrupt(eval_root, "gt_objects", center_x=truth["center_x"] + 3.0)
    result = evaluate(get_task("self"), items, baseline("oracle", eval_root))
    assert accuracy(result, "object_location") < 0.5
    assert accuracy(result, "distance") == 1.0  # a rigid shift keeps distances


def test_references_come_from_the_truth_not_the_pipeline_outputs(eval_root, items):
    objects = read_table(eval_root, "objects", TEST_DROP)
    corrupt(eval_root, "objects", center_x=objects["center_x"] * 2.0 + 1.0, height=objects["height"] * 0.5)
    garbage = io.write_bytes(eval_root.point_map_uri(TEST_DROP, "garbage"), b"not a point map")
    corrupt(eval_root, "point_maps", uri=pl.lit(garbage))  # every estimated point map is now unreadable
    again = get_task("self").prepare(eval_root.root)
    assert [(it.id, it.question, it.answer) for it in again] == [(it.id, it.question, it.answer) for it in items]


def perfect_estimates(root, drop_out: int | None = None) -> None:
    """Make the engine's estimates of the held-out drop equal the truth (objects and point maps),
    optionally missing one object."""
    from hispatial_assets import schema
    from hispatial_assets.storage.images import ImageRef
    from hispatial_assets.perception.point_maps import read_truth_depth
    from hispatial_assets.storage.point_maps import write_point_map

    truth = read_table(root, "gt_objects", TEST_DROP).filter(pl.col("n_points") > 0)
    if drop_out is not None:
        truth = truth.filter(pl.col("object_id") != drop_out)
    io.write_parquet(root.table_uri("objects", TEST_DROP), schema.conform(truth, "objects"))
    for r in read_table(root, "images", TEST_DROP).iter_rows(named=True):
        write_point_map(root.point_map_uri(TEST_DROP, r["image_id"]),
                        read_truth_depth(ImageRef(TEST_DROP, r["image_id"], r["uri"], r["width"], r["height"])))
    # the table of this copy of the root names the files just written (it named the original's)
    corrupt(root, "point_maps", uri=pl.format("{}/{}.npz", pl.lit(root.point_map_uri(TEST_DROP, "x").rsplit("/", 1)[0]),
                                              pl.col("image_id")))


def test_geometry_pays_for_the_engines_estimation_errors(eval_root, items):
    task = get_task("self")
    estimated = evaluate(task, items, baseline("geometry", eval_root))  # the default, estimated pipeline
    assert 0.3 < accuracy(estimated) < 1.0
    perfect_estimates(eval_root)
    exact = evaluate(task, items, baseline("geometry", eval_root))
    assert accuracy(exact) == 1.0  # with estimates equal to the truth it is the oracle
    objects = read_table(eval_root, "objects", TEST_DROP)
    corrupt(eval_root, "objects", height=objects["height"] * 1.6)
    taller = evaluate(task, items, baseline("geometry", eval_root))
    assert accuracy(taller, "object_size") < 1.0 and accuracy(taller, "depth_order") == 1.0  # L0 reads point maps


def test_geometry_cannot_answer_about_objects_the_engine_missed(eval_root, items):
    missed = int(read_table(eval_root, "gt_objects", TEST_DROP).filter(pl.col("n_points") > 0)["object_id"][0])
    perfect_estimates(eval_root, drop_out=missed)
    result = evaluate(get_task("self"), items, baseline("geometry", eval_root))
    named = re.compile(rf"\bo{missed}\b")
    about_missed = {it.id for it in items if named.search(it.meta["program"])}
    failed = set(result.predictions.filter(pl.col("parse_failed"))["id"].to_list())
    assert about_missed and about_missed <= failed


@pytest.mark.parametrize("mutate", ["lengths_off_by_half", "yes_no_swapped", "letters_shifted", "labels_swapped"])
def test_the_scorer_rejects_corrupted_oracle_answers(eval_root, items, mutate):
    task = get_task("self")
    answers = baseline("oracle", eval_root).answer(items)
    target = {"lengths_off_by_half": "length", "yes_no_swapped": "bool", "letters_shifted": "choice",
              "labels_swapped": "label"}[mutate]
    broken = []
    for it, a in zip(items, answers):
        if it.kind != target:
            broken.append(a)
        elif target == "length":
            broken.append(f"{float(a.split()[0]) * 1.5:.2f} m")
        elif target == "bool":
            broken.append("No" if a == "Yes" else "Yes")
        elif target == "choice":
            broken.append("ABCD"[("ABCD".index(a[0]) + 1) % len(it.options)])
        else:
            broken.append({"left": "right", "right": "left", "in front": "behind", "behind": "in front",
                           "above": "below", "below": "above"}.get(a, "toward the camera" if "away" in a else "away from the camera"))
    result = score_answers(task, items, broken)
    n_target = sum(it.kind == target for it in items)
    assert n_target > 0
    assert accuracy(result) == pytest.approx(1 - n_target / len(items))


def test_no_held_out_drop_is_a_clear_error(tmp_path):
    with pytest.raises(BenchmarkDataNotFound, match="test_"):
        get_task("self").prepare(str(tmp_path / "empty_root"))


def test_items_carry_json_safe_references(items):
    for it in items:
        json.dumps(it.answer)


def test_the_generators_own_answer_texts_score_100_percent(items):
    """Every answer format our QA writes parses back to its reference (so a model that learned our
    answers is read correctly)."""
    result = score_answers(get_task("self"), items, [it.meta["answer_text"] for it in items])
    assert accuracy(result) == 1.0
