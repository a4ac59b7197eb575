"""Box errors against ground truth, modulo the symmetry of a box without a known front.

A gravity-aligned box (center, width, depth, height, yaw) is the same solid as
(yaw + pi, width, depth) and as (yaw + pi/2, depth, width). ``box_errors`` compares a predicted box
with the truth under whichever of those representations best matches the truth's yaw, so a fitter
that canonicalizes differently (e.g. width >= depth) is not penalized for the convention.
"""

from __future__ import annotations

import numpy as np
import polars as pl

BOX_COLUMNS = ("center_x", "center_y", "center_z", "width", "depth", "height", "yaw")


def _as_array(boxes: pl.DataFrame | np.ndarray) -> np.ndarray:
    if isinstance(boxes, pl.DataFrame):
        return boxes.select(BOX_COLUMNS).to_numpy().astype(np.float64)
    arr = np.asarray(boxes, dtype=np.float64)
    return arr[None] if arr.ndim == 1 else arr


def box_errors(pred: pl.DataFrame | np.ndarray, truth: pl.DataFrame | np.ndarray, *, symmetric: bool = True) -> pl.DataFrame:
    """Row-wise errors of predicted vs true boxes (same row order).

    Inputs are frames with ``BOX_COLUMNS`` or (N, 7) arrays in that column order (yaw in radians).
    Returns ``center_error`` (m, Euclidean), ``size_error`` (mean over width/depth/height of
    |pred - true| / true), ``yaw_error_deg`` (in [0, 45] when ``symmetric`` — box yaw modulo 90° with
    width/depth swapped on a 90° turn; in [0, 90] modulo 180° when not, i.e. the axes are fixed), and
    ``swapped`` (whether width/depth were swapped to align the prediction with the truth).
    """
    p, t = _as_array(pred), _as_array(truth)
    if p.shape != t.shape:
        raise ValueError(f"pred and truth differ in shape: {p.shape} vs {t.shape}")
    center_error = np.linalg.norm(p[:, :3] - t[:, :3], axis=1)
    dyaw = p[:, 6] - t[:, 6]
    err180 = np.abs((dyaw + np.pi / 2) % np.pi - np.pi / 2)  # axes equal up to a half turn
    if symmetric:
        swapped = err180 > np.pi / 4  # a quarter turn (with width/depth swapped) aligns better
        yaw_err = np.where(swapped, np.pi / 2 - err180, err180)
    else:
        swapped = np.zeros(len(p), dtype=bool)
        yaw_err = err180
    w = np.where(swapped, p[:, 4], p[:, 3])
    d = np.where(swapped, p[:, 3], p[:, 4])
    sizes_p = np.stack([w, d, p[:, 5]], axis=1)
    size_error = np.mean(np.abs(sizes_p - t[:, 3:6]) / np.maximum(t[:, 3:6], 1e-6), axis=1)
    return pl.DataFrame(
        {
            "center_error": center_error,
            "size_error": size_error,
            "yaw_error_deg": np.rad2deg(yaw_err),
            "swapped": swapped,
        }
    )


def angle_error_deg(a: np.ndarray | float, b: np.ndarray | float) -> np.ndarray:
    """Absolute difference of two directions (radians) in degrees, in [0, 180]; NaN propagates."""
    d = (np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64) + np.pi) % (2 * np.pi) - np.pi
    return np.rad2deg(np.abs(d))
