"""Orientation from box geometry, and front yaws in words."""

from __future__ import annotations

import numpy as np
import pytest

from hispatial_assets.geometry.orientation import (
    ORIENTATION_LABELS,
    box_front_yaw,
    orientation_label,
    orientation_labels,
    orientation_phrase,
    sector_yaw,
)


@pytest.mark.parametrize(
    "deg, label",
    [(0, "right"), (90, "away"), (-90, "toward"), (180, "left"), (-180, "left"), (-45, "toward_right"),
     (135, "away_left"), (22, "right"), (23, "away_right"), (270, "toward")],
)
def test_front_yaw_sectors(deg, label):
    assert orientation_label(np.deg2rad(deg)) == label


def test_unknown_front_has_no_words():
    assert orientation_label(float("nan")) is None and orientation_phrase(float("nan")) is None
    assert orientation_labels(np.array([np.nan, 0.0])) == [None, "right"]


def test_sector_yaw_inverts_labels():
    for label in ORIENTATION_LABELS:
        assert orientation_label(sector_yaw(label)) == label
    assert orientation_phrase(-np.pi / 2) == "facing toward the camera"


def test_box_front_faces_the_camera_along_the_short_axis():
    # a sofa 3 m ahead, long axis along x (yaw 0): front is +-y; the camera side is -y (-90 deg)
    front, conf = box_front_yaw(np.array([0.0]), np.array([2.0]), np.array([0.9]), np.array([0.0]), np.array([3.0]))
    assert np.rad2deg(front[0]) == pytest.approx(-90.0)
    assert 0 < conf[0] <= 0.5


def test_square_or_symmetric_objects_have_no_front():
    front, conf = box_front_yaw(
        np.array([0.3, 0.3]), np.array([0.5, 1.6]), np.array([0.48, 0.8]), np.array([0.0, 1.0]), np.array([2.0, 3.0]),
        labels=["chair", "table"],
    )
    assert np.isnan(front).all() and (conf == 0).all()
