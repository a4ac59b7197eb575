import json

import polars as pl

from hispatial_assets.qa.verify import format_balance, verify_qa


def test_verify_accepts_every_generated_row(qa, qa_mixed, objects, point_maps):
    assert len(verify_qa(qa, objects, point_maps)) == 0
    assert len(verify_qa(qa_mixed, objects, point_maps)) == 0


def _corrupt(qa: pl.DataFrame, task: str, fmt: str, fn) -> tuple[pl.DataFrame, str]:
    i = qa.with_row_index().filter((pl.col("task") == task) & (pl.col("format") == fmt))["index"][0]
    av = qa["answer_value"].to_list()
    av[i] = fn(json.loads(av[i]))
    return qa.with_columns(pl.Series("answer_value", av)), qa["qa_id"][i]


def test_verify_flags_a_corrupted_distance(qa, objects, point_maps):
    bad, qa_id = _corrupt(qa, "distance", "free", lambda d: json.dumps(d | {"value": d["value"] + 0.5, "meters": d["meters"] + 0.5}))
    found = verify_qa(bad, objects, point_maps)
    assert found["qa_id"].to_list() == [qa_id]


def test_verify_flags_a_flipped_yes_no(qa, objects, point_maps):
    bad, qa_id = _corrupt(qa, "perspective", "boolean", lambda d: json.dumps({"bool": not d["bool"]}))
    assert verify_qa(bad, objects, point_maps)["qa_id"].to_list() == [qa_id]


def test_verify_flags_a_wrong_choice_letter(qa, objects, point_maps):
    bad, qa_id = _corrupt(qa, "object_size", "choice",
                          lambda d: json.dumps(d | {"choice": "B" if d["choice"] != "B" else "C"}))
    assert verify_qa(bad, objects, point_maps)["qa_id"].to_list() == [qa_id]


def test_verify_flags_a_wrong_l0_point(qa, objects, point_maps):
    bad, qa_id = _corrupt(qa, "point_3d", "free", lambda d: json.dumps(d | {"xyz": [v + 0.3 for v in d["xyz"]]}))
    assert verify_qa(bad, objects, point_maps)["qa_id"].to_list() == [qa_id]


def test_verify_flags_geometry_that_changed(qa, objects, point_maps):
    moved = objects.with_columns(pl.col("center_x") + 1.0)
    located = qa.filter((pl.col("task") == "object_location") & (pl.col("format") != "boolean"))
    assert len(verify_qa(located, moved)) == len(located)


def test_format_balance_reports_yes_and_letter_shares(qa):
    fb = format_balance(qa)
    yes = fb.filter(pl.col("key") == "yes")
    assert set(yes["task"]) == set(qa["task"])
    assert ((yes["share"] - 0.5).abs() <= 0.05).all()
    letters = fb.filter(pl.col("format") == "choice")
    assert ((letters["share"] - letters["expected"]).abs() <= 0.05).all()
