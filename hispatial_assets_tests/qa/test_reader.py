"""The question reader (qa/reader.py): every generated row reads back as exactly one question form and
holds against its geometry; it never looks at the program column; against other geometry it judges
numbers by the margin, not by the shown rounding."""

import json

import polars as pl
import pytest

from hispatial_assets.qa import FORMATS, TASKS, QAConfig
from hispatial_assets.qa.reader import FORMS, Judge, Names, Scene, coverage, matching_forms, read_rows


def _verdicts(qa: pl.DataFrame, images, judge: Judge, objects=None) -> pl.DataFrame:
    frames = []
    for img in images:
        rows = qa.filter(pl.col("image_id") == img.image_id)
        geometry = img.objects if objects is None else objects.filter(pl.col("image_id") == img.image_id)
        frames.append(read_rows(rows, Names(img.objects, img.referrals, img.width, img.height),
                                Scene(geometry, img.point_map, img.width, img.height), judge))
    return pl.concat(frames)


@pytest.mark.parametrize("fixture", ["qa", "qa_mixed"])
def test_every_generated_row_is_read_and_holds_in_every_task_and_format(fixture, images, request):
    qa = request.getfixturevalue(fixture)
    verdicts = _verdicts(qa, images, Judge(QAConfig()))
    bad = verdicts.filter(~pl.col("holds")).select("task", "format", "reason").head(5).rows()
    assert bad == []
    cov = coverage(verdicts)
    assert {(t, f) for t, f in cov.select("task", "format").iter_rows()} == {(t, f) for t in TASKS for f in FORMATS}
    assert (cov["coverage_pct"] == 100.0).all() and cov["failed"].sum() == 0 and cov["rows"].sum() == len(qa)


def test_every_question_matches_exactly_one_form_and_every_form_is_used(qa, qa_mixed, images):
    used, counts = set(), {}
    for frame in (qa, qa_mixed):
        for img in images:
            names = Names(img.objects, img.referrals, img.width, img.height)
            for q in frame.filter(pl.col("image_id") == img.image_id)["question"]:
                forms = matching_forms(q, names)
                counts[len(forms)] = counts.get(len(forms), 0) + 1
                used.update(id(f) for f in forms)
    assert set(counts) == {1}
    assert len(used) == len(FORMS)


def test_the_reader_does_not_read_the_program_column(qa, images):
    blank = qa.with_columns(pl.lit("answer = nonsense(").alias("program"))
    assert _verdicts(blank, images, Judge(QAConfig()))["holds"].all()


def test_numbers_off_by_more_than_the_rounding_fail_exactly_and_stay_true_within_the_margin(qa, images, objects):
    lengths = qa.filter(pl.col("task").is_in(["object_size", "distance"]) & (pl.col("format") == "free"))
    scaled = {f: objects.with_columns(pl.col(c) * f for c in ("center_x", "center_y", "center_z", "width", "depth", "height"))
              for f in (1.0, 1.03, 1.5)}
    assert _verdicts(lengths, images, Judge(QAConfig()), scaled[1.0])["holds"].all()
    assert not _verdicts(lengths, images, Judge(QAConfig()), scaled[1.03])["holds"].any()  # beyond 4-decimal meters
    assert _verdicts(lengths, images, Judge(QAConfig(), exact=False), scaled[1.03])["holds"].all()  # inside max(0.1 m, 10%)
    far = _verdicts(lengths, images, Judge(QAConfig(), exact=False), scaled[1.5])
    values = [json.loads(v)["meters"] for v in lengths["answer_value"]]
    assert far["holds"].to_list() == [0.5 * v <= 0.1 + 1e-6 for v in values]  # only short lengths stay within 0.10 m


def test_a_repeated_expression_falls_back_to_the_class_and_box_name(images):
    img = images[0]
    refs = img.referrals.with_columns(pl.lit("the same thing").alias("expression"))
    names = Names(img.objects, refs, img.width, img.height)
    first, *rest = sorted(names.expression)
    assert names.expression[first] == "the same thing"
    assert all(names.expression[o].startswith("the ") and "in the box [" in names.expression[o] for o in rest)
    assert names.object_of("The same thing.") == first


def test_a_distractor_inside_the_margin_of_the_truth_is_flagged(qa, images):
    """Options must be clearly wrong: a distance option 3 cm off the truth is a second right answer."""
    rows = qa.filter((pl.col("task") == "distance") & (pl.col("format") == "choice")).head(20)
    changed = []
    for r in rows.iter_rows(named=True):
        av = json.loads(r["answer_value"])
        pos = "ABCD".index(av["choice"])
        other = (pos + 1) % 4
        av["options"][other] = f"{float(av['options'][pos].split()[0]) + 0.03:.2f} m"
        stem, *lines = r["question"].split("\n")
        lines[other] = f"{'ABCD'[other]}. {av['options'][other]}"
        changed.append(r | {"question": "\n".join([stem, *lines]), "answer_value": json.dumps(av)})
    verdicts = _verdicts(pl.DataFrame(changed, schema=qa.schema), images, Judge(QAConfig()))
    assert not verdicts["holds"].any()
    assert verdicts["reason"].str.contains("within the margin of the truth").all()


def _tiny_names() -> tuple[Names, dict[str, int]]:
    objects = pl.DataFrame({"object_id": [3, 5, 8], "label": ["chair", "lamp", "sofa"],
                            "box_x0": [0.0] * 3, "box_y0": [0.0] * 3, "box_x1": [10.0] * 3, "box_y1": [10.0] * 3})
    referrals = pl.DataFrame({"object_id": [3, 5, 8], "expression": ["the red chair", "the lamp", "the lamp by the sofa"]})
    return Names(objects, referrals, 640, 480), {"chair": 3, "lamp": 5, "lamp by the sofa": 8}


@pytest.mark.parametrize("question,task,fmt,named,relation,move,pixels", [
    ("Is the lamp to the left of the red chair, as seen from the camera?",
     "direction", "boolean", ("chair", "lamp"), "to the left of", None, ()),
    ("Is the lamp by the sofa to the left of the lamp, as seen from the camera?",  # nested names: longest wins
     "direction", "boolean", ("lamp", "lamp by the sofa"), "to the left of", None, ()),
    ("If the red chair moved 50 cm to the left, would it be closer to the lamp than to the lamp by the sofa? "
     "(Directions as seen from the camera in the gravity-aligned frame; center-to-center distances.)",
     "multi_step", "boolean", ("chair", "lamp", "lamp by the sofa"), "closer", ("to the left", 0.5), ()),
    ("Is the point at pixel [12, 500] closer to the camera than the point at pixel [900, 10]?",
     "depth_order", "boolean", (), "closer to", None, ("12, 500", "900, 10")),
    ("Which of these is taller? (3D boxes in the gravity-aligned frame.)\nA. The lamp\nB. The red chair",
     "compare", "choice", ("lamp", "chair"), "taller", None, ()),
])
def test_a_question_reads_as_its_task_relation_objects_move_and_pixels(question, task, fmt, named, relation, move, pixels):
    from hispatial_assets.qa.reader import read_question

    names, ids = _tiny_names()
    reading = read_question(question, names)
    assert (reading.task, reading.format) == (task, fmt)
    assert reading.ask.named == tuple(ids[n] for n in named)
    assert (reading.ask.relation, reading.ask.move, reading.ask.pixels) == (relation, move, pixels)


def test_text_that_is_no_question_form_is_unread_not_skipped(qa, images):
    rows = qa.head(3).with_columns(pl.lit("What is the meaning of this?").alias("question"))
    verdicts = _verdicts(rows, images[:1], Judge(QAConfig()))
    assert not verdicts["read"].any() and not verdicts["holds"].any()
    assert coverage(verdicts)["coverage_pct"].to_list() == [0.0] * len(coverage(verdicts))
