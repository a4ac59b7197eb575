"""Every published benchmark: a small fixture in its official file format, a hand-made prediction file,
and the scores worked out by hand (parse failures included)."""

from __future__ import annotations

import base64
import json

import numpy as np
import polars as pl
import pytest

from hispatial_assets.evaluation.answerers import PredictionFile
from hispatial_assets.evaluation.scoring import score_answers
from hispatial_assets.evaluation.task import BenchmarkDataNotFound, benchmark_dir, get_task
from hispatial_assets.evaluation.tasks.common import point_in_polygon
from hispatial_assets.storage import io

PNG = io.encode_png(np.full((16, 16, 3), 200, np.uint8))


@pytest.fixture
def bench_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("HISPATIAL_BENCHMARKS_DIR", str(tmp_path / "benchmarks"))
    monkeypatch.delenv("HISPATIAL_CONFIG", raising=False)
    return tmp_path / "benchmarks"


def write_jsonl(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def scored(name: str, predictions: dict[str, str], tmp_path) -> tuple[pl.DataFrame, list]:
    task = get_task(name)
    items = task.prepare(benchmark_dir(name))
    pred_file = tmp_path / f"{name}.predictions.jsonl"
    write_jsonl(pred_file, [{"id": k, "answer": v} for k, v in predictions.items()])
    return score_answers(task, items, PredictionFile(str(pred_file)).answer(items)).scores, items


def row(scores: pl.DataFrame, category: str, metric: str = "accuracy") -> dict:
    hit = scores.filter((pl.col("category") == category) & (pl.col("metric") == metric))
    assert len(hit) == 1, f"no single row for {category}/{metric}: {scores}"
    return hit.row(0, named=True)


# ------------------------------------------------------------------------------------------------ CV-Bench


def test_cvbench3d_choice_accuracy_per_task(bench_dir, tmp_path):
    base = {"type": "3D", "prompt": "...", "source": "Omni3D", "bbox": [[1, 2, 3, 4], [5, 6, 7, 8]]}
    write_jsonl(bench_dir / "cvbench3d" / "test_3d.jsonl", [
        {**base, "idx": 0, "task": "Depth", "question": "Which is closer to the camera?", "choices": ["lamp", "sofa"],
         "answer": "(A)", "filename": "img/3D/depth/0.png"},
        {**base, "idx": 1, "task": "Depth", "question": "Which is closer to the camera?", "choices": ["bed", "desk"],
         "answer": "(B)", "filename": "img/3D/depth/1.png"},
        {**base, "idx": 2, "task": "Distance", "question": "Which is closer to the chair?", "choices": ["cup", "box"],
         "answer": "(B)", "filename": "img/3D/distance/2.png"},
        {**base, "idx": 3, "task": "Distance", "question": "Which is closer to the chair?", "choices": ["tv", "plant"],
         "answer": "(A)", "filename": "img/3D/distance/3.png"},
        {**base, "idx": 4, "type": "2D", "task": "Count", "question": "How many?", "choices": ["1", "2"],
         "answer": "(A)", "filename": "img/2D/count/4.png"},  # not in the 3D split
    ])
    scores, items = scored("cvbench3d", {"0": "(A)", "1": "A. bed", "2": "box", "3": "not sure"}, tmp_path)
    assert [it.id for it in items] == ["0", "1", "2", "3"]
    assert items[0].image.endswith("cvbench3d/img/3D/depth/0.png")
    assert row(scores, "all") == {"category": "all", "metric": "accuracy", "value": 0.5, "n": 4, "parse_failures": 1}
    assert row(scores, "depth")["value"] == 0.5 and row(scores, "distance")["value"] == 0.5
    assert row(scores, "distance")["parse_failures"] == 1


# ------------------------------------------------------------------------------------------------ 3DSRBench


def test_3dsrbench_vanilla_flip_circular(bench_dir, tmp_path):
    img = base64.b64encode(PNG).decode()
    head = "index\tqid\tquestion\tA\tB\tC\tD\tanswer\tcategory\timage"
    rows = [  # (qid, options, answer, category)
        ("Q1", "left|right||", "A", "orientation_on_the_left"), ("Q1-1", "right|left||", "B", "orientation_on_the_left"),
        ("Q1-flip", "left|right||", "B", "orientation_on_the_left"), ("Q1-flip-1", "right|left||", "A", "orientation_on_the_left"),
        ("Q2", "a|b|c|d", "C", "location_above"), ("Q2-1", "b|c|d|a", "B", "location_above"),
        ("Q2-2", "c|d|a|b", "A", "location_above"), ("Q2-3", "d|a|b|c", "D", "location_above"),
        ("Q3", "cup|hat||", "A", "height_higher"), ("Q3-1", "hat|cup||", "B", "height_higher"),
        ("Q3-flip", "cup|hat||", "A", "height_higher"), ("Q3-flip-1", "hat|cup||", "B", "height_higher"),
    ]
    lines = [head] + [f"{i}\t{q}\tWhich one?\t" + "\t".join(o.split("|")) + f"\t{a}\t{c}\t{img}"
                      for i, (q, o, a, c) in enumerate(rows)]
    (bench_dir / "3dsrbench").mkdir(parents=True)
    (bench_dir / "3dsrbench" / "3dsrbench_v1_vlmevalkit_circular.tsv").write_text("\n".join(lines) + "\n")
    preds = {"Q1": "A", "Q1-1": "B", "Q1-flip": "B", "Q1-flip-1": "B",  # only the flipped rotation wrong
             "Q2": "C", "Q2-1": "B", "Q2-2": "??", "Q2-3": "D",  # one rotation unreadable; no flipped copies
             "Q3": "B", "Q3-1": "B", "Q3-flip": "A", "Q3-flip-1": "B"}  # the plain question wrong
    scores, items = scored("3dsrbench", preds, tmp_path)
    assert items[0].options == ("left", "right") and items[4].options == ("a", "b", "c", "d")
    assert items[0].rgb().shape == (16, 16, 3)
    expect = {  # protocol: (overall, orientation, location, height), parse failures overall
        "vanilla": ((2 / 3, 1, 1, 0), 0), "flip": ((2 / 3, 1, 1, 0), 0),
        "circular": ((1 / 3, 1, 0, 0), 1), "flip_circular": ((0, 0, 0, 0), 1),
    }
    for protocol, (values, failures) in expect.items():
        got = [row(scores, c, protocol)["value"] for c in ("all", "orientation", "location", "height")]
        assert got == pytest.approx(values), protocol
        assert row(scores, "all", protocol)["n"] == 3
        assert row(scores, "all", protocol)["parse_failures"] == failures, protocol


# ------------------------------------------------------------------------------------------------ SpatialRGPT


def _srgpt(i, kind, category, question, answer, boxes):
    return {"id": f"s{i}", "image_info": {"file_path": f"images/{i}.jpg", "height": 100, "width": 200},
            "text_q": question, "conversations": [{"from": "human", "value": "<image>\n" + question.replace("Region [0]", "<mask>")},
                                                  {"from": "gpt", "value": answer}],
            "qa_info": {"type": kind, "category": category}, "bbox": boxes, "rle": [{"size": [100, 200], "counts": "x"}] * len(boxes)}


def test_spatialrgpt_success_abs_rel_and_categories(bench_dir, tmp_path):
    two = [[0, 0, 100, 50], [100, 50, 200, 100]]
    write_jsonl(bench_dir / "spatialrgpt" / "val_SpatialRGPT-Bench.jsonl", [
        _srgpt(1, "quantitative", "distance_data", "How far apart are Region [0] and Region [1]?",
               "Region [0] and Region [1] are 2.5 meters apart.", two),
        _srgpt(2, "quantitative", "height_data", "How tall is Region [0]?", "The height of Region [0] is 6.91 feet.", two[:1]),
        _srgpt(3, "quantitative", "width_data", "How wide is Region [0]?", "Region [0] is 50 cm wide.", two[:1]),
        _srgpt(4, "quantitative", "direction", "If you are at Region [0], where will you find Region [1]?",
               "Region [0] will find Region [1] around the 2 o'clock direction.", two),
        _srgpt(5, "quantitative", "direction", "If you are at Region [0], where will you find Region [1]?",
               "Region [0] will find Region [1] around the 12 o'clock direction.", two),
        _srgpt(6, "qualitative", "behind_predicate", "Is Region [0] behind Region [1]?", "No, Region [0] is not behind Region [1].", two),
        _srgpt(7, "qualitative", "tall_choice", "Which is taller, Region [0] or Region [1]?", "Region [1] is taller.", two),
        _srgpt(8, "qualitative", "left_predicate", "Is Region [0] to the left of Region [1]?", "Yes, Region [0] is to the left.", two),
    ])
    preds = {"s1": "They are about 8 feet apart.",  # 2.438 m vs 2.5 m: within 25%
             "s2": "It is 1.2 m tall.",  # vs 2.106 m: off by 43%
             "s3": "I don't know.",  # no number: parse failure
             "s4": "At 3 o'clock.", "s5": "around 1 o'clock",  # one hour off, across 12
             "s6": "No.", "s7": "The object in the box [500, 500, 999, 999] is taller.", "s8": "No."}
    scores, items = scored("spatialrgpt", preds, tmp_path)
    task = get_task("spatialrgpt")
    assert task.to_prompt(items[0]) == ("How far apart are the object in the box [0, 0, 500, 500] and "
                                        "the object in the box [500, 500, 999, 999]?")  # regions named by box
    assert items[1].answer == pytest.approx(6.91 * 0.3048)
    quant = row(scores, "quantitative")
    assert (quant["value"], quant["n"], quant["parse_failures"]) == (pytest.approx(0.6), 5, 1)
    abs_rel = row(scores, "quantitative", "abs_rel")
    assert abs_rel["value"] == pytest.approx((abs(8 * 0.3048 - 2.5) / 2.5 + abs(1.2 - 6.91 * 0.3048) / (6.91 * 0.3048)) / 2)
    assert (abs_rel["n"], abs_rel["parse_failures"]) == (3, 1)
    assert row(scores, "qualitative")["value"] == pytest.approx(2 / 3)
    assert row(scores, "all")["value"] == pytest.approx(5 / 8)
    per = {c: row(scores, c)["value"] for c in ("direct_distance", "height", "width", "direction", "behind/front",
                                                 "tall/short", "left/right")}
    assert per == {"direct_distance": 1, "height": 0, "width": 0, "direction": 1, "behind/front": 1, "tall/short": 1,
                   "left/right": 0}


# ------------------------------------------------------------------------------------------------ Q-Spatial


def test_qspatial_ratio_below_two(bench_dir, tmp_path):
    q = {"question_type": "distance", "image": "imgs/x.png"}
    write_jsonl(bench_dir / "qspatial" / "QSpatial_plus.jsonl", [
        {**q, "id": 1, "question": "How far?", "answer_value": 100, "answer_unit": "cm"},
        {**q, "id": 2, "question": "How far?", "answer_value": 1, "answer_unit": "meters"},
        {**q, "id": 3, "question": "How far?", "answer_value": 2, "answer_unit": "meters"},
    ])
    write_jsonl(bench_dir / "qspatial" / "data" / "QSpatial_scannet.jsonl", [
        {**q, "id": 4, "question": "How wide?", "question_type": "size", "answer_value": 40, "answer_unit": "inches"},
        {**q, "id": 5, "question": "How wide?", "question_type": "size", "answer_value": 1.5, "answer_unit": "m"},
    ])
    preds = {"QSpatial_plus/1": "1.5 meters",  # ratio 1.5
             "QSpatial_plus/2": "2 m",  # ratio exactly 2: not below 2
             "QSpatial_plus/3": "no idea",  # parse failure
             "QSpatial_scannet/4": "50 cm",  # 1.016 / 0.5 = 2.03
             "QSpatial_scannet/5": "one meter"}  # ratio 1.5
    scores, _ = scored("qspatial", preds, tmp_path)
    assert row(scores, "QSpatial_plus")["value"] == pytest.approx(1 / 3)
    assert row(scores, "QSpatial_plus")["parse_failures"] == 1
    assert row(scores, "QSpatial_scannet")["value"] == pytest.approx(1 / 2)
    assert row(scores, "all")["value"] == pytest.approx(2 / 5)
    assert row(scores, "split_avg")["value"] == pytest.approx((1 / 3 + 1 / 2) / 2)
    assert row(scores, "size")["value"] == pytest.approx(1 / 2)


# ------------------------------------------------------------------------------------------------ EmbSpatial


def test_embspatial_choice_accuracy_per_relation(bench_dir, tmp_path):
    img = base64.b64encode(PNG).decode() * 100  # long base64 text, as the published JSON embeds images
    (bench_dir / "embspatial").mkdir(parents=True)
    (bench_dir / "embspatial" / "embspatial_bench.json").write_text(json.dumps([
        {"question_id": "e1", "question": "Which is left of the bed?", "answer_options": ["lamp", "desk", "sofa", "tv"],
         "answer": 2, "relation": "left", "image": base64.b64encode(PNG).decode(), "data_source": "mp3d", "objects": []},
        {"question_id": "e2", "question": "Which is far from you?", "answer_options": ["door", "window", "rug", "cup"],
         "answer": 0, "relation": "far", "image": img[:8], "data_source": "scannet", "objects": []},
        {"question_id": "e3", "question": "Which is far from you?", "answer_options": ["door", "window", "rug", "cup"],
         "answer": 3, "relation": "far", "image": "images/e3.jpg", "data_source": "scannet", "objects": []},
    ]))
    scores, items = scored("embspatial", {"e1": "C", "e2": "The window.", "e3": "cup"}, tmp_path)
    assert [it.answer for it in items] == ["C", "A", "D"]
    assert row(scores, "all")["value"] == pytest.approx(2 / 3)
    assert row(scores, "left")["value"] == 1.0 and row(scores, "far")["value"] == 0.5


# ------------------------------------------------------------------------------------------------ RoboSpatial


def test_robospatial_yes_no_prefix_and_point_in_polygon(bench_dir, tmp_path):
    square = "[(0.1, 0.1), (0.5, 0.1), (0.5, 0.5), (0.1, 0.5)]"
    (bench_dir / "robospatial").mkdir(parents=True)
    (bench_dir / "robospatial" / "annotations.json").write_text(json.dumps([
        {"category": "configuration", "question": "Is the mug left of the plate?", "answer": "Yes", "img": "images/1.png"},
        {"category": "compatibility", "question": "Can the box fit on the shelf?", "answer": "No", "img": "images/2.png"},
        {"category": "context", "question": "Point to a free spot in front of the mug.", "answer": square, "img": "images/3.png"},
        {"category": "context", "question": "Point to a free spot in front of the mug.", "answer": square, "img": "images/3.png"},
        {"category": "context", "question": "Point to a free spot in front of the mug.", "answer": square, "img": "images/3.png"},
        {"category": "configuration", "question": "Is the cup behind the bowl?", "answer": "no", "img": "images/4.png"},
    ]))
    preds = {"0": "Yes, it is.", "1": "I think no",  # the answer must start with the truth
             "2": "[(0.3, 0.3), (0.9, 0.9)]", "3": "(0.7, 0.2)",  # first point inside / outside
             "4": "somewhere on the table", "5": ""}  # no point, empty: parse failures
    scores, _ = scored("robospatial", preds, tmp_path)
    assert row(scores, "configuration")["value"] == 0.5 and row(scores, "compatibility")["value"] == 0.0
    assert row(scores, "context")["value"] == pytest.approx(1 / 3)
    assert row(scores, "all") == {"category": "all", "metric": "accuracy", "value": pytest.approx(1 / 3), "n": 6,
                                  "parse_failures": 2}
    assert row(scores, "category_avg")["value"] == pytest.approx((0.5 + 0 + 1 / 3) / 3)


@pytest.mark.parametrize("x, y, inside", [(0.5, 0.5, True), (0.5, 0.9, False), (0.15, 0.8, True), (0.5, 0.75, False),
                                          (1.2, 0.5, False)])
def test_point_in_concave_polygon(x, y, inside):
    u_shape = [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.7, 1.0), (0.7, 0.6), (0.3, 0.6), (0.3, 1.0), (0.0, 1.0)]
    assert point_in_polygon(x, y, u_shape) is inside


# ------------------------------------------------------------------------------------------------ missing data


def test_missing_data_names_the_path_and_the_setting(bench_dir, monkeypatch, tmp_path):
    with pytest.raises(BenchmarkDataNotFound, match=r"cvbench3d.*HISPATIAL_BENCHMARKS_DIR"):
        benchmark_dir("cvbench3d")  # the folder does not exist
    (bench_dir / "cvbench3d").mkdir(parents=True)
    with pytest.raises(BenchmarkDataNotFound, match=r"test_3d\.jsonl"):
        get_task("cvbench3d").prepare(benchmark_dir("cvbench3d"))  # the folder holds no published file
    monkeypatch.delenv("HISPATIAL_BENCHMARKS_DIR")
    with pytest.raises(BenchmarkDataNotFound, match=r"no local path configured.*benchmarks"):
        benchmark_dir("embspatial")
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"benchmarks": {"embspatial": str(tmp_path / "elsewhere")}}))
    monkeypatch.setenv("HISPATIAL_CONFIG", str(config))
    with pytest.raises(BenchmarkDataNotFound, match=r"elsewhere.*benchmarks\.embspatial"):
        benchmark_dir("embspatial")


def test_a_prediction_file_without_an_item_scores_it_as_a_parse_failure(bench_dir, tmp_path):
    write_jsonl(bench_dir / "cvbench3d" / "test_3d.jsonl", [
        {"idx": i, "type": "3D", "task": "Depth", "question": "Which?", "choices": ["a", "b"], "answer": "(A)",
         "filename": f"{i}.png"} for i in range(3)])
    scores, _ = scored("cvbench3d", {"0": "A"}, tmp_path)
    assert row(scores, "all") == {"category": "all", "metric": "accuracy", "value": pytest.approx(1 / 3), "n": 3,
                                  "parse_failures": 2}
