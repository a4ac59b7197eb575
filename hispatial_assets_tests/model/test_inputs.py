"""What the model reads: tokens, point-map inputs per mode, the XYZ encoder's use of the mask."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hispatial_assets.geometry.camera import PointMap
from hispatial_assets.model.config import HiSpatialConfig
from hispatial_assets.model.modeling import XYZEncoder
from hispatial_assets.model.processor import point_map_input, relative_depth
from hispatial_assets.model.tokenizer import SPECIAL_TOKENS, train_tokenizer
from hispatial_assets_tests.model.tiny import CORPUS, random_point_map


@pytest.fixture(scope="module")
def tokenizer():
    return train_tokenizer(CORPUS * 3, vocab_size=300)


def test_digits_are_one_token_each_and_text_round_trips(tokenizer):
    text = "It is 12.05 m away.\nYes"
    ids = tokenizer(text)["input_ids"]
    tokens = tokenizer.convert_ids_to_tokens(ids)
    assert [t for t in tokens if any(c.isdigit() for c in t)] == ["1", "2", "0", "5"]
    assert "\n" in tokens and tokenizer.unk_token_id not in ids
    assert tokenizer.decode(ids) == text


def test_special_tokens_have_their_fixed_ids(tokenizer):
    assert [tokenizer.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS] == list(range(len(SPECIAL_TOKENS)))
    assert tokenizer("<bos>a")["input_ids"][0] == SPECIAL_TOKENS.index("<bos>")


def test_the_tokenizer_is_deterministic(tokenizer):
    assert train_tokenizer(CORPUS * 3, vocab_size=300).get_vocab() == tokenizer.get_vocab()


def test_point_map_input_is_a_nearest_neighbour_resize_with_the_mask_as_fourth_channel():
    pm = random_point_map(0, h=30, w=40)
    out = point_map_input(pm, "rgb_xyz", 10)
    rows, cols = [1, 4, 7, 10, 13, 16, 19, 22, 25, 28], [2, 6, 10, 14, 18, 22, 26, 30, 34, 38]  # pixel centers
    assert out.shape == (4, 10, 10)
    np.testing.assert_array_equal(out[3], pm.mask[np.ix_(rows, cols)])
    expected = np.where(pm.mask[..., None], pm.xyz, 0)[np.ix_(rows, cols)]
    np.testing.assert_array_equal(np.moveaxis(out[:3], 0, -1), expected)
    assert point_map_input(pm, "rgb", 10) is None


def test_nan_points_count_as_invalid():
    pm = random_point_map(1, holes=0.0)
    xyz = pm.xyz.copy()
    xyz[0, 0] = np.nan
    out = point_map_input(PointMap(xyz, pm.mask, pm.intrinsics), "rgb_gt_xyz", 30)
    assert np.isfinite(out).all() and out[3, 0, 0] == 0 and out[3].sum() == 30 * 30 - 1


def test_relative_depth_keeps_order_drops_scale_and_zeroes_invalid():
    pm = random_point_map(2, h=30, w=30)
    rel = relative_depth(pm)
    scaled = relative_depth(PointMap(pm.xyz * 3.0, pm.mask, pm.intrinsics))
    np.testing.assert_allclose(rel, scaled, atol=1e-6)  # metric scale is gone
    assert rel.min() >= 0 and rel.max() <= 1 and (rel[~pm.mask] == 0).all()
    z, r = pm.xyz[..., 2][pm.mask], rel[pm.mask]
    inner = (r > 0) & (r < 1)
    order = np.argsort(z[inner])
    assert (np.diff(r[inner][order]) >= 0).all()  # monotone in depth
    out = point_map_input(pm, "rgb_reldepth", 30)
    assert (out[:2] == 0).all() and np.array_equal(out[2], rel) and np.array_equal(out[3], pm.mask)


def test_the_xyz_encoder_ignores_whatever_invalid_pixels_hold():
    torch.manual_seed(0)
    encoder = XYZEncoder(HiSpatialConfig())
    pm = torch.from_numpy(point_map_input(random_point_map(3, h=64, w=64), "rgb_xyz", 64))[None]
    garbage = pm.clone()
    invalid = garbage[:, 3] == 0
    garbage[:, 0][invalid] = float("nan")
    garbage[:, 2][invalid] = 1e6
    with torch.no_grad():
        a, b = encoder(pm, (64, 64)), encoder(garbage, (64, 64))
        moved = pm.clone()
        moved[:, 2][~invalid] += 0.5  # mutation: valid depths do move the features
        c = encoder(moved, (64, 64))
    assert a.shape == (1, 64, encoder.patchify.out_channels)
    assert torch.equal(a, b)
    assert not torch.allclose(a, c)
