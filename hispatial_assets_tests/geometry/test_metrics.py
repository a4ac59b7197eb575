"""box_errors compares boxes modulo the symmetry of a box without a front."""

from __future__ import annotations

import numpy as np
import pytest

from hispatial_assets.geometry.metrics import angle_error_deg, box_errors

TRUTH = np.array([[1.0, 2.0, 0.5, 1.2, 0.6, 1.0, np.deg2rad(10)]])


def test_a_half_turn_is_the_same_box():
    pred = TRUTH.copy()
    pred[0, 6] += np.pi
    e = box_errors(pred, TRUTH).row(0, named=True)
    assert e["yaw_error_deg"] == pytest.approx(0.0, abs=1e-9) and e["size_error"] == pytest.approx(0.0)


def test_a_quarter_turn_with_swapped_extents_is_the_same_box():
    pred = np.array([[1.0, 2.0, 0.5, 0.6, 1.2, 1.0, np.deg2rad(100)]])
    e = box_errors(pred, TRUTH).row(0, named=True)
    assert e["yaw_error_deg"] == pytest.approx(0.0, abs=1e-9)
    assert e["size_error"] == pytest.approx(0.0) and e["swapped"]


def test_errors_are_measured():
    pred = np.array([[1.0, 2.3, 0.9, 1.2, 0.9, 1.0, np.deg2rad(25)]])
    e = box_errors(pred, TRUTH).row(0, named=True)
    assert e["center_error"] == pytest.approx(0.5)
    assert e["size_error"] == pytest.approx((0 + 0.5 + 0) / 3)
    assert e["yaw_error_deg"] == pytest.approx(15.0)


def test_without_symmetry_a_quarter_turn_is_an_error():
    pred = np.array([[1.0, 2.0, 0.5, 0.6, 1.2, 1.0, np.deg2rad(100)]])
    assert box_errors(pred, TRUTH, symmetric=False)["yaw_error_deg"][0] == pytest.approx(90.0)


def test_angle_error_wraps():
    assert angle_error_deg(np.deg2rad(170), np.deg2rad(-170)) == pytest.approx(20.0)
