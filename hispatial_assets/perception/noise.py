"""Degrade a ground-truth point map the way a depth source errs: two models that err differently.

Used to measure the geometry stage (boxes, gravity) under realistic inputs without a real model, on
two noise models so that nothing downstream is tuned to one of them.

``degrade_point_map``, a monocular metric-depth estimator:

1. **Scale**: one global factor per image, ``exp(N(0, scale_sigma))`` — monocular metric depth is
   mostly right up to a per-image scale.
2. **Depth-proportional noise** along each pixel's ray: ``z * (1 + N(0, noise_rel))``. Points move
   along their rays (xyz is scaled), so the pixel still projects where it did.
3. **Flying pixels** at depth edges: a pixel next to a neighbour more than ``edge_rel`` farther or
   nearer is, with probability ``flying_fraction``, moved to a depth strictly between its own and
   that neighbour's (``z + u (z_nb - z)``, ``u ~ U(0.1, 0.9)``) — the smeared edges estimators make.
4. **Holes**: ``hole_fraction`` of the valid pixels become invalid, in smooth blobs (thresholded
   low-pass noise), like missing returns or masked-out sky/specularities.

``stereo_point_map``, a stereo / structured-light sensor (a left-reference rectified pair):

1. **Disparity noise**: ``d = f B / z`` gets spatially correlated Gaussian noise of ``disparity_sigma_px``
   (block matching averages over a window, so neighbouring errors agree), then is **quantized** to
   ``subpixel`` steps. The depth error therefore grows as ``z^2`` (``sigma_z = z^2 sigma_d / (f B)``)
   and comes in staircases, not independent per pixel.
2. **Occlusion shadows**: background pixels that the right camera cannot see (left of a nearer
   surface, as wide as the disparity jump) have no match and are invalid.
3. **Edge dropouts**: within ``edge_px`` of a depth edge a pixel fails the left-right check with
   probability ``edge_dropout``.
4. **Dark surfaces**: too little signal to match. Where the luminance is under ``dark_level`` a pixel
   drops out with probability rising linearly to ``dark_dropout`` at black, in speckle blobs.
5. **Range**: disparities under ``min_disparity_px`` (far away) are invalid.

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



def occlusion_shadow(disparity: np.ndarray, valid: np.ndarray, *, tolerance_px: float = 0.5) -> np.ndarray:
    """(H, W) bool: pixels of the left image that the right camera does not see (a nearer surface hides them).

    Pixel ``x`` lands at ``x - d(x)`` in the right image; any pixel further right that lands at or left
    of that spot is nearer and covers it. One running minimum per row, from the right.
    """
    h, w = disparity.shape
    landing = np.arange(w, dtype=np.float32)[None, :] - np.where(valid, disparity, 0.0).astype(np.float32)
    from_right = np.minimum.accumulate(landing[:, ::-1], axis=1)[:, ::-1]
    further_right = np.concatenate([from_right[:, 1:], np.full((h, 1), np.inf, dtype=np.float32)], axis=1)
    return valid & (further_right < landing - tolerance_px)


def correlated_noise(shape: tuple[int, int], rng: np.random.Generator, correlation_px: float) -> np.ndarray:
    """Unit-variance Gaussian noise smoothed over ``correlation_px`` (0: white)."""
    white = rng.standard_normal(shape, dtype=np.float32)
    if correlation_px <= 0:
        return white
    field = ndimage.gaussian_filter(white, sigma=correlation_px, mode="reflect")
    return field / max(float(field.std()), 1e-9)


def luminance(rgb: np.ndarray) -> np.ndarray:
    """(H, W) relative luminance in [0, 1] of an (H, W, 3) uint8 or [0, 1] float image (Rec. 709 weights)."""
    x = np.asarray(rgb, dtype=np.float32)
    if np.issubdtype(np.asarray(rgb).dtype, np.integer):
        x = x / 255.0
    return x @ np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)


def stereo_point_map(
    point_map: PointMap,
    *,
    seed: int,
    rgb: np.ndarray | None = None,
    baseline_m: float = 0.12,
    disparity_sigma_px: float = 0.2,
    correlation_px: float = 1.5,
    subpixel: float = 0.125,
    edge_px: int = 1,
    edge_rel: float = 0.1,
    edge_dropout: float = 0.5,
    dark_level: float = 0.15,
    dark_dropout: float = 0.9,
    min_disparity_px: float = 1.0,
) -> PointMap:
    """A sensor-like copy of ``point_map`` (see the module docstring for the error model).

    ``rgb`` (H, W, 3) drives the dark-surface dropouts; without it there are none. The focal length
    comes from the intrinsics, so ``f B`` and with it the noise at a given depth follow the camera.
    """
    rng = np.random.default_rng(seed)
    valid = np.asarray(point_map.mask, dtype=bool)
    xyz = np.asarray(point_map.xyz, dtype=np.float32)
    z = np.where(valid, xyz[..., 2], 0.0).astype(np.float32)
    valid &= z > 0
    h, w = z.shape
    fb = float(np.asarray(point_map.intrinsics)[0, 0]) * baseline_m
    with np.errstate(divide="ignore"):
        disparity = np.where(valid, fb / np.where(valid, z, 1.0), 0.0).astype(np.float32)

    dropped = occlusion_shadow(disparity, valid)
    _, edge = depth_edge_neighbour(z, valid, edge_rel)
    near_edge = ndimage.binary_dilation(edge, iterations=edge_px) if edge_px > 0 else edge
    dropped |= near_edge & (rng.random((h, w)) < edge_dropout)
    if rgb is not None:
        lum = luminance(rgb)
        if lum.shape != (h, w):
            raise ValueError(f"rgb is {lum.shape[1]}x{lum.shape[0]}, the point map {w}x{h}")
        p_drop = dark_dropout * np.clip((dark_level - lum) / dark_level, 0.0, 1.0)
        speckle = ndimage.gaussian_filter(rng.random((h, w), dtype=np.float32), sigma=1.0, mode="reflect")
        rank = np.empty(h * w, dtype=np.float32)  # the speckle field's ranks: uniform on [0, 1), blobby
        rank[np.argsort(speckle, axis=None)] = np.arange(h * w, dtype=np.float32) / (h * w)
        dropped |= valid & (rank.reshape(h, w) < p_drop)

    noisy = disparity + np.float32(disparity_sigma_px) * correlated_noise((h, w), rng, correlation_px)
    if subpixel > 0:
        noisy = np.round(noisy / subpixel) * np.float32(subpixel)
    mask = valid & ~dropped & (noisy >= min_disparity_px)
    factor = np.where(mask, disparity / np.where(mask, noisy, 1.0), 0.0).astype(np.float32)  # z' / z
    out = np.where(mask[..., None], xyz * factor[..., None], 0.0).astype(np.float32)
    return PointMap(xyz=out, mask=mask, intrinsics=np.asarray(point_map.intrinsics, dtype=np.float32))
