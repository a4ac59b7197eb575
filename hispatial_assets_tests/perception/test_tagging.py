"""SigLIP zero-shot tagging: the scoring and selection on constructed embeddings with known right tags,
the tiny random-init SigLIP against its own forward pass, prompt ensembling, caching, calibration."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hispatial_assets.perception import tagging
from hispatial_assets.perception.base import CheckpointNotFound, settings_of
from hispatial_assets.perception.grounded_sam import GroundedSamDetector
from hispatial_assets.perception.tagging import (SiglipTagger, calibrate_threshold, select_tags,
                                                 tag_probabilities)
from hispatial_assets.perception.vocabulary import EVERYDAY_OBJECTS, load_vocabulary

from . import tiny_models

TAGS = ["chair", "lamp", "table", "dog", "cup", "car"]


def _constructed():
    """Orthonormal tag embeddings; the image is chair + table + half a cup (cosines 2/3, 2/3, 1/3)."""
    text = np.eye(6, 8)
    image = (text[0] + text[2] + 0.5 * text[4])[None] * 7.0  # any norm
    return image, text


def test_probabilities_are_siglips_sigmoid_of_scaled_cosines():
    image, text = _constructed()
    p = tag_probabilities(image, text, logit_scale=np.log(10.0), logit_bias=-5.0)[0]
    logits = np.array([10 * 2 / 3 - 5, -5, 10 * 2 / 3 - 5, -5, 10 / 3 - 5, -5])
    np.testing.assert_allclose(p, 1 / (1 + np.exp(-logits)), rtol=1e-12)


@pytest.mark.parametrize("threshold,top_k,expected", [
    (0.5, None, ["chair", "table"]),          # ties keep vocabulary order
    (0.1, None, ["chair", "table", "cup"]),   # the half-present cup (p = 0.159) joins
    (0.1, 2, ["chair", "table"]),
    (0.99, None, []),
    (0.0, None, ["chair", "table", "cup", "lamp", "dog", "car"]),
])
def test_tags_above_the_threshold_are_kept_best_first(threshold, top_k, expected):
    image, text = _constructed()
    p = tag_probabilities(image, text, np.log(10.0), -5.0)[0]
    assert select_tags(p, TAGS, threshold, top_k) == expected


def test_probabilities_must_match_the_vocabulary():
    with pytest.raises(ValueError, match="6 tags"):
        select_tags(np.zeros(5), TAGS, 0.5)


def test_the_calibrated_threshold_maximizes_f1_on_labelled_images():
    probs = np.array([[0.9, 0.6, 0.2], [0.8, 0.3, 0.1]])
    truth = np.array([[1, 1, 0], [1, 0, 0]], bool)
    assert calibrate_threshold(probs, truth) == 0.6  # keeps exactly the three true tags: F1 = 1
    truth2 = np.array([[1, 0, 1], [1, 0, 0]], bool)  # the 0.2 tag is true, 0.6 and 0.3 are not
    # 0.8: F1 = 4/5 (2 of 3 found, none wrong); 0.2: 3 found, 2 wrong, F1 = 6/8; 0.8 wins
    assert calibrate_threshold(probs, truth2) == 0.8
    with pytest.raises(ValueError, match="true tag"):
        calibrate_threshold(probs, np.zeros_like(truth))


@pytest.fixture(scope="module")
def siglip(checkpoints):
    return checkpoints("siglip")


def test_tiny_siglip_probabilities_equal_its_own_forward_pass(siglip):
    """One template, a non-trivial logit scale and bias: the tagger's scores are the model's sigmoid."""
    import torch

    tagger = SiglipTagger(siglip, vocabulary=TAGS, templates=("a photo of a {}.",), threshold=0.0)
    with torch.no_grad():
        tagger.model.logit_scale.fill_(1.5)
        tagger.model.logit_bias.fill_(-2.0)
    rgb = tiny_models.random_rgb(64, 48, seed=3)
    texts = [f"a photo of a {t}." for t in TAGS]
    tokens = tagger.tokenizer(texts, padding="max_length", max_length=32, return_tensors="pt")
    pixels = tagger.image_processor(images=rgb, return_tensors="pt")["pixel_values"]
    with torch.no_grad():
        logits = tagger.model(input_ids=tokens["input_ids"], pixel_values=pixels).logits_per_image[0]
    np.testing.assert_allclose(tagger.probabilities(rgb), torch.sigmoid(logits).numpy(), rtol=1e-5)
    top = tagger(rgb)
    assert sorted(top) == sorted(TAGS) and top[0] == TAGS[int(logits.argmax())]


def test_a_tags_text_embedding_is_the_normalized_mean_over_its_prompts(siglip):
    templates = ("a photo of a {}.", "a close-up photo of a {}.", "a photo of a {} in a room.")
    tagger = SiglipTagger(siglip, vocabulary=["lamp", "sofa"], templates=templates)
    single = tagger._text_features([t.format("sofa") for t in templates])
    single /= np.linalg.norm(single, axis=1, keepdims=True)
    expected = single.mean(axis=0) / np.linalg.norm(single.mean(axis=0))
    np.testing.assert_allclose(tagger.text_embeddings[1], expected, rtol=1e-6)
    assert not np.allclose(tagger.text_embeddings[1], single[0])  # the ensemble is not one prompt


def test_vocabulary_embeddings_are_computed_once(siglip, monkeypatch):
    calls = []
    original = SiglipTagger._text_features
    monkeypatch.setattr(SiglipTagger, "_text_features", lambda self, texts, **kw: calls.append(len(texts))
                        or original(self, texts, **kw))
    monkeypatch.setattr(tagging, "_TEXT_EMBEDDINGS", {})
    rgb = tiny_models.random_rgb(64, 48)
    SiglipTagger(siglip, vocabulary=TAGS)(rgb)
    second = SiglipTagger(siglip, vocabulary=TAGS)  # a new backend in the same process, e.g. the next drop
    second(rgb)
    second(tiny_models.random_rgb(64, 48, seed=1))
    assert calls == [len(TAGS) * len(second.templates)]
    SiglipTagger(siglip, vocabulary=TAGS[:3])(rgb)  # another vocabulary is embedded anew
    assert len(calls) == 2


def test_the_default_vocabulary_is_the_everyday_objects_list(siglip):
    tagger = SiglipTagger(siglip, top_k=5, threshold=0.0)
    assert tagger.vocabulary == list(EVERYDAY_OBJECTS)
    tags = tagger(tiny_models.random_rgb(64, 48))
    assert len(tags) == 5 and set(tags) <= set(EVERYDAY_OBJECTS)


def test_vocabularies_load_from_ram_and_lvis_style_files(tmp_path):
    (tmp_path / "ram_tag_list.txt").write_text("Chair\n\ncoffee_table  # furniture\nchair\n")
    (tmp_path / "lvis.json").write_text(json.dumps({"categories": [{"id": 1, "name": "aerosol_can"},
                                                                    {"id": 2, "name": "Alarm clock"}]}))
    (tmp_path / "names.json").write_text(json.dumps(["cup", "mug"]))
    assert load_vocabulary(str(tmp_path / "ram_tag_list.txt")) == ["chair", "coffee table"]
    assert load_vocabulary(str(tmp_path / "lvis.json")) == ["aerosol can", "alarm clock"]
    assert load_vocabulary(str(tmp_path / "names.json")) == ["cup", "mug"]
    (tmp_path / "empty.txt").write_text("# nothing\n")
    with pytest.raises(ValueError, match="no tags"):
        load_vocabulary(str(tmp_path / "empty.txt"))


def test_a_siglip_path_makes_siglip_the_default_tagger_over_the_detector_vocabulary(checkpoints, siglip):
    det = GroundedSamDetector(checkpoints("grounding_dino"), checkpoints("sam"), vocabulary=["Chair", "lamp"],
                              siglip_path=siglip, tag_threshold=0.0, tag_top_k=1)
    assert isinstance(det.tagger, SiglipTagger) and det.tagger.vocabulary == ["chair", "lamp"]
    tags = det.tags(tiny_models.random_rgb(64, 48))
    assert len(tags) == 1 and tags[0] in ("chair", "lamp")
    assert settings_of(det)["tagger"].startswith("siglip_tagger@1+")
    stricter = GroundedSamDetector(checkpoints("grounding_dino"), checkpoints("sam"), vocabulary=["chair", "lamp"],
                                   siglip_path=siglip, tag_threshold=0.5)
    assert settings_of(stricter)["tagger"] != settings_of(det)["tagger"]
    explicit = GroundedSamDetector(checkpoints("grounding_dino"), checkpoints("sam"), siglip_path=siglip,
                                   tagger=lambda rgb: ["dog"])
    assert explicit.tags(np.zeros((8, 8, 3), np.uint8)) == ["dog"]


def test_a_missing_siglip_checkpoint_names_its_setting(checkpoints, tmp_path):
    with pytest.raises(CheckpointNotFound, match=r"stages\.detection\.siglip_path"):
        GroundedSamDetector(checkpoints("grounding_dino"), checkpoints("sam"), siglip_path=str(tmp_path / "siglip"))
