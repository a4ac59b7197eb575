"""floor_ransac: known roll/pitch recovered; fallbacks when no floor is seen."""

from __future__ import annotations

import numpy as np
import pytest

from hispatial_assets.geometry.camera import intrinsics_from_fov, pixel_rays, unproject
from hispatial_assets.geometry.frames import rotation_angle_deg, rotation_from_roll_pitch
from hispatial_assets.geometry.gravity import camera_up, floor_ransac
from hispatial_assets.perception.noise import degrade_point_map

from .synth import SynthBox, random_room, render

CLUTTER = [
    SynthBox((-1.0, 3.0, -1.5 + 0.375), (1.2, 0.7, 0.75), 0.3),  # a table-high box: a competing horizontal plane
    SynthBox((1.2, 3.5, -1.5 + 0.5), (0.6, 0.6, 1.0), -0.4),
    SynthBox((0.2, 5.0, -1.5 + 0.9), (1.8, 0.4, 1.8), 0.0),  # a tall shelf
]


@pytest.mark.parametrize("roll, pitch", [(0.0, 10.0), (12.0, 15.0), (-15.0, 5.0), (8.0, -3.0)])
def test_floor_ransac_recovers_roll_and_pitch(roll, pitch):
    scene = render(CLUTTER, roll_deg=roll, pitch_deg=pitch, side_wall_x=-3.0)
    fit = floor_ransac(scene.point_map, seed=0)
    assert fit.found and fit.source == "floor"
    assert rotation_angle_deg(fit.gravity.rotation, scene.rotation) < 0.2
    assert fit.gravity.roll_pitch_deg == pytest.approx((roll, pitch), abs=0.3)
    assert fit.gravity.floor_height == pytest.approx(-1.5, abs=0.02)


def test_floor_ransac_within_2_degrees_on_noisy_rooms():
    errors = []
    for seed in range(20):
        scene = random_room(seed)
        fit = floor_ransac(degrade_point_map(scene.point_map, seed=seed), seed=seed)
        errors.append(rotation_angle_deg(fit.gravity.rotation, scene.rotation))
    assert np.mean(np.array(errors) < 2.0) >= 0.95


def test_floor_ransac_is_deterministic():
    scene = random_room(3)
    a, b = floor_ransac(scene.point_map, seed=7), floor_ransac(scene.point_map, seed=7)
    assert np.array_equal(a.gravity.rotation, b.gravity.rotation)


def test_no_horizontal_surface_falls_back_to_camera_up():
    # a wall straight ahead fills the view: nothing horizontal
    depth = np.full((48, 64), 2.0, dtype=np.float32)
    pm = unproject(depth, np.array([[60.0, 0, 32], [0, 60.0, 24], [0, 0, 1]]))
    fit = floor_ransac(pm)
    assert not fit.found and fit.source == "camera_up"
    assert np.allclose(fit.gravity.rotation, camera_up().rotation)
    assert fit.gravity.floor_height is None


def test_ceiling_only_gives_gravity_without_a_floor():
    # looking up at a ceiling 1.2 m above the camera: horizontal, but above, so not a floor
    R = rotation_from_roll_pitch(5.0, -28.0)
    K = intrinsics_from_fov(128, 96, 60.0)
    rays = pixel_rays(128, 96, K)
    up = (rays @ R.T)[..., 2]
    depth = np.where(up > 0.05, 1.2 / np.where(up > 0.05, up, 1.0), 0.0).astype(np.float32)
    fit = floor_ransac(unproject(depth, K))
    assert fit.source == "horizontal" and not fit.found
    assert fit.gravity.floor_height is None
    assert rotation_angle_deg(fit.gravity.rotation, R) < 0.5
