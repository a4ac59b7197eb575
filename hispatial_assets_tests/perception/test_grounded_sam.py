"""`grounded_sam` and the GroundingDINO grounder, run end to end on tiny random-init checkpoints."""

from __future__ import annotations

import numpy as np
import pytest

from hispatial_assets.perception.base import CheckpointNotFound, identity
from hispatial_assets.perception.grounded_sam import GroundedSamDetector, RamTagger, Sam, nms
from hispatial_assets.perception.grounding import GroundingDinoGrounder, phrase_prompt, token_phrase_map
from hispatial_assets.perception.referral.common import box_iou

from .tiny_models import VOCABULARY


@pytest.fixture(scope="module")
def detector(checkpoints):
    return GroundedSamDetector(checkpoints("grounding_dino"), checkpoints("sam"), vocabulary=VOCABULARY,
                               box_threshold=0.0, text_threshold=0.0, nms_iou=0.7, min_mask_px=0)


def test_missing_checkpoints_name_their_setting(tmp_path, checkpoints):
    with pytest.raises(CheckpointNotFound, match=r"stages\.detection\.grounding_dino_path"):
        GroundedSamDetector(str(tmp_path / "missing"), checkpoints("sam"))
    with pytest.raises(CheckpointNotFound, match=r"stages\.detection\.sam_path") as err:
        GroundedSamDetector(checkpoints("grounding_dino"), str(tmp_path / "no_sam"))
    assert err.value.path == str(tmp_path / "no_sam")


def test_detections_are_in_original_image_pixels(detector, image_512x384):
    det = detector.detect(image_512x384)
    n = len(det)
    assert n > 0
    assert det.masks.shape == (n, 384, 512) and det.masks.dtype == bool
    assert det.boxes.shape == (n, 4) and det.scores.shape == (n,)
    assert np.all(det.boxes[:, [0, 2]] >= 0) and np.all(det.boxes[:, [0, 2]] <= 512)
    assert np.all(det.boxes[:, [1, 3]] >= 0) and np.all(det.boxes[:, [1, 3]] <= 384)
    assert np.all(det.boxes[:, 2] > det.boxes[:, 0]) and np.all(det.boxes[:, 3] > det.boxes[:, 1])
    assert set(det.labels) <= set(VOCABULARY)


def test_no_two_detections_overlap_beyond_the_nms_threshold(detector, image_512x384):
    det = detector.detect(image_512x384)
    iou = box_iou(det.boxes, det.boxes)
    np.fill_diagonal(iou, 0.0)
    assert iou.max() <= 0.7


def test_sam_masks_map_back_onto_their_prompt_box(checkpoints):
    """Mask logits positive exactly on the prompt box in SAM's padded input frame come back as that box."""
    sam = Sam.load(checkpoints("sam"), "detector.sam_path")
    rgb = np.zeros((384, 512, 3), np.uint8)
    box = np.array([100.0, 50.0, 300.0, 250.0])
    inputs = sam.processor(images=rgb, input_boxes=[[box.tolist()]], return_tensors="pt")
    x0, y0, x1, y1 = inputs["input_boxes"][0, 0].tolist()  # the prompt in the 64 px model frame
    low = 32  # low-res mask side of the tiny SAM (64 px input, 8 px patches, 4x upsampling)
    scale = low / 64
    logits = np.full((1, 1, low, low), -10.0, np.float32)
    logits[..., int(round(y0 * scale)):int(round(y1 * scale)), int(round(x0 * scale)):int(round(x1 * scale))] = 10.0
    original = tuple(int(v) for v in inputs["original_sizes"][0])
    reshaped = tuple(int(v) for v in inputs["reshaped_input_sizes"][0])
    mask = sam.masks_to_image(logits, original, reshaped)[0]
    assert mask.shape == (384, 512)
    ys, xs = np.nonzero(mask)
    tight = np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])
    assert box_iou(tight, box)[0, 0] > 0.9


def test_sam_segments_every_prompt_at_image_size(checkpoints):
    sam = Sam.load(checkpoints("sam"), "detector.sam_path")
    masks, ious = sam.segment(np.full((384, 512, 3), 128, np.uint8), np.array([[0, 0, 100, 100], [200, 100, 500, 380]]))
    assert masks.shape == (2, 384, 512) and ious.shape == (2,)


def test_nms_keeps_the_best_of_overlapping_boxes_whatever_their_label():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 10, 10], [20, 20, 30, 30]], float)
    keep = nms(boxes, np.array([0.5, 0.9, 0.4]), iou_threshold=0.5)
    assert keep.tolist() == [1, 2]


def test_phrase_tokens_are_found_by_character_offsets(checkpoints):
    from transformers import AutoProcessor

    tok = AutoProcessor.from_pretrained(checkpoints("grounding_dino"), local_files_only=True).tokenizer
    text, spans = phrase_prompt(["Chair", " red  cup "])
    assert text == "chair. red cup."
    assert [text[a:b] for a, b in spans] == ["chair", "red cup"]
    enc = tok(text, return_offsets_mapping=True)
    owner = token_phrase_map([tuple(o) for o in enc["offset_mapping"]], spans)
    words = tok.convert_ids_to_tokens(enc["input_ids"])
    assert [w for w, row in zip(words, owner) if row[0]] == ["chair"]
    assert [w for w, row in zip(words, owner) if row[1]] == ["red", "cup"]


def test_a_tagger_proposes_the_phrases_within_the_vocabulary(checkpoints):
    det = GroundedSamDetector(checkpoints("grounding_dino"), checkpoints("sam"), vocabulary=["chair", "lamp"],
                              tagger=lambda rgb: ["Chair", "dog", "lamp", "chair"])
    assert det.tags(np.zeros((8, 8, 3), np.uint8)) == ["chair", "lamp"]


def test_thresholds_change_the_backend_identity(checkpoints):
    a = GroundedSamDetector(checkpoints("grounding_dino"), checkpoints("sam"), box_threshold=0.3)
    b = GroundedSamDetector(checkpoints("grounding_dino"), checkpoints("sam"), box_threshold=0.35)
    assert identity(a) != identity(b) and identity(a).startswith("grounded_sam@")


def test_ram_tagger_needs_a_local_checkpoint(tmp_path):
    with pytest.raises(CheckpointNotFound, match=r"stages\.detection\.tagger"):
        RamTagger(str(tmp_path / "ram_plus.pth"))


def test_ram_tagger_without_the_package_says_how_to_install_it(tmp_path, monkeypatch):
    import sys

    ckpt = tmp_path / "ram_plus.pth"
    ckpt.write_bytes(b"")
    monkeypatch.setitem(sys.modules, "ram", None)  # importing `ram` now fails
    with pytest.raises(ImportError, match="pip install"):
        RamTagger(str(ckpt))(np.zeros((8, 8, 3), np.uint8))


def test_grounder_returns_pixel_boxes_best_first(checkpoints, image_512x384):
    grounder = GroundingDinoGrounder(checkpoints("grounding_dino"), box_threshold=0.0, text_threshold=0.0, max_boxes=5)
    boxes, scores = grounder.ground(image_512x384, "the red cup left of the lamp.")
    assert 0 < len(boxes) <= 5 and boxes.shape == (len(scores), 4)
    assert np.all(np.diff(scores) <= 0)
    assert np.all(boxes >= 0) and np.all(boxes[:, [0, 2]] <= 512) and np.all(boxes[:, [1, 3]] <= 384)


def test_grounder_missing_checkpoint_names_the_setting(tmp_path):
    with pytest.raises(CheckpointNotFound, match=r"stages\.referral\.grounder"):
        GroundingDinoGrounder(str(tmp_path / "gd"))


def test_constructed_dino_output_maps_to_pixel_boxes_and_phrase_labels(checkpoints):
    """Query 0 lights up "red cup" tokens at a known normalized box; query 1 lights up "chair"."""
    from types import SimpleNamespace

    import torch

    from hispatial_assets.perception.grounding import GroundingDino

    dino = GroundingDino.load(checkpoints("grounding_dino"), "detector.grounding_dino_path")
    text, spans = phrase_prompt(["chair", "red cup"])
    offsets = dino.processor.tokenizer(text, return_offsets_mapping=True)["offset_mapping"]
    owner = token_phrase_map([tuple(o) for o in offsets], spans)
    logits = torch.full((1, 20, dino.max_text_tokens), -10.0)
    logits[0, 0, np.nonzero(owner[:, 1])[0]] = 3.0
    logits[0, 1, np.nonzero(owner[:, 0])[0]] = 2.0
    pred_boxes = torch.full((1, 20, 4), 0.5)
    pred_boxes[0, 0] = torch.tensor([0.5, 0.5, 0.2, 0.4])   # cx, cy, w, h of the image
    pred_boxes[0, 1] = torch.tensor([0.1, 0.1, 0.4, 0.4])   # spills over the top-left corner
    config = dino.model.config
    dino.model = lambda **inputs: SimpleNamespace(logits=logits, pred_boxes=pred_boxes)
    dino.model.config = config

    found = dino.detect_phrases(np.zeros((384, 512, 3), np.uint8), ["chair", "red cup"], 0.5, 0.5)
    assert found.phrase_index.tolist() == [1, 0]  # best score first
    np.testing.assert_allclose(found.boxes[0], [204.8, 115.2, 307.2, 268.8], atol=1e-3)
    np.testing.assert_allclose(found.boxes[1], [0.0, 0.0, 153.6, 115.2], atol=1e-3)  # clipped to the image
    np.testing.assert_allclose(found.scores, torch.sigmoid(torch.tensor([3.0, 2.0])).numpy(), rtol=1e-6)


def test_a_tagger_path_from_config_means_a_ram_checkpoint(checkpoints, tmp_path):
    with pytest.raises(CheckpointNotFound, match=r"stages\.detection\.tagger"):
        GroundedSamDetector(checkpoints("grounding_dino"), checkpoints("sam"), tagger=str(tmp_path / "ram.pth"))


def test_an_image_without_tags_has_no_detections(checkpoints, image_512x384):
    det = GroundedSamDetector(checkpoints("grounding_dino"), checkpoints("sam"), tagger=lambda rgb: []).detect(image_512x384)
    assert len(det) == 0 and det.masks.shape == (0, 384, 512) and det.boxes.shape == (0, 4)
