"""`vlm` referrals: grounding verification, reply parsing, and the full path on tiny random-init models."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from hispatial_assets import schema
from hispatial_assets.perception.base import CheckpointNotFound
from hispatial_assets.perception.grounding import GroundingDinoGrounder
from hispatial_assets.perception.referral.common import box_iou, fallback_expression
from hispatial_assets.perception.referral.vlm import VlmReferrer, mark_region, parse_expression, verify_grounding

OBJECT = np.array([100.0, 100.0, 200.0, 200.0])


def _shifted(dx: float) -> np.ndarray:
    return OBJECT + np.array([dx, 0.0, dx, 0.0])


def test_a_grounded_box_just_above_the_threshold_verifies():
    box = _shifted(33.0)  # IoU = 67 / 133 = 0.5038
    ok, iou = verify_grounding(OBJECT, np.zeros((0, 4)), box[None], np.array([0.9]), iou_threshold=0.5)
    assert ok and iou == pytest.approx(67 / 133)


def test_a_grounded_box_just_below_the_threshold_does_not():
    box = _shifted(34.0)  # IoU = 66 / 134 = 0.4925
    ok, iou = verify_grounding(OBJECT, np.zeros((0, 4)), box[None], np.array([0.9]), iou_threshold=0.5)
    assert not ok and iou == pytest.approx(66 / 134)


def test_a_distractor_matching_the_grounded_box_better_fails_verification():
    grounded = _shifted(20.0)  # IoU with the object 0.667
    distractor = _shifted(25.0)  # IoU with the grounded box 0.905
    ok, iou = verify_grounding(OBJECT, distractor[None], grounded[None], np.array([0.9]), iou_threshold=0.5)
    assert iou > 0.5 and not ok
    ok, _ = verify_grounding(OBJECT, _shifted(300.0)[None], grounded[None], np.array([0.9]), iou_threshold=0.5)
    assert ok


def test_only_the_top_scoring_grounded_box_counts():
    grounded = np.stack([_shifted(150.0), OBJECT])
    assert not verify_grounding(OBJECT, np.zeros((0, 4)), grounded, np.array([0.8, 0.3]), 0.5)[0]
    assert verify_grounding(OBJECT, np.zeros((0, 4)), grounded, np.array([0.3, 0.8]), 0.5)[0]


def test_nothing_grounded_is_not_verified():
    assert verify_grounding(OBJECT, np.zeros((0, 4)), np.zeros((0, 4)), np.zeros(0), 0.5) == (False, 0.0)


@pytest.mark.parametrize("reply,expected", [
    ('"The red chair next to the table." It is wooden.', "the red chair next to the table"),
    ("Answer: a blue cup on the desk", "the blue cup on the desk"),
    ("  lamp on the left\nsecond line", "the lamp on the left"),
    ("`An old sofa`", "the old sofa"),
    ("", None),
    ("...", None),
    ("the " + "very " * 20 + "big box", None),
])
def test_replies_become_short_the_expressions(reply, expected):
    assert parse_expression(reply) == expected


def test_the_prompt_image_marks_the_object_box_in_red():
    rgb = np.zeros((120, 160, 3), np.uint8)
    img = np.asarray(mark_region(rgb, np.array([40, 30, 100, 90])))
    assert img.shape == (120, 160, 3)
    assert tuple(img[30, 70]) == (255, 0, 0) and tuple(img[60, 40]) == (255, 0, 0)
    assert tuple(img[60, 70]) == (0, 0, 0)
    crop = mark_region(rgb, np.array([40, 30, 100, 90]), mode="crop", margin=0.25)
    assert crop.size == (90, 90)


def _objects(boxes: list[list[float]], labels: list[str]) -> pl.DataFrame:
    b = np.asarray(boxes, np.float32)
    return pl.DataFrame({"drop_id": "tiny", "image_id": "img0", "object_id": list(range(1, len(labels) + 1)),
                         "label": labels, "box_x0": b[:, 0], "box_y0": b[:, 1], "box_x1": b[:, 2], "box_y1": b[:, 3]})


class _FixedGrounder:
    """Grounds every expression to the given boxes."""

    name, version = "fixed", "1"

    def __init__(self, boxes):
        self.boxes = np.asarray(boxes, np.float32).reshape(-1, 4)

    def ground(self, image, expression):
        return self.boxes, np.linspace(1.0, 0.5, len(self.boxes)).astype(np.float32)


class _ScriptedReferrer(VlmReferrer):
    def describe(self, rgb, box, label):
        return f'"The {label} by the window."'


def test_verified_expressions_are_kept_and_the_rest_fall_back(tmp_path, image_512x384):
    objects = _objects([[10, 10, 110, 110], [300, 200, 500, 380]], ["chair", "table"])
    referrer = _ScriptedReferrer(str(tmp_path), _FixedGrounder([[12, 10, 110, 112]]), iou_threshold=0.5)
    out = referrer.refer(image_512x384, objects)
    assert out.schema == pl.Schema(schema.REFERRALS)
    chair, table = out.row(0, named=True), out.row(1, named=True)
    assert (chair["method"], chair["verified"], chair["expression"]) == ("vlm", True, "the chair by the window")
    assert (table["method"], table["verified"]) == ("fallback", False)
    assert table["expression"] == fallback_expression("table", np.array([300, 200, 500, 380]), 512, 384)
    assert table["iou"] == pytest.approx(0.0)


def test_tiny_vlm_with_tiny_grounder_gives_one_consistent_row_per_object(checkpoints, image_512x384):
    grounder = GroundingDinoGrounder(checkpoints("grounding_dino"), box_threshold=0.0, text_threshold=0.0)
    labels = ["chair", "sofa", "lamp"]
    objects = _objects([[10, 10, 200, 150], [250, 100, 500, 380], [0, 200, 120, 384]], labels)
    boxes = objects.select(["box_x0", "box_y0", "box_x1", "box_y1"]).to_numpy()
    referrer = VlmReferrer(checkpoints("vlm"), grounder, max_new_tokens=8)
    for threshold in (0.5, 1.01):
        referrer.iou_threshold = threshold
        out = referrer.refer(image_512x384, objects)
        assert out.schema == pl.Schema(schema.REFERRALS) and out["object_id"].to_list() == [1, 2, 3]
        for i, row in enumerate(out.iter_rows(named=True)):
            assert row["verified"] == (row["method"] == "vlm")
            if row["verified"]:
                assert row["iou"] >= threshold and row["expression"].startswith("the ")
            else:
                assert row["expression"] == fallback_expression(labels[i], boxes[i], 512, 384)
            assert row["iou"] is None or 0.0 <= row["iou"] <= 1.0
        if threshold > 1.0:
            assert not out["verified"].any()


def test_a_vlm_that_says_red_box_gives_a_verified_expression_grounded_on_its_top_box(checkpoints, image_512x384):
    """Deterministic: the tiny VLM is wired to reply "red box" (tiny_models._wire_reply), the object box
    is the whole image, so the top grounded box overlaps it and, with threshold 0, verifies."""
    grounder = GroundingDinoGrounder(checkpoints("grounding_dino"), box_threshold=0.0, text_threshold=0.0)
    referrer = VlmReferrer(checkpoints("vlm_red_box"), grounder, iou_threshold=0.0, max_new_tokens=8)
    box = np.array([0.0, 0.0, 512.0, 384.0])
    assert referrer.describe(image_512x384.rgb(), box, "chair") == " red box"
    row = referrer.refer(image_512x384, _objects([box.tolist()], ["chair"])).row(0, named=True)
    grounded, scores = grounder.ground(image_512x384, "the red box")
    top = grounded[int(np.argmax(scores))]
    assert (row["method"], row["verified"], row["expression"]) == ("vlm", True, "the red box")
    assert row["iou"] == pytest.approx(float(box_iou(top, box)[0, 0]), abs=1e-6) and row["iou"] > 0


def test_missing_vlm_checkpoint_names_the_setting(tmp_path):
    with pytest.raises(CheckpointNotFound, match=r"stages\.referral\.vlm_path"):
        VlmReferrer(str(tmp_path / "vlm"), _FixedGrounder([]))


def test_a_grounder_path_from_config_builds_a_grounding_dino_grounder(checkpoints, tmp_path):
    referrer = VlmReferrer(checkpoints("vlm"), checkpoints("grounding_dino"))
    assert isinstance(referrer.grounder, GroundingDinoGrounder)
    with pytest.raises(CheckpointNotFound, match=r"stages\.referral\.grounder"):
        VlmReferrer(checkpoints("vlm"), str(tmp_path / "no_dino"))
