"""Noise models: the statistics match the parameters, deterministically (monocular and stereo)."""

from __future__ import annotations

import numpy as np
import pytest

from hispatial_assets.geometry.camera import unproject
from hispatial_assets.perception.noise import degrade_point_map, occlusion_shadow, stereo_point_map

from .synth import random_room

K = np.array([[200.0, 0, 128], [0, 200.0, 96], [0, 0, 1]])


def test_noise_scale_and_holes_match_the_parameters():
    depth = np.full((192, 256), 3.0, dtype=np.float32)  # no edges: no flying pixels
    pm = unproject(depth, K)
    out = degrade_point_map(pm, seed=1, scale_sigma=0.0, noise_rel=0.02, hole_fraction=0.05)
    ratio = out.xyz[..., 2][out.mask] / 3.0
    assert np.std(ratio) == pytest.approx(0.02, rel=0.05)
    assert np.mean(ratio) == pytest.approx(1.0, abs=0.001)
    assert 1 - out.mask.mean() == pytest.approx(0.05, abs=0.005)
    holes = ~out.mask
    assert (holes[1:] & holes[:-1]).sum() > 0.8 * holes[1:].sum()  # blobs, not salt-and-pepper


def test_scale_error_spread_matches_scale_sigma():
    pm = unproject(np.full((16, 16), 2.0, dtype=np.float32), K)
    scales = [np.median(degrade_point_map(pm, seed=s, noise_rel=0.0, hole_fraction=0.0).xyz[..., 2]) / 2.0 for s in range(400)]
    assert np.std(np.log(scales)) == pytest.approx(0.05, rel=0.15)


def test_points_move_along_their_rays():
    scene = random_room(0)
    out = degrade_point_map(scene.point_map, seed=0)
    both = out.mask & scene.point_map.mask
    a, b = scene.point_map.xyz[both], out.xyz[both]
    cos = np.einsum("ij,ij->i", a, b) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    assert np.all(cos > 1 - 1e-6)


def test_flying_pixels_lie_between_the_two_surfaces():
    depth = np.full((40, 60), 4.0, dtype=np.float32)
    depth[:, :30] = 2.0
    out = degrade_point_map(unproject(depth, K), seed=0, scale_sigma=0.0, noise_rel=0.0, hole_fraction=0.0, flying_fraction=1.0)
    z = out.xyz[..., 2]
    assert np.all((z[:, 29:31] > 2.0) & (z[:, 29:31] < 4.0))
    assert np.all(z[:, :29] == 2.0) and np.all(z[:, 31:] == 4.0)


def test_degradation_is_deterministic_from_the_seed():
    pm = random_room(1).point_map
    a, b = degrade_point_map(pm, seed=5), degrade_point_map(pm, seed=5)
    assert np.array_equal(a.xyz, b.xyz) and np.array_equal(a.mask, b.mask)
    assert not np.array_equal(a.xyz, degrade_point_map(pm, seed=6).xyz)


# ------------------------------------------------------------------ the stereo (sensor-like) model


def test_stereo_depth_noise_grows_with_the_square_of_depth():
    K200 = np.array([[200.0, 0, 128], [0, 200.0, 96], [0, 0, 1]])
    fb = 200.0 * 0.12
    sigmas = {}
    for z in (2.0, 4.0):
        out = stereo_point_map(unproject(np.full((192, 256), z, dtype=np.float32), K200), seed=3,
                               disparity_sigma_px=0.2, correlation_px=0.0, subpixel=0.0)
        sigmas[z] = np.std(out.xyz[..., 2][out.mask])
        assert sigmas[z] == pytest.approx(z**2 * 0.2 / fb, rel=0.1)  # sigma_z = z^2 sigma_d / (f B)
    assert sigmas[4.0] / sigmas[2.0] == pytest.approx(4.0, rel=0.15)


def test_stereo_disparities_are_quantized_to_the_subpixel_step():
    out = stereo_point_map(unproject(np.full((64, 64), 3.0, dtype=np.float32), K), seed=0, subpixel=0.125)
    disparity = float(K[0, 0]) * 0.12 / out.xyz[..., 2][out.mask]
    steps = disparity / 0.125
    assert np.allclose(steps, np.round(steps), atol=1e-3)
    assert len(np.unique(np.round(steps))) > 3  # noisy, not constant


def test_occlusion_shadow_is_left_of_a_nearer_surface_and_as_wide_as_the_disparity_jump():
    depth = np.full((20, 80), 4.0, dtype=np.float32)
    depth[:, 40:60] = 2.0  # a nearer block
    d = np.where(depth > 0, 24.0 / depth, 0.0).astype(np.float32)  # f B = 24: 6 px and 12 px
    shadow = occlusion_shadow(d, depth > 0)
    # background column x lands at x - 6 in the right image, the block's first column at 40 - 12 = 28:
    # columns 35..39 land behind the block (34 lands exactly at its edge and is seen)
    assert shadow[:, 35:40].all()
    assert not shadow[:, :35].any() and not shadow[:, 40:].any()


def test_stereo_drops_dark_surfaces_and_keeps_bright_ones():
    pm = unproject(np.full((96, 128), 3.0, dtype=np.float32), K)
    rgb = np.full((96, 128, 3), 200, dtype=np.uint8)
    rgb[:, :64] = 5  # nearly black on the left
    out = stereo_point_map(pm, seed=1, rgb=rgb, edge_dropout=0.0)
    assert 1 - out.mask[:, :64].mean() > 0.75
    assert out.mask[:, 64:].all()


def test_stereo_points_move_along_their_rays_and_are_deterministic():
    scene = random_room(2)
    a = stereo_point_map(scene.point_map, seed=4)
    b = stereo_point_map(scene.point_map, seed=4)
    assert np.array_equal(a.xyz, b.xyz) and np.array_equal(a.mask, b.mask)
    assert not np.array_equal(a.xyz, stereo_point_map(scene.point_map, seed=5).xyz)
    both = a.mask & scene.point_map.mask
    p, q = scene.point_map.xyz[both], a.xyz[both]
    cos = np.einsum("ij,ij->i", p, q) / (np.linalg.norm(p, axis=1) * np.linalg.norm(q, axis=1))
    assert np.all(cos > 1 - 1e-6)
    assert not (a.mask & ~scene.point_map.mask).any()  # it only removes pixels
