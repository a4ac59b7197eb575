"""degrade_point_map: the statistics match the parameters, deterministically."""

from __future__ import annotations

import numpy as np
import pytest

from hispatial_assets.geometry.camera import unproject
from hispatial_assets.perception.noise import degrade_point_map

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
