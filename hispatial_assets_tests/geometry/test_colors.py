"""Color names survive Lambertian shading."""

from __future__ import annotations

import numpy as np
import pytest

from hispatial_assets.geometry.colors import PALETTE, dominant_color, dominant_colors


@pytest.mark.parametrize("name", sorted(PALETTE))
def test_shaded_palette_patches_keep_their_name(name):
    rng = np.random.default_rng(0)
    shade = rng.uniform(0.35, 1.0, size=400)  # lit and shadowed faces of one object
    px = np.clip(np.round(np.asarray(PALETTE[name])[None] * shade[:, None]), 0, 255).astype(np.uint8)
    assert dominant_color(px)[0] == name


def test_the_majority_color_wins_over_metal_legs():
    red = np.tile(np.array([[200, 40, 40]], np.uint8), (300, 1))
    metal = np.tile(np.array([[150, 150, 155]], np.uint8), (100, 1))
    assert dominant_color(np.concatenate([red, metal]))[0] == "red"


def test_dominant_colors_per_mask():
    img = np.zeros((4, 4, 3), np.uint8)
    img[:2] = PALETTE["blue"]
    img[2:] = PALETTE["white"]
    masks = np.zeros((2, 4, 4), bool)
    masks[0, :2] = True
    masks[1, 2:] = True
    names, reps = dominant_colors(img, masks)
    assert names == ["blue", "white"]
    assert reps[0].tolist() == list(PALETTE["blue"])
