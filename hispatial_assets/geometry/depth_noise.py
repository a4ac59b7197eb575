"""How noisy is a point map, measured from the point map itself — and which pixels do not fit.

Box fitting (``boxes.py``) corrects extents by the depth noise and drops pixels that no neighbour
predicts; neither may presume a noise model (a monocular estimator's i.i.d. error, a stereo
sensor's correlated, quantized one that grows as z^2). The tool is the second difference of inverse
depth, ``w(x-L) - 2 w(x) + w(x+L)``: inverse depth is affine in pixel coordinates on any plane, so on
surfaces it is noise alone, and its median absolute value gives the noise scale, per object or per
depth band of the image.
"""

from __future__ import annotations

import numpy as np

from hispatial_assets.geometry.camera import PointMap


def _second_differences(inv: np.ndarray, lag: int, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """Relative second differences of inverse depth (NaN = no pixel) at ``lag`` along ``axis`` (1: rows,
    0: columns), ``(w(x-L) - 2 w(x) + w(x+L)) / w(x)``, and the inverse depth at their centers (finite
    ones only)."""
    a = np.moveaxis(inv, axis, -1)
    L = lag
    if a.shape[-1] <= 2 * L:
        return np.zeros(0), np.zeros(0)
    center = a[..., L:-L]
    d = (a[..., : -2 * L] - 2 * center + a[..., 2 * L:]) / center
    ok = np.isfinite(d)
    return d[ok], center[ok]


def relative_depth_noise(z: np.ndarray, inside: np.ndarray, *, lag: int = 4, max_samples: int = 4000) -> float:
    """Robust relative depth noise of one surface patch: sigma(z) / z, from the data alone.

    Second differences of inverse depth at ``lag`` pixels vanish on any plane (inverse depth is affine
    in pixel coordinates there), so what is left is noise (variance 6 sigma^2 for noise uncorrelated
    at the lag) plus creases, edges and curvature, which the median ignores as long as they are the
    minority. The flatter of the two directions counts (a cylinder is flat along its axis, curved
    across it); each looks at every k-th row or column, about ``max_samples`` triplets. No noise shape
    is presumed beyond a finite spread; NaN with too few triplets.
    """
    inv = np.where(inside, 1.0 / np.where(inside, z, 1.0), np.nan)
    step = max(1, int(np.count_nonzero(inside) // max_samples))
    per_direction = []
    for axis, lines in ((1, inv[::step]), (0, inv[:, ::step])):
        d, _ = _second_differences(lines, lag, axis)
        if len(d) >= 10:
            per_direction.append(1.4826 * np.median(np.abs(d)) / np.sqrt(6.0))
    return float(min(per_direction)) if per_direction else float("nan")


def depth_noise_profile(point_map: PointMap, usable: np.ndarray, *, lag: int = 4, n_bins: int = 8,
                        row_step: int = 6) -> tuple[np.ndarray, np.ndarray]:
    """The image's relative depth noise by depth: (bin depths, sigma_z / z), from second differences as
    in ``relative_depth_noise`` over the usable pixels of every ``row_step``-th row and column. For
    objects too small to measure their own noise; the noise of most sensors grows with depth, so one
    number per image would not do."""
    z = np.asarray(point_map.xyz[..., 2], dtype=np.float64)
    inv = np.where(usable & (z > 0), 1.0 / np.where(z > 0, z, 1.0), np.nan)
    d_rows, at_rows = _second_differences(inv[::row_step], lag, 1)
    d_cols, at_cols = _second_differences(inv[:, ::row_step], lag, 0)
    d, depth = np.concatenate([d_rows, d_cols]), 1.0 / np.concatenate([at_rows, at_cols])
    if len(d) < 10 * n_bins:
        return np.zeros(0), np.zeros(0)
    order = np.argsort(depth)  # equal-count depth bins, then one median per bin
    bins = np.array_split(order, n_bins)
    sigma = np.array([1.4826 * np.median(np.abs(d[b])) / np.sqrt(6.0) for b in bins])
    centers = np.array([np.median(depth[b]) for b in bins])
    return centers, sigma


def noise_at(profile: tuple[np.ndarray, np.ndarray], depth: float) -> float:
    """``depth_noise_profile`` interpolated at ``depth`` (log-depth, clamped at the ends); NaN if empty."""
    centers, sigma = profile
    if len(centers) == 0 or not np.isfinite(depth) or depth <= 0:
        return float("nan")
    return float(np.interp(np.log(depth), np.log(centers), sigma))


class NoiseProfile:
    """An image's ``depth_noise_profile``, computed on first use (most images have no object too small
    to measure its own noise)."""

    def __init__(self, point_map: PointMap, usable: np.ndarray):
        self._args, self._profile = (point_map, usable), None

    def at(self, depth: float) -> float:
        if self._profile is None:
            self._profile = depth_noise_profile(*self._args)
        return noise_at(self._profile, depth)


def inconsistent_pixels(z: np.ndarray, inside: np.ndarray, tol_rel: float) -> np.ndarray:
    """(h, w) bool: ``inside`` pixels whose depth no neighbourhood inside the mask predicts within ``tol_rel``.

    Predictions (of inverse depth, affine on planes) come from inside pixels only: the mean of the
    two neighbours across, along rows and columns, and the linear extrapolation from two pixels on
    each of the four sides. Every surface pixel — in a face, on its edge or corner, on a one-pixel
    pole — has a side that continues its surface; a flying pixel or background bleed at the mask's
    edge has none. Pixels without any prediction are kept.
    """
    inv = np.where(inside, 1.0 / np.where(inside, z, 1.0), np.nan)
    h, w = inv.shape
    p = np.pad(inv, 2, constant_values=np.nan)

    def at(dy: int, dx: int) -> np.ndarray:
        return p[2 + dy:h + 2 + dy, 2 + dx:w + 2 + dx]

    preds = [0.5 * (at(0, -1) + at(0, 1)), 0.5 * (at(-1, 0) + at(1, 0))]
    preds += [2 * at(dy, dx) - at(2 * dy, 2 * dx) for dy, dx in ((0, 1), (0, -1), (1, 0), (-1, 0))]
    with np.errstate(invalid="ignore"):
        resid = np.stack([np.abs(q - inv) for q in preds])
        best = np.where(np.isfinite(resid), resid, np.inf).min(axis=0) / inv
    return inside & np.isfinite(best) & (best > tol_rel)
