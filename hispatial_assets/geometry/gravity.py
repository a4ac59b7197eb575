"""Gravity from the point map: the floor plane by vectorized RANSAC, or a level-camera fallback.

``floor_ransac`` finds the dominant *floor* — a plane whose normal is within ``max_tilt_deg`` of the
prior up (camera -y, i.e. a roughly level camera), that lies below the camera, with the most inliers —
and returns the gravity frame whose z axis is that normal. Walls are rejected by the tilt prior,
furniture tops usually by their smaller support; when a parallel layer *below* the winning plane has
real support (a table top won), that lower layer is taken as the floor. Hypotheses are scored all at
once as one (points x hypotheses) residual matrix on a strided subsample of the point map, so the
whole fit takes a few milliseconds. Triplets are drawn mostly from nearby grid cells (local triplets
land on one surface far more often than random ones) plus some global ones.

When no floor is visible (close-ups, outdoor without ground, too much tilt), it falls back to
``camera_up``: zero roll and pitch, ``floor_height`` None, and ``FloorFit.found`` False.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hispatial_assets.geometry.camera import PointMap
from hispatial_assets.geometry.frames import CAMERA_UP_LEVEL, Gravity, gravity_from_up


@dataclass(frozen=True)
class FloorFit:
    """The result of ``floor_ransac``: the gravity estimate and how it was obtained."""

    gravity: Gravity
    found: bool  # a floor plane was found (gravity.floor_height is set)
    source: str = "camera_up"  # "floor" | "horizontal" (no floor; other horizontal surfaces) | "camera_up" (fallback)
    normal: np.ndarray | None = None  # floor normal (up) in camera coordinates
    camera_height: float | None = None  # camera height above the floor, meters
    inlier_fraction: float = 0.0  # of the valid subsampled points
    n_inliers: int = 0


def camera_up(point_map: PointMap | None = None) -> Gravity:
    """Gravity for a level camera (zero roll and pitch); no floor height. The fallback estimate."""
    return Gravity(rotation=gravity_from_up(CAMERA_UP_LEVEL), floor_height=None)


def _grid_points(point_map: PointMap, max_points: int) -> tuple[np.ndarray, np.ndarray]:
    """Strided subsample keeping the image grid: (gh, gw, 3) float64 points and (gh, gw) validity."""
    h, w = point_map.shape
    stride = max(1, int(np.floor(np.sqrt(h * w / max_points))))
    off = stride // 2
    pts = np.asarray(point_map.xyz[off::stride, off::stride], dtype=np.float64)
    valid = np.asarray(point_map.mask[off::stride, off::stride], dtype=bool) & np.isfinite(pts).all(axis=-1)
    valid &= pts[..., 2] > 0
    return pts, valid


def _grid_normals(grid: np.ndarray, valid: np.ndarray, step: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Unit surface normals per grid point from differences of neighbours up to ``step`` cells away.

    Each side uses the farthest valid neighbour (``step``, else 1 cell, else the point itself), so
    normals exist up to the image border and next to holes; a long baseline tolerates depth noise.
    """
    gh, gw = valid.shape
    p = np.pad(np.where(valid[..., None], grid, np.nan), ((step, step), (step, step), (0, 0)), constant_values=np.nan)
    center = p[step:gh + step, step:gw + step]

    def side(dy: int, dx: int) -> np.ndarray:
        out = center.copy()
        for k in range(1, step + 1):
            nb = p[step + k * dy:gh + step + k * dy, step + k * dx:gw + step + k * dx]
            ok = np.isfinite(nb[..., 0])
            out = np.where(ok[..., None], nb, out)
        return out

    dx = side(0, 1) - side(0, -1)
    dy = side(1, 0) - side(-1, 0)
    n = np.cross(dx, dy)
    norm = np.linalg.norm(n, axis=-1)
    spread = np.linalg.norm(dx, axis=-1) * np.linalg.norm(dy, axis=-1)
    ok = valid & np.isfinite(norm) & (norm > 0.2 * spread) & (spread > 0)
    n = np.where(ok[..., None], n / np.where(ok, norm, 1.0)[..., None], 0.0)
    return n, ok


def _sample_triplets(
    anchors_ok: np.ndarray, valid: np.ndarray, n: int, radius: int, local_share: float, rng: np.random.Generator
) -> np.ndarray:
    """(K, 3) flat indices of valid grid points: mostly local triplets around random anchors, some global."""
    gh, gw = valid.shape
    flat = np.flatnonzero(anchors_ok)
    n_local = int(round(n * local_share))
    anchors = rng.choice(flat, size=n_local * 2)
    ay, ax = np.divmod(anchors, gw)
    offs = rng.integers(-radius, radius + 1, size=(n_local * 2, 2, 2))
    ys = np.clip(ay[:, None] + offs[..., 0], 0, gh - 1)
    xs = np.clip(ax[:, None] + offs[..., 1], 0, gw - 1)
    others = ys * gw + xs
    local = np.concatenate([anchors[:, None], others], axis=1)
    local = local[valid.ravel()[others].all(axis=1)][:n_local]
    glob = rng.choice(flat, size=(n - len(local), 3))
    return np.concatenate([local, glob], axis=0)


def _weighted_plane(points: np.ndarray, weights: np.ndarray, up_hint: np.ndarray) -> tuple[np.ndarray, float]:
    """Weighted least-squares plane (unit normal oriented along ``up_hint``, offset d: n.p + d = 0)."""
    wsum = weights.sum()
    c = (points * weights[:, None]).sum(axis=0) / wsum
    q = (points - c) * np.sqrt(weights)[:, None]
    _, _, vt = np.linalg.svd(q.T @ q)
    n = vt[-1]
    if n @ up_hint < 0:
        n = -n
    return n, float(-n @ c)


def floor_ransac(
    point_map: PointMap,
    *,
    seed: int = 0,
    prior_up: np.ndarray | None = None,
    max_tilt_deg: float = 35.0,
    max_points: int = 3000,
    n_hypotheses: int = 192,
    local_share: float = 0.8,
    layer_bin: float = 0.04,
    inlier_abs: float = 0.015,
    inlier_rel: float = 0.01,
    normal_tol_deg: float = 25.0,
    min_camera_height: float = 0.2,
    min_inlier_fraction: float = 0.03,
    min_inliers: int = 30,
    floor_layer_share: float = 0.2,
) -> FloorFit:
    """Fit the floor plane of a camera-frame point map; ``found`` False means the camera_up fallback.

    1. Hypotheses: plane normals of point triplets (mostly local, anchored on points whose local
       normal is within ``max_tilt_deg`` of ``prior_up``, default camera -y), kept when within
       ``max_tilt_deg`` of the prior.
    2. Score, all hypotheses at once: every horizontal surface — floor, table and seat tops, even the
       ceiling — is perpendicular to gravity, so under the right normal the heights ``n . p`` of the
       points whose local normal agrees (within ``normal_tol_deg``) collapse into a few thin layers.
       The score is the concentration sum over height bins of count^2 (two bin offsets). This stays
       right when the floor is only a sliver of the image, and tilted planes cutting across a
       floor-wall corner or several box tops never win.
    3. Refine: the normal by least squares over all supported layers at once (each centred on its
       own mean), weights 1 / threshold^2 with threshold ``inlier_abs + inlier_rel * z`` (estimated
       depth errs in proportion to distance); twice.
    4. Floor: the lowest layer below the camera (by at least ``min_camera_height``) holding at least
       ``floor_layer_share`` of the largest layer below the camera; the floor height is its mean.

    Outcomes (``FloorFit.source``): "floor" — gravity and floor height; "horizontal" — horizontal
    surfaces (a ceiling, table tops) fix gravity but no floor is seen, ``floor_height`` None;
    "camera_up" — fewer than ``min_inlier_fraction`` of the points lie on horizontal layers, so the
    level-camera fallback is returned. ``found`` is True only for "floor".
    """
    rng = np.random.default_rng(seed)
    up0 = np.asarray(CAMERA_UP_LEVEL if prior_up is None else prior_up, dtype=np.float64)
    up0 = up0 / np.linalg.norm(up0)
    fallback = FloorFit(gravity=camera_up(point_map), found=False)
    cos_tilt = np.cos(np.deg2rad(max_tilt_deg))
    cos_n = np.cos(np.deg2rad(normal_tol_deg))

    grid, valid = _grid_points(point_map, max_points)
    gn, gok = _grid_normals(grid, valid)
    horizontal_ish = gok & (np.abs(gn @ up0) >= cos_tilt)
    m = int(valid.sum())
    if m < max(min_inliers, 3) or horizontal_ish.sum() < 3:
        return fallback
    radius = max(2, min(grid.shape[:2]) // 6)
    tri = _sample_triplets(horizontal_ish, valid, n_hypotheses, radius, local_share, rng)
    flat_pts = grid.reshape(-1, 3)
    p0, p1, p2 = flat_pts[tri[:, 0]], flat_pts[tri[:, 1]], flat_pts[tri[:, 2]]
    a, b = p1 - p0, p2 - p0
    normals = np.cross(a, b)
    norm = np.linalg.norm(normals, axis=1)
    spread = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    ok = norm > 0.1 * np.maximum(spread, 1e-12)  # reject near-collinear triplets (angle < ~6 deg)
    normals = normals / np.maximum(norm, 1e-12)[:, None]
    normals *= np.where(normals @ up0 < 0, -1.0, 1.0)[:, None]
    ok &= normals @ up0 >= cos_tilt
    if not ok.any():
        return fallback
    normals = normals[ok]

    sel = valid.ravel()
    pts, pn, has_n = flat_pts[sel], gn.reshape(-1, 3)[sel], gok.ravel()[sel]
    thr = inlier_abs + inlier_rel * pts[:, 2]
    # concentration score: points with agreeing local normals, binned by height, sum of count^2
    agree = has_n[:, None] & (np.abs(pn @ normals.T) >= cos_n)  # (M, K)
    heights = pts @ normals.T
    k_idx = np.broadcast_to(np.arange(len(normals)), heights.shape)[agree]
    h_sel = heights[agree]
    score = np.zeros(len(normals))
    for shift in (0.0, 0.5):
        q = np.floor(h_sel / layer_bin + shift).astype(np.int64)
        q -= q.min() if len(q) else 0
        nb = int(q.max()) + 1 if len(q) else 1
        counts = np.bincount(k_idx * nb + q, minlength=len(normals) * nb).reshape(len(normals), nb).astype(np.float64)
        score += (counts**2).sum(axis=1)
    n = normals[int(np.argmax(score))]

    min_layer = min_inliers
    for _ in range(2):
        layers, inl = _layers(pts @ n, thr, has_n & (np.abs(pn @ n) >= cos_n), layer_bin, min_layer)
        if not layers:
            return fallback
        n = _common_normal(pts, inl, layers, 1.0 / thr**2, up0)
    h = pts @ n
    agree_n = has_n & (np.abs(pn @ n) >= cos_n)
    layers, inl = _layers(h, thr, agree_n, layer_bin, min_layer)
    if not layers or n @ up0 < cos_tilt or np.count_nonzero(inl >= 0) < min_inlier_fraction * m:
        return fallback
    sizes = np.bincount(inl[inl >= 0], minlength=len(layers))
    below = [j for j, c in enumerate(layers) if c <= -min_camera_height]
    big_below = max((sizes[j] for j in below), default=0)
    floors = [j for j in below if sizes[j] >= floor_layer_share * big_below]
    if not floors:  # horizontal surfaces (ceiling, table tops) give gravity, but no floor is seen
        return FloorFit(gravity=Gravity(rotation=gravity_from_up(n), floor_height=None), found=False,
                        source="horizontal", normal=n)
    floor = min(floors, key=lambda j: layers[j])
    on_floor = inl == floor
    n_floor, _ = _weighted_plane(pts[on_floor], 1.0 / thr[on_floor] ** 2, n)
    if np.degrees(np.arccos(np.clip(n_floor @ n, -1.0, 1.0))) < 2.0 and sizes.sum() < 2 * sizes[floor]:
        n = n_floor  # the floor dominates the horizontal support: its own fit is the cleanest
    camera_height = float(-(pts[on_floor] @ n).mean())
    n_inl = int(on_floor.sum())
    return FloorFit(
        gravity=Gravity(rotation=gravity_from_up(n), floor_height=-camera_height),
        found=True,
        source="floor",
        normal=n,
        camera_height=camera_height,
        inlier_fraction=n_inl / m,
        n_inliers=n_inl,
    )


def _layers(
    h: np.ndarray, thr: np.ndarray, agree: np.ndarray, bin_m: float, min_count: int
) -> tuple[list[float], np.ndarray]:
    """Supported height layers: peaks of the height histogram of agreeing points (>= ``min_count``).

    Returns the layer heights (ascending) and per point the index of the layer it lies on (-1: none).
    """
    hs = h[agree]
    assign = np.full(len(h), -1, dtype=np.int64)
    if len(hs) < min_count:
        return [], assign
    lo = hs.min()
    q = np.floor((hs - lo) / bin_m).astype(np.int64)
    counts = np.bincount(q)
    smooth = counts + np.concatenate([[0], counts[:-1]]) + np.concatenate([counts[1:], [0]])
    peak = (smooth >= min_count) & (smooth >= np.concatenate([[0], smooth[:-1]])) & (smooth > np.concatenate([smooth[1:], [0]]))
    layers = []
    for b in np.flatnonzero(peak):
        near = np.abs(hs - (lo + (b + 0.5) * bin_m)) < 1.5 * bin_m
        if near.sum() >= min_count:
            layers.append(float(np.median(hs[near])))
    layers.sort()
    merged: list[float] = []
    for c in layers:  # plateaus can yield two peaks for one layer
        if merged and c - merged[-1] < 2 * bin_m:
            continue
        merged.append(c)
    layers = merged
    if not layers:
        return [], assign
    centers = np.asarray(layers)
    dist = np.abs(h[:, None] - centers[None, :])
    j = np.argmin(dist, axis=1)
    on = agree & (dist[np.arange(len(h)), j] < thr)
    assign[on] = j[on]
    return layers, assign


def _common_normal(pts: np.ndarray, assign: np.ndarray, layers: list[float], weights: np.ndarray, up_hint: np.ndarray) -> np.ndarray:
    """One normal for several parallel planes: weighted SVD of the points, each centred on its layer."""
    on = assign >= 0
    p, w, a = pts[on], weights[on], assign[on]
    wsum = np.bincount(a, weights=w, minlength=len(layers))
    means = np.stack([np.bincount(a, weights=w * p[:, i], minlength=len(layers)) for i in range(3)], axis=1)
    means /= np.maximum(wsum, 1e-12)[:, None]
    q = (p - means[a]) * np.sqrt(w)[:, None]
    _, _, vt = np.linalg.svd(q.T @ q)
    n = vt[-1]
    return n if n @ up_hint >= 0 else -n


def estimate_gravity(point_map: PointMap, *, seed: int = 0, **kwargs) -> Gravity:
    """``floor_ransac(...).gravity``: the floor estimate, or the camera_up fallback."""
    return floor_ransac(point_map, seed=seed, **kwargs).gravity
