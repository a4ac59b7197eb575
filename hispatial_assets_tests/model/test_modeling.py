"""The XYZ branch on PaliGemma: exact no-op at zero, base checkpoints load, save/load is lossless,
point maps reach generate()."""

from __future__ import annotations

import pytest
import torch
from transformers import PaliGemmaForConditionalGeneration

from hispatial_assets.model.loading import NotAPaliGemmaBase, build_default, load_base, load_trained
from hispatial_assets.model.processor import encode_batch, point_map_input
from hispatial_assets.perception.base import CheckpointNotFound
from hispatial_assets_tests.model.tiny import CORPUS, random_image, random_point_map, save_paligemma2_base


@pytest.fixture(scope="module")
def base_dir(tmp_path_factory) -> str:
    return save_paligemma2_base(tmp_path_factory.mktemp("paligemma2_base"))


def _batch(processor, mode: str, size: int, n: int = 2, answers: bool = False):
    images = [random_image(i) for i in range(n)]
    points = [point_map_input(random_point_map(i), mode, size) for i in range(n)]
    return encode_batch(processor, images, ["How far is the lamp from the sofa?", "Is the chair left of the box?"][:n],
                        points, answers=["1.25 m", "Yes"][:n] if answers else None)


def test_a_paligemma2_checkpoint_loads_with_only_the_xyz_keys_missing(base_dir):
    from hispatial_assets.model.modeling import HiSpatialForConditionalGeneration

    # the same from_pretrained call load_base makes, asking for the loading report
    _, info = HiSpatialForConditionalGeneration.from_pretrained(base_dir, output_loading_info=True)
    assert sorted(info["missing_keys"]) == ["model.xyz_encoder.patchify.bias", "model.xyz_encoder.patchify.weight",
                                            "model.xyz_projector.bias", "model.xyz_projector.weight"]
    assert not info["unexpected_keys"] and not info["mismatched_keys"]
    model, _ = load_base(base_dir, "rgb_xyz")
    assert torch.count_nonzero(model.model.xyz_projector.weight) == 0 and torch.count_nonzero(model.model.xyz_projector.bias) == 0
    assert model.model.xyz_encoder.patchify.weight.std() > 0  # the encoder is initialized, only the projector is zero


def test_with_the_xyz_projector_at_zero_logits_equal_the_base_models_exactly(base_dir):
    base = PaliGemmaForConditionalGeneration.from_pretrained(base_dir).eval()
    model, processor = load_base(base_dir, "rgb_xyz")
    model.eval()
    batch = _batch(processor, "rgb_xyz", 56)
    assert batch["point_maps"][:, 3].sum() > 0  # the point maps are real input, not empty
    plain = {k: v for k, v in batch.items() if k != "point_maps"}
    with torch.no_grad():
        expected = base(**plain).logits
        assert torch.equal(model(**plain).logits, expected)
        assert torch.equal(model(**batch).logits, expected)
        torch.nn.init.normal_(model.model.xyz_projector.weight, std=0.1)  # mutation: the branch is live once trained
        assert not torch.allclose(model(**batch).logits, expected)


def test_a_folder_that_is_not_a_paligemma_checkpoint_is_refused(tmp_path, base_dir):
    from safetensors.torch import load_file, save_file
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(base_dir, broken)
    weights = load_file(broken / "model.safetensors")
    dropped = next(k for k in weights if "layers.0.mlp" in k)
    save_file({k: v for k, v in weights.items() if k != dropped}, broken / "model.safetensors", metadata={"format": "pt"})
    with pytest.raises(NotAPaliGemmaBase, match="1 weights missing"):
        load_base(str(broken), "rgb_xyz")


def test_a_missing_base_names_the_path_and_the_setting(tmp_path):
    with pytest.raises(CheckpointNotFound) as err:
        load_base(str(tmp_path / "paligemma2-3b-pt-448"), "rgb_xyz")
    assert "paligemma2-3b-pt-448" in str(err.value) and "training.base_path" in str(err.value)


def test_save_then_load_gives_identical_logits(tmp_path):
    torch.manual_seed(0)
    model, processor = build_default(CORPUS, "rgb_xyz", vocab_size=200)
    torch.nn.init.normal_(model.model.xyz_projector.weight, std=0.05)  # a trained-looking branch, not zeros
    model.eval()
    model.save_pretrained(tmp_path)
    processor.save_pretrained(tmp_path)
    loaded, loaded_processor = load_trained(str(tmp_path))
    loaded.eval()
    batch = _batch(processor, "rgb_xyz", 64)
    again = _batch(loaded_processor, "rgb_xyz", 64)
    assert all(torch.equal(batch[k], again[k]) for k in batch)
    with torch.no_grad():
        assert torch.equal(model(**batch).logits, loaded(**again).logits)
    assert loaded.config.input_mode == "rgb_xyz"


def test_generate_sees_the_point_maps(base_dir):
    model, processor = load_base(base_dir, "rgb_xyz")
    torch.nn.init.normal_(model.model.xyz_projector.weight, std=0.5)
    model.eval()
    batch = _batch(processor, "rgb_xyz", 56, n=1)
    with torch.no_grad():
        gen = model.generate(**batch, max_new_tokens=1, do_sample=False, output_scores=True, return_dict_in_generate=True)
        with_points = model(**batch).logits[:, -1]
        without = model(**{k: v for k, v in batch.items() if k != "point_maps"}).logits[:, -1]
    assert not torch.allclose(with_points, without)
    assert torch.allclose(gen.scores[0], with_points, atol=1e-5)


def test_the_answer_loss_equals_the_models_own_loss():
    from hispatial_assets.model.train import answer_loss

    torch.manual_seed(1)
    model, processor = build_default(CORPUS, "rgb_xyz", vocab_size=200)
    batch = _batch(processor, "rgb_xyz", 64, answers=True)
    with torch.no_grad():
        assert float(answer_loss(model, batch)) == pytest.approx(float(model(**batch).loss), rel=1e-5)


def test_a_sub_config_override_changes_only_the_fields_it_names():
    """``TrainConfig.model`` overrides such as {"text_config": {"num_hidden_layers": 3}} adjust the tiny
    default; they must not swap in transformers' full-size Gemma defaults for the fields left out."""
    model, _ = build_default(CORPUS, "rgb_xyz", vocab_size=200, text_config={"num_hidden_layers": 3},
                             vision_config={"image_size": 32})
    text, vision = model.config.text_config, model.config.vision_config
    assert (text.num_hidden_layers, text.hidden_size, text.head_dim) == (3, 128, 32)
    assert (vision.image_size, vision.patch_size, vision.hidden_size) == (32, 8, 64)
    assert model.config.text_config.num_image_tokens == 16
