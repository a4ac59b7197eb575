"""Gravity-aligned 3D boxes with yaw from an object's masked points (DESIGN §3).

``fit_boxes`` (point map + masks), per object:

1. drop flying pixels image-wide (``flying_pixels``: inverse depth between two surfaces at an edge),
   then the pixels no neighbourhood in the mask predicts within a few times the object's measured
   noise (``inconsistent_pixels``; ``relative_depth_noise``, or the image's ``depth_noise_profile``
   for objects too small to measure);
2. smooth inverse depth inside the mask over symmetric windows (``_smooth_ratio``: cuts per-pixel
   estimator noise ~5x, exact on planes), measure the noise left, subsample on a strided pixel grid
   (~``max_points``);
3. keep the large depth-continuous connected components on that grid (``grid_clusters``, the
   image-grid analogue of DBSCAN) and the small ones that stand within their footprint: stray edge
   points and bleed stay out, a chair leg or lamp pole that dropouts broke off stays in;
4. lift to the gravity frame; a round object (``priors.ROUND_LABELS``, or a near outline that is a
   circular arc: ``round_footprint``) is the square of its circle, sized from the exact angles of its
   silhouette (``round_box``); otherwise choose the yaw of the minimum-area footprint rectangle over
   candidate angles (convex-hull edge directions, as in rotating calipers, plus a grid and a fine
   sweep) scored on trimmed extents;
5. extents per axis from order statistics corrected for the measured noise (``axis_range``). Height
   runs from the lower one — or the floor, when the bottom is within ``floor_snap`` of it (the
   contact with the floor is often hidden) — to the upper one;
6. complete a hidden back from the class's typical size, or up to the wall behind furniture that
   stands against one (``complete_hidden_depth``, ``priors.SIZE_PRIORS``).

Robust by construction, not tuned to one noise model: depth errors move points *along their rays*,
so the angles of the silhouette are exact while depths are not; no noise shape is presumed — the
noise level is measured per object from the data (second differences that vanish on planes), and
extents are corrected by multiples of it, so that on exact depth (no noise) they are the exact
extremes. ``fit_boxes_to_points`` takes ready point sets and cleans them in 3D instead
(``denoise_points``: statistical outlier removal + largest cKDTree clusters).

Yaw convention without a front (no ``yaw_hint``): a box is symmetric under (yaw + 90°, swap width
and depth), so the fitter canonicalizes to **width >= depth** and yaw in [-90°, 90°). With a hint
(e.g. ``front_yaw - pi/2`` from an orientation model) the width axis is the hint's axis and no
canonicalization happens. ``metrics.box_errors`` compares modulo this symmetry.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy import ndimage
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import ConvexHull, QhullError, cKDTree

from hispatial_assets.geometry.camera import PointMap
from hispatial_assets.geometry.depth_noise import NoiseProfile, inconsistent_pixels, relative_depth_noise
from hispatial_assets.geometry.priors import ROUND_LABELS, SIZE_PRIORS, against_wall, canonical_label, size_prior

BOX_TABLE_SCHEMA = {
    "object_index": pl.Int32,
    "center_x": pl.Float64, "center_y": pl.Float64, "center_z": pl.Float64,
    "width": pl.Float64, "depth": pl.Float64, "height": pl.Float64,
    "yaw": pl.Float64,
    "n_points": pl.Int32,  # valid masked pixels used (after the flying-pixel filter), before subsampling
    "valid": pl.Boolean,  # False: too few points or a degenerate fit; box columns are NaN
}

# Fewer usable pixels than this and there is no box. Small: a far bottle is a few dozen pixels, and
# its box (angles from the silhouette, depth from the median) is still good to a few centimeters.
MIN_POINTS = 10

# Extents: order statistics at ``trim`` percent, then pulled in by multiples of the measured noise
# (sigma along the axis). A side of the object that faces the camera is a dense surface that depth
# noise spreads both ways, so its extreme sits about 2 sigma out (for any unimodal noise at these
# quantiles); other sides are edges where the density fades, and overshoot by about one.
FACING_NOISE_SIGMAS = 2.0
EDGE_NOISE_SIGMAS = 1.0
# The yaw only needs the bulk of the footprint: candidate rectangles are scored at this multiple of the trim.
YAW_SCORE_TRIM_FACTOR = 4.0
# Round objects: the median distance of the visible side lies about 0.7 (sphere) to 0.87 (cylinder)
# radii in front of the axis; a top seen from above pulls it back toward the axis, so it is uncertain
# by about ROUND_MEDIAN_UNCERTAINTY radii.
ROUND_MEDIAN_DEPTH_RADII = 0.8
ROUND_MEDIAN_UNCERTAINTY = 0.3


@dataclass(frozen=True)
class Box:
    """One gravity-frame box: center (3,), extents (width, depth, height), yaw (radians)."""

    center: np.ndarray
    extents: np.ndarray
    yaw: float
    n_points: int
    valid: bool = True

    @property
    def corners(self) -> np.ndarray:
        """(8, 3) corners in the gravity frame."""
        return box_corners(self.center, self.extents, self.yaw)


def box_corners(center: np.ndarray, extents: np.ndarray, yaw: float) -> np.ndarray:
    """(8, 3) corners of a gravity-aligned box with yaw."""
    c, s = np.cos(yaw), np.sin(yaw)
    u, v, z = np.array([c, s, 0.0]), np.array([-s, c, 0.0]), np.array([0.0, 0.0, 1.0])
    signs = np.array([[i, j, k] for i in (-1, 1) for j in (-1, 1) for k in (-1, 1)], dtype=np.float64)
    half = 0.5 * np.asarray(extents, dtype=np.float64)
    return np.asarray(center, dtype=np.float64) + (signs * half) @ np.stack([u, v, z])


# --------------------------------------------------------------------------- footprint rectangles


def min_area_rectangle(xy: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Exact minimum-area enclosing rectangle of 2D points (rotating calipers over convex-hull edges).

    Returns ``(angle, center (2,), size (2,))``: ``size[0]`` along (cos angle, sin angle),
    ``size[1]`` along the perpendicular; angle in [0, pi/2). All hull edges are scored at once.
    """
    xy = np.asarray(xy, dtype=np.float64)
    hull = _hull(xy)
    angles = _edge_angles(hull)
    lo, hi = _extents_at(hull, angles, None)
    area = np.prod(hi - lo, axis=1)
    k = int(np.argmin(area))
    return float(angles[k]), _uv_to_xy(0.5 * (lo[k] + hi[k]), angles[k]), hi[k] - lo[k]


def _hull(xy: np.ndarray) -> np.ndarray:
    if len(xy) < 3:
        return xy
    try:
        return xy[ConvexHull(xy).vertices]
    except QhullError:  # collinear or coincident points
        return xy


def _edge_angles(hull: np.ndarray) -> np.ndarray:
    if len(hull) < 2:
        return np.zeros(1)
    e = np.roll(hull, -1, axis=0) - hull
    e = e[np.linalg.norm(e, axis=1) > 1e-12]
    if len(e) == 0:
        return np.zeros(1)
    return np.unique(np.round(np.arctan2(e[:, 1], e[:, 0]) % (np.pi / 2), 9))


def _extents_at(xy: np.ndarray, angles: np.ndarray, trim: float | None) -> tuple[np.ndarray, np.ndarray]:
    """Per angle, (lo, hi) in the rotated (u, v) frame: (A, 2) each; trimmed percentiles when ``trim``."""
    c, s = np.cos(angles), np.sin(angles)
    u = xy[:, 0:1] * c + xy[:, 1:2] * s  # (M, A)
    v = -xy[:, 0:1] * s + xy[:, 1:2] * c
    if trim:
        q = _trimmed(np.stack([u, v], axis=-1), trim)  # (2, A, 2)
        return q[0], q[1]
    return np.stack([u.min(0), v.min(0)], axis=-1), np.stack([u.max(0), v.max(0)], axis=-1)


def _trimmed(values: np.ndarray, trim: float) -> np.ndarray:
    """Lower and upper ``trim``-percent order statistics along axis 0 (one partition call)."""
    m = len(values)
    k = int(np.floor(trim / 100.0 * (m - 1)))
    part = np.partition(values, [k, m - 1 - k], axis=0)
    return np.stack([part[k], part[m - 1 - k]])


def _uv_to_xy(uv: np.ndarray, angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([uv[0] * c - uv[1] * s, uv[0] * s + uv[1] * c])


def axis_range(values: np.ndarray, trim: float, sigma: float = 0.0) -> tuple[float, float]:
    """Robust (lo, hi) extent of one coordinate of an object's points, corrected for noise.

    ``values`` are coordinates along a gravity-frame axis (the camera at 0); ``sigma`` the noise along
    that axis. The order statistics at ``trim`` percent are pulled in by ``FACING_NOISE_SIGMAS *
    sigma`` on a side that faces the camera (the object's coordinates do not straddle the camera's
    there) and by ``EDGE_NOISE_SIGMAS * sigma`` elsewhere. With ``trim`` 0 and no noise these are the
    exact extremes; the result always contains the median.
    """
    v = np.asarray(values, dtype=np.float64)
    t = trim / 100.0
    q05, q95, med, lo, hi = np.quantile(v, [0.05, 0.95, 0.5, t, 1.0 - t])
    lo += (FACING_NOISE_SIGMAS if q05 > 0 else EDGE_NOISE_SIGMAS) * sigma  # q05 > 0: the camera is below all
    hi -= (FACING_NOISE_SIGMAS if q95 < 0 else EDGE_NOISE_SIGMAS) * sigma
    return min(float(lo), float(med)), max(float(hi), float(med))


def axis_noise(values: np.ndarray, noise_rel: float) -> float:
    """Depth noise along an axis: a point at ``p`` moves along its ray by ``noise_rel * |p|``, i.e. by
    ``noise_rel * |p . a|`` along the axis ``a`` (the camera at the origin)."""
    if not np.isfinite(noise_rel) or noise_rel <= 0:
        return 0.0
    return float(noise_rel * np.median(np.abs(values)))


def fit_circle(xy: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Algebraic (Kasa) least-squares circle: center (2,), radius, relative RMS residual."""
    c0 = xy.mean(axis=0)
    q = xy - c0
    A = np.column_stack([2 * q, np.ones(len(q))])
    b = (q**2).sum(axis=1)
    sol, *_ = np.linalg.lstsq(A, b, rcond=None)
    center = sol[:2]
    r = float(np.sqrt(max(sol[2] + center @ center, 1e-12)))
    rms = float(np.sqrt(np.mean((np.linalg.norm(q - center, axis=1) - r) ** 2)))
    return center + c0, r, rms / r


def round_footprint(
    xy: np.ndarray, *, n_bins: int = 16, max_rel_rms: float = 0.06, max_radius: float = 1.0, max_radius_span: float = 1.25,
) -> bool:
    """Whether the object's near outline is a circular arc (bottles, mugs, lamps, stools): a shape test
    for objects whose class says nothing.

    The near outline — per bin across the view, the point nearest to the camera (20% quantile per bin,
    robust to depth noise; tops seen from above do not disturb it) — is fit with a circle. Round when
    the fit is tight (relative RMS under ``max_rel_rms``; a box corner's V fits poorly), explains the
    outline clearly better than a line (RMS under half the line's: a flat face is not round), the
    center lies behind the outline (convex, seen from outside) and the radius is at most
    ``max_radius_span`` x the visible span across the view.
    """
    if len(xy) < 20:
        return False
    view = xy.mean(axis=0)
    vd = view / max(np.linalg.norm(view), 1e-9)
    across = np.array([-vd[1], vd[0]])
    u, v = xy @ across, xy @ vd
    lo, hi = np.quantile(u, [0.01, 0.99])
    span = hi - lo
    if span <= 0:
        return False
    b = np.clip(((u - lo) / span * n_bins).astype(np.int64), 0, n_bins - 1)
    counts = np.bincount(b, minlength=n_bins)
    order = np.lexsort((v, b))
    start = np.concatenate([[0], np.cumsum(counts)[:-1]])
    has = counts >= 2
    if has.sum() < 6:
        return False
    near_v = v[order[start[has] + (0.2 * (counts[has] - 1)).astype(np.int64)]]
    near_u = lo + (np.flatnonzero(has) + 0.5) * span / n_bins
    center, r, rel = fit_circle(np.column_stack([near_u, near_v]))
    line_rms = float(np.std(near_v - np.polyval(np.polyfit(near_u, near_v, 1), near_u)))
    tight = rel <= max_rel_rms and r <= max_radius and r <= max_radius_span * span and rel * r < 0.5 * line_rms
    return bool(tight and center[1] > near_v.mean())  # the center must lie behind the outline


def round_box(xy: np.ndarray, trim: float, noise_rel: float = 0.0) -> tuple[np.ndarray, float]:
    """(center (2,), radius) of a round object's footprint from its visible (near) side.

    The silhouette's horizontal angles are exact under depth noise (points move along their rays):
    the two tangent rays of a circle of radius r whose center is at distance D open a half angle
    ``a`` with ``sin a = r / D``. D comes from two estimates of the visible surface's distance: its
    noise-corrected near side (``axis_range``: D = near + r, exact on exact depth, uncertain by about
    half the noise) and its median (D = median + ``ROUND_MEDIAN_DEPTH_RADII`` r: free of noise,
    uncertain with the shape by ``ROUND_MEDIAN_UNCERTAINTY`` r), weighted by those uncertainties: the
    median decides for small objects in strong noise (a far bottle), the near side for the rest. The
    visible half alone would give half the true depth.
    """
    view = np.median(xy, axis=0)
    vd = view / max(np.linalg.norm(view), 1e-9)
    across = np.array([-vd[1], vd[0]])
    along = xy @ vd
    angle = np.arctan2(xy @ across, along)
    a_lo, a_hi = np.quantile(angle, [trim / 100.0, 1.0 - trim / 100.0])
    sin_half = min(np.sin(0.5 * (a_hi - a_lo)), 0.9)
    mid = 0.5 * (a_lo + a_hi)
    sigma = axis_noise(along, noise_rel)
    near, _ = axis_range(along, trim, sigma)
    d_near = max(near, 1e-3) / (1.0 - sin_half)
    d_median = float(np.median(along)) / (1.0 - ROUND_MEDIAN_DEPTH_RADII * sin_half)
    var_near, var_median = (0.5 * sigma) ** 2, (ROUND_MEDIAN_UNCERTAINTY * d_median * sin_half) ** 2
    distance = d_near if var_near == 0 else (d_near * var_median + d_median * var_near) / (var_near + var_median)
    center = distance * (np.cos(mid) * vd + np.sin(mid) * across)
    return center, float(distance * sin_half)


# --------------------------------------------------------------------------- outliers


def denoise_points(
    points: np.ndarray, *, k: int = 8, std_ratio: float = 3.0, eps_factor: float = 2.5, keep_ratio: float = 0.3
) -> np.ndarray:
    """Boolean keep-mask: statistical outlier removal, then the largest connected cluster(s).

    SOR drops points whose mean distance to their ``k`` nearest neighbours exceeds the median by
    ``std_ratio`` robust standard deviations (MAD). Clustering links points closer than
    ``eps_factor`` x the median k-NN distance and keeps every component with at least ``keep_ratio``
    of the largest one's points (an object split by an occluder keeps both parts).
    """
    n = len(points)
    keep = np.ones(n, dtype=bool)
    if n <= k + 1:
        return keep
    tree = cKDTree(points)
    dist, _ = tree.query(points, k=k + 1)
    mean_d = dist[:, 1:].mean(axis=1)
    med = np.median(mean_d)
    mad = 1.4826 * np.median(np.abs(mean_d - med))
    keep = mean_d <= med + std_ratio * max(mad, 0.1 * med)
    idx = np.flatnonzero(keep)
    if len(idx) <= k:
        return keep
    eps = eps_factor * med
    pairs = cKDTree(points[idx]).query_pairs(eps, output_type="ndarray")
    m = len(idx)
    graph = coo_matrix((np.ones(len(pairs), dtype=np.int8), (pairs[:, 0], pairs[:, 1])), shape=(m, m))
    _, labels = connected_components(graph, directed=False)
    sizes = np.bincount(labels)
    keep_labels = sizes >= keep_ratio * sizes.max()
    keep[:] = False
    keep[idx[keep_labels[labels]]] = True
    return keep


# --------------------------------------------------------------------------- one box


def fit_box(
    points: np.ndarray,
    *,
    yaw_hint: float | None = None,
    floor_height: float | None = None,
    trim: float = 0.5,
    floor_snap: float = 0.1,
    denoise: bool = True,
    n_grid_angles: int = 30,
    round_shape: bool | None = None,
    noise_rel: float = 0.0,
) -> Box:
    """Box of gravity-frame points (M, 3) seen from the origin; see the module docstring.

    ``trim`` is the percentile cut for extents (``axis_range``; yaw candidates are scored at
    ``YAW_SCORE_TRIM_FACTOR * trim``); 0 for exact depth. ``noise_rel`` is the relative depth noise
    (sigma_z / z) the extents are corrected for. ``round_shape``: True makes the footprint the square
    of a circle (``round_box``), False never, None decides from the outline (``round_footprint``).
    """
    pts = np.asarray(points, dtype=np.float64)
    pts = pts[np.isfinite(pts).all(axis=1)]
    n = len(pts)
    if n < 4:
        return _invalid_box(n)
    if denoise:
        pts = pts[denoise_points(pts)]
    xy = pts[:, :2]
    z_lo, z_hi = axis_range(pts[:, 2], trim, axis_noise(pts[:, 2], noise_rel))
    if floor_height is not None and np.isfinite(floor_height) and z_lo - floor_height < floor_snap:
        z_lo = min(z_lo, float(floor_height))
    hinted = yaw_hint is not None and np.isfinite(yaw_hint)
    if round_shape if round_shape is not None else round_footprint(xy):  # a square around the circle
        (cx, cy), r = round_box(xy, trim, noise_rel)
        return Box(center=np.array([cx, cy, 0.5 * (z_lo + z_hi)]), extents=np.array([2 * r, 2 * r, z_hi - z_lo]),
                   yaw=float(yaw_hint) if hinted else 0.0, n_points=n)
    yaw = float(yaw_hint) if hinted else _min_area_yaw(xy, YAW_SCORE_TRIM_FACTOR * trim, n_grid_angles)
    c, s_ = np.cos(yaw), np.sin(yaw)
    pu, pv = xy @ np.array([c, s_]), xy @ np.array([-s_, c])
    u_lo, u_hi = axis_range(pu, trim, axis_noise(pu, noise_rel))
    v_lo, v_hi = axis_range(pv, trim, axis_noise(pv, noise_rel))
    lo, hi = np.array([u_lo, v_lo]), np.array([u_hi, v_hi])
    cxy = _uv_to_xy(0.5 * (lo + hi), yaw)
    width, depth = hi - lo
    if not hinted:
        if width < depth:  # canonical: width >= depth
            width, depth = depth, width
            yaw += np.pi / 2
        yaw = (yaw + np.pi / 2) % np.pi - np.pi / 2
    center = np.array([cxy[0], cxy[1], 0.5 * (z_lo + z_hi)])
    return Box(center=center, extents=np.array([width, depth, z_hi - z_lo]), yaw=float(yaw), n_points=n)


def complete_hidden_depth(box: Box, prior: np.ndarray, *, behind: np.ndarray | None = None, visible_share: float = 0.6,
                          contact_share: float = 0.5, max_share: float = 1.25, yaw_fixed: bool = False) -> Box:
    """Amodal completion of a box's hidden back, from what lies behind it and the class's typical size.

    Of the two horizontal axes, the one closer to the line of sight is the one whose far side the
    camera cannot see; the measured extent across the view tells which of the prior's width and depth
    runs along it (the closer match), the other is the typical extent along the view. The near face
    stays; the far side moves back, never forward:

    - to the surface seen just behind the object (``behind``: gravity-frame points around the mask,
      ``background_behind``), when that surface lies within ``contact_share`` of the typical extent
      beyond the visible far side and the object would not grow past ``max_share`` of the typical
      extent — furniture stands against the wall behind it, and a sensor loses the far edge of a top
      face seen at a grazing angle first;
    - else to the typical extent, when less than ``visible_share`` of it is visible (a chair seen from
      behind shows its backrest).
    """
    if not box.valid:
        return box
    c, s_ = np.cos(box.yaw), np.sin(box.yaw)
    axes = np.array([[c, s_], [-s_, c]])  # width axis u, depth axis v
    view = box.center[:2] / max(np.linalg.norm(box.center[:2]), 1e-9)
    along = int(np.argmax(np.abs(axes @ view)))
    ext = np.array(box.extents, dtype=np.float64)
    across_extent = max(ext[1 - along], 1e-6)
    pw, pd = float(prior[0]), float(prior[1])
    typical = pd if abs(np.log(across_extent / pw)) <= abs(np.log(across_extent / pd)) else pw
    away = axes[along] * np.sign(axes[along] @ view)
    side = np.array([-away[1], away[0]])
    center = np.array(box.center, dtype=np.float64)
    visible = ext[along]
    depth = visible
    if behind is not None and len(behind):
        far = center[:2] @ away + 0.5 * visible
        lateral = behind[:, :2] @ side - center[:2] @ side
        beyond = behind[:, :2] @ away - far
        z_lo = center[2] - 0.5 * ext[2]
        beside = (np.abs(lateral) <= 0.75 * across_extent) & (behind[:, 2] >= z_lo + 0.1 * ext[2]) & (beyond > 0)
        if beside.sum() >= 5:
            gap = float(np.median(beyond[beside]))
            if gap <= contact_share * typical and visible + gap <= max_share * typical:
                depth = visible + gap
    if depth < visible_share * typical:
        depth = typical
    if depth <= visible:
        return box
    center[:2] += away * 0.5 * (depth - visible)  # the near face stays
    ext[along] = depth
    yaw = box.yaw
    if not yaw_fixed and ext[0] < ext[1]:  # keep the canonical width >= depth
        ext[:2] = ext[1], ext[0]
        yaw = (yaw + np.pi) % np.pi - np.pi / 2
    return Box(center=center, extents=ext, yaw=float(yaw), n_points=box.n_points, valid=box.valid)


def background_behind(point_map: PointMap, mask: np.ndarray, rotation: np.ndarray, *, ring_px: int = 4) -> np.ndarray:
    """(K, 3) gravity-frame points of the valid pixels in a ``ring_px`` ring around ``mask`` that lie
    farther from the camera than the object's median depth: the surfaces seen just behind it."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if len(rows) == 0:
        return np.zeros((0, 3))
    h, w = mask.shape
    y0, y1 = max(rows[0] - ring_px, 0), min(rows[-1] + ring_px + 1, h)
    x0, x1 = max(cols[0] - ring_px, 0), min(cols[-1] + ring_px + 1, w)
    m = mask[y0:y1, x0:x1]
    valid = np.asarray(point_map.mask[y0:y1, x0:x1], dtype=bool)
    z = np.asarray(point_map.xyz[y0:y1, x0:x1, 2], dtype=np.float64)
    inner = m & valid
    if not inner.any():
        return np.zeros((0, 3))
    ring = ndimage.binary_dilation(m, iterations=ring_px) & ~m & valid & (z > np.median(z[inner]))
    return np.asarray(point_map.xyz[y0:y1, x0:x1][ring], dtype=np.float64) @ np.asarray(rotation, dtype=np.float64).T


def _min_area_yaw(xy: np.ndarray, trim: float, n_grid_angles: int) -> float:
    """Yaw of the smallest trimmed footprint rectangle: hull-edge directions and a grid, then a fine sweep."""
    grid = np.arange(n_grid_angles) * (np.pi / 2 / n_grid_angles)
    angles = np.concatenate([_edge_angles(_hull(xy)), grid])
    coarse = xy[:: max(1, len(xy) // 400)]  # the coarse search needs only a few hundred points
    lo, hi = _extents_at(coarse, angles, trim)
    size = hi - lo
    yaw = float(angles[int(np.argmin(size[:, 0] * size[:, 1]))])
    # refine: a fine sweep around the winner (hull edges of noisy points are themselves noisy)
    fine = yaw + np.deg2rad(np.linspace(-2.0, 2.0, 9))  # includes the winner itself
    flo, fhi = _extents_at(xy, fine, trim)
    fsize = fhi - flo
    return float(fine[int(np.argmin(fsize[:, 0] * fsize[:, 1]))])


def _invalid_box(n: int) -> Box:
    return Box(center=np.full(3, np.nan), extents=np.full(3, np.nan), yaw=float("nan"), n_points=n, valid=False)


# --------------------------------------------------------------------------- many boxes


def flying_pixels(point_map: PointMap, *, rel: float = 0.08) -> np.ndarray:
    """(H, W) bool: pixels whose depth sits *between* two surfaces at a depth edge (smeared edges).

    Works on inverse depth, which is affine in pixel coordinates on any plane. A pixel is flying when,
    along rows or columns, (a) its inverse depth lies strictly between its two neighbours', at least
    ``rel`` (relative) away from both, and (b) neither side's linear extrapolation (from the two
    pixels on that side) predicts it within ``rel``. A true foreground edge pixel is predicted by its
    own side; a grazing plane by both; a 1-3 px thin structure is not "between" its neighbours.
    """
    valid = np.asarray(point_map.mask, dtype=bool)
    z = np.asarray(point_map.xyz[..., 2], dtype=np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(valid & (z > 0), 1.0 / z, np.nan).astype(np.float32)
    h, wd = w.shape
    p = np.pad(w, 2, mode="constant", constant_values=np.nan)
    c = p[2:h + 2, 2:wd + 2]
    tol = rel * c
    out = np.zeros((h, wd), dtype=bool)
    for dy, dx in ((0, 1), (1, 0)):
        m1 = p[2 - dy:h + 2 - dy, 2 - dx:wd + 2 - dx]
        m2 = p[2 - 2 * dy:h + 2 - 2 * dy, 2 - 2 * dx:wd + 2 - 2 * dx]
        p1 = p[2 + dy:h + 2 + dy, 2 + dx:wd + 2 + dx]
        p2 = p[2 + 2 * dy:h + 2 + 2 * dy, 2 + 2 * dx:wd + 2 + 2 * dx]
        with np.errstate(invalid="ignore"):
            between = ((c - m1) * (c - p1) < 0) & (np.abs(c - m1) > tol) & (np.abs(c - p1) > tol)
            left_ok = np.abs(c - (2 * m1 - m2)) <= tol
            right_ok = np.abs(c - (2 * p1 - p2)) <= tol
        out |= between & ~left_ok & ~right_ok
    return out & valid


def grid_clusters(points: np.ndarray, inside: np.ndarray, link: np.ndarray, *, keep_ratio: float = 0.3,
                  up: np.ndarray | None = None, margin: np.ndarray | None = None) -> np.ndarray:
    """Keep-mask over a pixel grid: depth-continuous connected components of ``inside`` pixels.

    ``points`` (h, w, 3), ``inside`` (h, w) bool, ``link`` (h, w) max 3D distance to link a pixel to
    its right/lower neighbour. Components with at least ``keep_ratio`` of the largest one's pixels
    are kept, and so is every smaller one that stands within the kept ones' footprint: inside the
    convex hull of their points seen along ``up`` (a unit vector in the points' frame), widened by
    ``margin`` (h, w; default ``link / 5``): a leg may stand out of the seat's outline by a few pixels,
    a flying pixel behind the object is farther. Dropouts on a thin chair leg or lamp pole, or the step from a shade to the pole it hides,
    cut the pixel graph, not the object; what lies beside or behind the object (flying pixels, bleed)
    stays out, and nothing joined can widen the footprint. The image-grid analogue of DBSCAN:
    neighbours come from the pixel grid, so no k-d tree.
    """
    h, w = inside.shape
    ids = np.full((h, w), -1, dtype=np.int64)
    n = int(inside.sum())
    ids[inside] = np.arange(n)
    if n == 0:
        return inside.copy()
    src, dst = [], []
    for a, b, lk in (
        ((slice(None), slice(0, -1)), (slice(None), slice(1, None)), link[:, :-1]),
        ((slice(0, -1), slice(None)), (slice(1, None), slice(None)), link[:-1, :]),
    ):
        e = inside[a] & inside[b] & (np.linalg.norm(points[a] - points[b], axis=-1) < lk)
        src.append(ids[a][e])
        dst.append(ids[b][e])
    src, dst = np.concatenate(src), np.concatenate(dst)
    graph = coo_matrix((np.ones(len(src), dtype=np.int8), (src, dst)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    sizes = np.bincount(labels)
    kept = (sizes >= keep_ratio * sizes.max())[labels]
    if up is not None and not kept.all():
        widen = link / 5.0 if margin is None else margin
        kept |= _within_footprint(points[inside], kept, widen[inside], up)
    keep = np.zeros((h, w), dtype=bool)
    keep[inside] = kept
    return keep


def _within_footprint(points: np.ndarray, kept: np.ndarray, margin: np.ndarray, up: np.ndarray) -> np.ndarray:
    """(M,) bool: points inside the convex hull of the ``kept`` points' horizontal projection (seen
    along ``up``), widened by their ``margin``."""
    e1 = np.cross(up, [1.0, 0.0, 0.0] if abs(up[0]) < 0.9 else [0.0, 1.0, 0.0])
    e1 /= np.linalg.norm(e1)
    plane = points @ np.stack([e1, np.cross(up, e1)]).T
    try:
        hull = ConvexHull(plane[kept])
    except (QhullError, ValueError):  # too few or collinear kept points: no footprint to stand in
        return np.zeros(len(points), dtype=bool)
    normals, offsets = hull.equations[:, :2], hull.equations[:, 2]  # inside: normals @ p + offsets <= 0
    return (plane @ normals.T + offsets[None, :]).max(axis=1) <= margin


def _smooth_ratio(z: np.ndarray, inside: np.ndarray, size: int, ring_one_sided: bool = False) -> np.ndarray:
    """z_smooth / z: inverse depth averaged over the largest symmetric odd window (<= ``size``) inside the mask.

    Only full windows are used — a symmetric average of an affine function is exact, a one-sided one
    is not (it would pull a grazing top face's far edge toward the camera); the outermost ring of
    the mask stays as it is (``ring_one_sided`` uses a normalized 3x3 mean there instead; measured
    worse on the benchmark).
    """
    inv = np.where(inside, 1.0 / np.where(inside, z, 1.0), 0.0)
    mask_f = inside.astype(np.float64)
    if ring_one_sided:  # the outer ring: a normalized 3x3 mean (noise halved, a sub-pixel bias)
        den = ndimage.uniform_filter(mask_f, size=3, mode="constant")
        out = np.where(inside, ndimage.uniform_filter(inv, size=3, mode="constant") / np.maximum(den, 1e-9), 1.0)
    else:
        out = np.where(inside, inv, 1.0)
    for k in range(3, size + 1, 2):
        full = ndimage.uniform_filter(mask_f, size=k, mode="constant") > 1.0 - 1e-6
        if not full.any():
            break
        out = np.where(full, ndimage.uniform_filter(inv, size=k, mode="constant"), out)
    return np.where(inside, 1.0 / (out * np.where(inside, z, 1.0)), 1.0)


@dataclass(frozen=True)
class ObjectPoints:
    """The cleaned points of one object and what the fit needs to know about them."""

    points: np.ndarray  # (M, 3) camera frame, smoothed, strided, stray clusters removed
    n_usable: int  # usable pixels in the mask, before subsampling
    noise_rel: float  # relative depth noise left after smoothing (sigma_z / z); NaN when unmeasurable


def object_points(
    point_map: PointMap, mask: np.ndarray, usable: np.ndarray, *, max_points: int = 1200, link_factor: float = 15.0,
    keep_ratio: float = 0.3, smooth_px: int = 5, noise_profile: NoiseProfile | None = None,
    consistency_sigmas: float = 3.0, min_tolerance: float = 0.005, up: np.ndarray | None = None,
) -> ObjectPoints:
    """Camera-frame points of one object: consistent, smoothed, strided subsample of its usable pixels,
    stray clusters removed.

    Pixels that no neighbourhood in the mask predicts within ``consistency_sigmas`` x the measured
    noise (at least ``min_tolerance``) are dropped (``inconsistent_pixels``: flying pixels and bleed
    at the mask's edge). Depth noise of estimated point maps is per pixel, so averaging inverse depth
    over a ``smooth_px`` window *within the mask* cuts it by about ``smooth_px`` while staying exact
    on planes (inverse depth is affine in pixel coordinates there) and never mixing in the background
    (``_smooth_ratio``); sensor noise that is correlated between neighbours stays, and
    ``relative_depth_noise`` measures what is left at the window's size (objects too small to
    measure fall back to the image's ``noise_profile`` at their depth). The stride keeps about
    ``max_points`` pixels on a regular grid (deterministic, no RNG); pixels link when closer in 3D
    than ``link_factor`` x the stride's footprint at their depth (a surface seen at up to ~86° from
    frontal, e.g. a table top seen from a little above it, stays connected; a jump to the background
    does not).
    """
    sel = mask & usable
    n_all = int(np.count_nonzero(sel))
    if n_all == 0:
        return ObjectPoints(np.zeros((0, 3)), 0, float("nan"))
    rows, cols = np.flatnonzero(sel.any(axis=1)), np.flatnonzero(sel.any(axis=0))
    stride = max(1, int(np.ceil(np.sqrt(n_all / max_points))))
    y0, y1, x0, x1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    crop = sel[y0:y1, x0:x1]
    xyz = np.asarray(point_map.xyz[y0:y1, x0:x1], dtype=np.float64)
    raw_noise = relative_depth_noise(xyz[..., 2], crop)
    if not np.isfinite(raw_noise) and noise_profile is not None:
        raw_noise = noise_profile.at(float(np.median(xyz[..., 2][crop])))
    if np.isfinite(raw_noise):
        crop = crop & ~inconsistent_pixels(xyz[..., 2], crop, max(consistency_sigmas * raw_noise, min_tolerance))
    noise = raw_noise
    if smooth_px and smooth_px > 1:
        xyz = xyz * _smooth_ratio(xyz[..., 2], crop, smooth_px)[..., None]
        smoothed_noise = relative_depth_noise(xyz[..., 2], crop, lag=smooth_px)
        if np.isfinite(smoothed_noise):  # smoothing cannot add noise, only smear creases on small objects
            noise = min(smoothed_noise, raw_noise) if np.isfinite(raw_noise) else smoothed_noise
    inside = crop[::stride, ::stride]
    pts = xyz[::stride, ::stride]
    fx = float(np.asarray(point_map.intrinsics)[0, 0])
    footprint = stride * np.maximum(pts[..., 2], 1e-3) / fx  # one grid step, in meters, at each pixel's depth
    keep = grid_clusters(pts, inside, link_factor * footprint, keep_ratio=keep_ratio, up=up, margin=3.0 * footprint)
    return ObjectPoints(pts[keep], n_all, noise)


def fit_boxes(
    point_map: PointMap,
    masks: np.ndarray,
    rotation: np.ndarray,
    *,
    labels: Sequence[str] | None = None,
    floor_height: float | None = None,
    min_points: int = MIN_POINTS,
    yaw_hint: np.ndarray | None = None,
    max_points: int = 1200,
    trim: float = 0.5,
    remove_flying: bool = True,
) -> pl.DataFrame:
    """One row per mask (``BOX_TABLE_SCHEMA``, row i = masks[i]): the gravity-frame box of its points.

    ``masks`` (N, H, W) bool; ``rotation`` camera-to-gravity (3, 3); ``labels`` (N,) class names,
    optional: round classes get round footprints and classes with a typical size get their hidden
    back completed (``priors``); ``floor_height`` (gravity z) lets bottoms near the floor snap to it;
    ``yaw_hint`` (N,) radians, NaN where unknown (e.g. ``front_yaw - pi/2``). Rows with fewer than
    ``min_points`` usable pixels are kept with ``valid`` False and NaN boxes, so row order matches
    the detections; filter on ``valid`` to drop them. Flying pixels are removed image-wide first
    (``flying_pixels``), then each object is subsampled to about ``max_points`` on a pixel grid and
    cleaned by ``grid_clusters``.
    """
    masks = np.asarray(masks, dtype=bool)
    if labels is not None and len(labels) != len(masks):
        raise ValueError(f"{len(labels)} labels for {len(masks)} masks")
    valid = np.asarray(point_map.mask, dtype=bool)
    usable = valid & ~flying_pixels(point_map) if remove_flying else valid
    R = np.asarray(rotation, dtype=np.float64)
    hints = np.full(len(masks), np.nan) if yaw_hint is None else np.asarray(yaw_hint, dtype=np.float64)
    profile = NoiseProfile(point_map, usable)
    boxes = []
    for i, m in enumerate(masks):
        obj = object_points(point_map, m, usable, max_points=max_points, noise_profile=profile, up=R[2])
        if obj.n_usable < min_points and remove_flying:  # thin objects: the flying filter ate them
            obj = object_points(point_map, m, valid, max_points=max_points, noise_profile=profile, up=R[2])
        if obj.n_usable < min_points or len(obj.points) < 4:
            boxes.append(_invalid_box(obj.n_usable))
            continue
        label = canonical_label(labels[i]) if labels is not None else ""
        shape = True if label in ROUND_LABELS else (False if label in SIZE_PRIORS else None)
        hint = hints[i] if np.isfinite(hints[i]) else None
        box = fit_box(obj.points @ R.T, yaw_hint=hint, floor_height=floor_height, trim=trim, denoise=False,
                      round_shape=shape, noise_rel=obj.noise_rel)
        prior = size_prior(label)
        if prior is not None:
            behind = background_behind(point_map, m, R) if against_wall(label) else None
            box = complete_hidden_depth(box, prior, behind=behind, yaw_fixed=hint is not None)
        boxes.append(Box(box.center, box.extents, box.yaw, obj.n_usable, bool(box.valid and np.isfinite(box.extents).all())))
    return boxes_frame(boxes)


def fit_boxes_to_points(
    points_per_object: list[np.ndarray],
    rotation: np.ndarray | None = None,
    *,
    floor_height: float | None = None,
    min_points: int = MIN_POINTS,
    yaw_hint: np.ndarray | None = None,
    max_points: int = 1000,
    trim: float = 2.0,
    seed: int = 0,
) -> pl.DataFrame:
    """Like ``fit_boxes`` for ready point sets: camera-frame (M_i, 3) arrays when ``rotation`` is
    given, gravity-frame ones when it is None. Without a pixel grid there is no noise estimate, so
    ``trim`` (percent) is the only guard against outliers."""
    rng = np.random.default_rng(seed)
    hints = np.full(len(points_per_object), np.nan) if yaw_hint is None else np.asarray(yaw_hint, dtype=np.float64)
    boxes = []
    for i, pts in enumerate(points_per_object):
        pts = np.asarray(pts, dtype=np.float64).reshape(-1, 3)
        n = len(pts)
        if n < min_points:
            boxes.append(_invalid_box(n))
            continue
        if n > max_points:
            pts = pts[np.sort(rng.choice(n, size=max_points, replace=False))]
        if rotation is not None:
            pts = pts @ np.asarray(rotation, dtype=np.float64).T
        box = fit_box(pts, yaw_hint=hints[i] if np.isfinite(hints[i]) else None, floor_height=floor_height, trim=trim)
        boxes.append(Box(box.center, box.extents, box.yaw, n, box.valid))
    return boxes_frame(boxes)


def axis_aligned_boxes(point_map: PointMap, masks: np.ndarray, rotation: np.ndarray) -> pl.DataFrame:
    """The plain baseline: per mask, the gravity-frame axis-aligned box (yaw 0) of all its valid points.

    No filtering, no trimming, no completion: what the fitter has to beat on size and must never
    lose to on center. Rows with no valid point are invalid (NaN box).
    """
    masks = np.asarray(masks, dtype=bool)
    valid = np.asarray(point_map.mask, dtype=bool)
    R = np.asarray(rotation, dtype=np.float64)
    boxes = []
    for m in masks:
        sel = m & valid
        pts = np.asarray(point_map.xyz[sel], dtype=np.float64) @ R.T
        if len(pts) == 0:
            boxes.append(_invalid_box(0))
            continue
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        boxes.append(Box(center=0.5 * (lo + hi), extents=hi - lo, yaw=0.0, n_points=len(pts)))
    return boxes_frame(boxes)


def boxes_frame(boxes: list[Box]) -> pl.DataFrame:
    """Boxes as a frame with ``BOX_TABLE_SCHEMA``."""
    if not boxes:
        return pl.DataFrame(schema=BOX_TABLE_SCHEMA)
    c = np.array([b.center for b in boxes], dtype=np.float64)
    e = np.array([b.extents for b in boxes], dtype=np.float64)
    return pl.DataFrame(
        {
            "object_index": np.arange(len(boxes), dtype=np.int32),
            "center_x": c[:, 0], "center_y": c[:, 1], "center_z": c[:, 2],
            "width": e[:, 0], "depth": e[:, 1], "height": e[:, 2],
            "yaw": np.array([b.yaw for b in boxes], dtype=np.float64),
            "n_points": np.array([b.n_points for b in boxes], dtype=np.int32),
            "valid": np.array([b.valid for b in boxes], dtype=bool),
        },
        schema=BOX_TABLE_SCHEMA,
    )


# --------------------------------------------------------------------------- visibility flags


def border_truncated(masks: np.ndarray, *, margin_px: int = 1) -> np.ndarray:
    """(N,) bool: the mask touches the image border (within ``margin_px``), so the object may continue outside."""
    masks = np.asarray(masks, dtype=bool)
    m = margin_px
    edge = masks[:, :m, :].any(axis=(1, 2)) | masks[:, -m:, :].any(axis=(1, 2))
    edge |= masks[:, :, :m].any(axis=(1, 2)) | masks[:, :, -m:].any(axis=(1, 2))
    return edge


def occlusion_fraction(point_map: PointMap, masks: np.ndarray, *, rel_gap: float = 0.05) -> np.ndarray:
    """(N,) share of each mask's boundary where the pixel just outside is a *nearer* surface.

    Heuristic for "partly hidden": along an occluding contour the neighbour outside the mask is
    in front (depth smaller by more than ``rel_gap``), whereas along the object's own silhouette it is
    behind (or invalid). Computed on each mask's bounding-box crop, 4-neighbourhood.
    """
    masks = np.asarray(masks, dtype=bool)
    valid = np.asarray(point_map.mask, dtype=bool)
    z = np.where(valid, np.asarray(point_map.xyz[..., 2], dtype=np.float32), np.inf)
    h, w = valid.shape
    out = np.zeros(len(masks), dtype=np.float64)
    for i, m in enumerate(masks):
        rows, cols = np.flatnonzero(m.any(axis=1)), np.flatnonzero(m.any(axis=0))
        if len(rows) == 0:
            continue
        y0, y1 = max(rows[0] - 1, 0), min(rows[-1] + 2, h)
        x0, x1 = max(cols[0] - 1, 0), min(cols[-1] + 2, w)
        mm = np.pad(m[y0:y1, x0:x1], 1)
        zz = np.pad(z[y0:y1, x0:x1], 1, constant_values=np.inf)
        ci, cz = mm[1:-1, 1:-1], zz[1:-1, 1:-1]
        boundary = occluding = 0
        for sy, sx in ((0, 1), (2, 1), (1, 0), (1, 2)):
            nm = mm[sy:sy + ci.shape[0], sx:sx + ci.shape[1]]
            nz = zz[sy:sy + ci.shape[0], sx:sx + ci.shape[1]]
            edge = ci & ~nm
            boundary += int(edge.sum())
            occluding += int((edge & (nz < cz * (1.0 - rel_gap))).sum())
        out[i] = occluding / max(boundary, 1)
    return out


def occluded(point_map: PointMap, masks: np.ndarray, *, rel_gap: float = 0.05, min_share: float = 0.1) -> np.ndarray:
    """(N,) bool: at least ``min_share`` of the mask boundary is an occluding contour (``occlusion_fraction``)."""
    return occlusion_fraction(point_map, masks, rel_gap=rel_gap) >= min_share
