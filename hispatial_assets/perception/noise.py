"""Degrade a ground-truth point map the way a monocular metric-depth estimator errs.

Used to measure the geometry stage (boxes, gravity) under realistic inputs without a real model:

1. **Scale**: one global factor per image, ``exp(N(0, scale_sigma))`` — monocular metric depth is
   mostly right up to a per-image scale.
2. **Depth-proportional noise** along each pixel's ray: ``z * (1 + N(0, noise_rel))``. Points move
   along their rays (xyz is scaled), so the pixel still projects where it did.
3. **Flying pixels** at depth edges: a pixel next to a neighbour more than ``edge_rel`` farther or
   nearer is, with probability ``flying_fraction``, moved to a depth strictly between its own and
   that neighbour's (``z + u (z_nb - z)``, ``u ~ U(0.1, 0.9)``) — the smeared edges estimators make.
4. **Holes**: ``hole_fraction`` of the valid pixels become invalid, in smooth blobs (thresholded
   low-pass noise), like missing returns or masked-out sky/specularities.

Deterministic from ``seed``; all steps vectorized over the image.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from hispatial_assets.geometry.camera import PointMap


def depth_edge_neighbour(depth: np.ndarray, valid: np.ndarray, edge_rel: float) -> tuple[np.ndarray, np.ndarray]:
    """Per pixel, the depth of the 4-neighbour with the largest relative jump, and whether it exceeds ``edge_rel``.

    Returns ``(neighbour_depth, is_edge)``; ``neighbour_depth`` is meaningful where ``is_edge``.
    """
    z = np.where(valid, depth, np.nan).astype(np.float32)
    pad = np.pad(z, 1, mode="constant", constant_values=np.nan)
    h, w = z.shape
    shifts = np.stack([pad[0:h, 1:w + 1], pad[2:h + 2, 1:w + 1], pad[1:h + 1, 0:w], pad[1:h + 1, 2:w + 2]])
    with np.errstate(invalid="ignore"):
        jump = np.abs(shifts - z[None]) / np.maximum(np.fmin(shifts, z[None]), 1e-6)
    jump = np.where(np.isfinite(jump), jump, -1.0)
    k = np.argmax(jump, axis=0)
    best = np.take_along_axis(jump, k[None], axis=0)[0]
    nb = np.take_along_axis(shifts, k[None], axis=0)[0]
    return nb, valid & (best > edge_rel)


def blob_mask(
    shape: tuple[int, int], fraction: float, rng: np.random.Generator, *, blob_px: float = 6.0, within: np.ndarray | None = None
) -> np.ndarray:
    """A (H, W) bool mask covering ``fraction`` of the image (or of ``within``) in smooth blobs of ~``blob_px`` radius."""
    if fraction <= 0:
        return np.zeros(shape, dtype=bool)
    field = ndimage.gaussian_filter(rng.standard_normal(shape).astype(np.float32), sigma=blob_px, mode="wrap")
    region = field if within is None or not within.any() else field[within]
    return field > np.quantile(region, 1.0 - fraction)


def degrade_point_map(
    point_map: PointMap,
    *,
    seed: int,
    scale_sigma: float = 0.05,
    noise_rel: float = 0.01,
    flying_fraction: float = 0.5,
    edge_rel: float = 0.1,
    hole_fraction: float = 0.05,
    hole_blob_px: float = 6.0,
) -> PointMap:
    """A degraded copy of ``point_map`` (see the module docstring for the error model).

    ``flying_fraction`` is the probability that a depth-edge pixel (jump > ``edge_rel`` to a
    4-neighbour) becomes a flying pixel; ``hole_fraction`` is relative to the valid pixels.
    """
    rng = np.random.default_rng(seed)
    valid = np.asarray(point_map.mask, dtype=bool)
    xyz = np.asarray(point_map.xyz, dtype=np.float32)
    z = np.where(valid, xyz[..., 2], 0.0).astype(np.float32)
    h, w = z.shape

    scale = float(np.exp(rng.normal(0.0, scale_sigma)))
    factor = np.float32(scale) * (1.0 + np.float32(noise_rel) * rng.standard_normal((h, w), dtype=np.float32))

    nb, edge = depth_edge_neighbour(z, valid, edge_rel)
    flying = edge & (rng.random((h, w)) < flying_fraction)
    u = rng.uniform(0.1, 0.9, size=(h, w)).astype(np.float32)
    with np.errstate(invalid="ignore", divide="ignore"):
        fly_ratio = np.where(flying, (z + u * (nb - z)) / np.maximum(z, 1e-6), 1.0)
    factor = factor * np.where(flying, fly_ratio, 1.0).astype(np.float32)

    holes = blob_mask((h, w), hole_fraction, rng, blob_px=hole_blob_px, within=valid)
    mask = valid & ~holes & (factor > 0)
    out = np.where(mask[..., None], xyz * factor[..., None], 0.0).astype(np.float32)
    return PointMap(xyz=out, mask=mask, intrinsics=np.asarray(point_map.intrinsics, dtype=np.float32))

