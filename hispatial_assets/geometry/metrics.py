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


def match_objects(pred: pl.DataFrame, truth: pl.DataFrame, shape_of, min_iou: float = 0.5) -> pl.DataFrame:
    """Pairs (predicted object, truth object) per image by mask IoU ≥ ``min_iou``, greedy on IoU.

    ``pred`` and ``truth`` (one drop: image ids are unique within a drop) carry ``image_id``,
    ``object_id`` and ``mask_rle``; ``shape_of(image_id)`` gives (height, width). Returns columns
    image_id, object_id, truth_object_id, iou.
    """
    from hispatial_assets.geometry.masks import decode_rles, mask_ious

    out: dict[str, list] = {"image_id": [], "object_id": [], "truth_object_id": [], "iou": []}
    truth_by_image = {k[0]: g for k, g in truth.group_by("image_id")}
    for (image_id,), p in pred.group_by("image_id"):
        g = truth_by_image.get(image_id)
        if g is None or g.is_empty():
            continue
        shape = shape_of(image_id)
        ious = mask_ious(decode_rles(p["mask_rle"].to_list(), shape), decode_rles(g["mask_rle"].to_list(), shape))
        used_p, used_g = set(), set()
        for flat in np.argsort(-ious, axis=None, kind="stable"):
            i, j = (int(v) for v in np.unravel_index(flat, ious.shape))
            if ious[i, j] < min_iou:
                break
            if i in used_p or j in used_g:
                continue
            used_p.add(i)
            used_g.add(j)
            out["image_id"].append(image_id)
            out["object_id"].append(int(p["object_id"][i]))
            out["truth_object_id"].append(int(g["object_id"][j]))
            out["iou"].append(float(ious[i, j]))
    return pl.DataFrame(out, schema={"image_id": pl.String, "object_id": pl.Int64, "truth_object_id": pl.Int64,
                                     "iou": pl.Float64})


# What the objects stage must reach against the scene engine's truth (the `objects_match_ground_truth`
# check). Why these limits:
# - matched_share: the stage finds (mask IoU >= 0.5, right label) 90% of the truth objects that show at
#   least MIN_VISIBLE_PIXELS pixels (fewer are too small for any box fit).
# - relative center error: monocular point maps are right up to a per-image scale (`synthetic_noisy`
#   draws it with sigma 5%, so a tenth of the images are off by 8% or more); a median of 10% of the
#   distance allows that and fitting, while a frame, unit or gravity bug gives tens of percent.
# - size error: 25%, the per-class ceiling the box benchmark holds the fitter to (issue 12, item 5).
# - yaw error: 15°, against 22.5° for a random guess (box yaw error lies in [0, 45]).
# Box errors are measured on whole objects (not truncated, >= 95% visible): the box of a half-hidden
# object cannot be recovered from its visible points; yaw only where the truth's footprint is
# elongated (short side <= 80% of the long side): a round or square footprint has no observable yaw.
# A median is judged on at least MIN_JUDGED objects; fewer are too noisy to judge (a demo drop of 8
# images has 20-30 whole objects, 9-15 of them elongated): it is reported, not judged.
OBJECT_LIMITS = {"matched_share": (">=", 0.90), "median_relative_center_error": ("<=", 0.10),
                 "median_size_error": ("<=", 0.25), "median_yaw_error_deg": ("<=", 15.0)}
MIN_VISIBLE_PIXELS = 50
MIN_JUDGED = 20
_COUNT_OF = {"median_relative_center_error": "whole_objects", "median_size_error": "whole_objects",
             "median_yaw_error_deg": "elongated_whole_objects"}


def object_errors(objects: pl.DataFrame, truth: pl.DataFrame, shape_of) -> pl.DataFrame:
    """For one drop, per matched (object, truth object) pair: box errors (`box_errors`), the center
    error relative to the truth's distance from the camera, the front-yaw error where both know a front,
    whether the label agrees, whether the truth object is whole (not truncated, >= 95% visible) and
    whether its footprint is elongated (short side <= 80% of the long one)."""
    pairs = match_objects(objects, truth, shape_of)
    if pairs.is_empty():
        return pl.DataFrame()
    pred = pairs.join(objects.with_columns(pl.col("object_id").cast(pl.Int64)), on=["image_id", "object_id"])
    gt = pairs.join(truth.with_columns(pl.col("object_id").cast(pl.Int64)).rename({"object_id": "truth_object_id"}),
                    on=["image_id", "truth_object_id"])
    errors = box_errors(pred, gt)
    center = gt.select("center_x", "center_y", "center_z").to_numpy()
    whole = ~gt["truncated"].to_numpy().astype(bool)
    if "visible_fraction" in gt.columns:
        whole &= gt["visible_fraction"].fill_null(1.0).to_numpy() >= 0.95
    w, d = gt["width"].to_numpy(), gt["depth"].to_numpy()
    elongated = np.minimum(w, d) <= 0.8 * np.maximum(w, d)
    front = angle_error_deg(pred["front_yaw"].fill_null(np.nan).to_numpy(), gt["front_yaw"].fill_null(np.nan).to_numpy())
    return pairs.hstack(errors).with_columns(
        relative_center_error=errors["center_error"] / np.maximum(np.linalg.norm(center, axis=1), 1e-6),
        front_error_deg=pl.Series(front).fill_nan(None), label_ok=pred["label"] == gt["label"],
        truth_pixels=gt["n_points"], whole=pl.Series(whole), elongated=pl.Series(elongated))


def object_error_summary(errors: pl.DataFrame, truth_pixels: list[int] | pl.Series) -> dict[str, float]:
    """The figures `OBJECT_LIMITS` judge, the object counts they rest on, and the same medians over all
    matched objects. ``truth_pixels``: the visible pixel count of every truth object."""
    eligible = int(sum(1 for n in truth_pixels if n is not None and n >= MIN_VISIBLE_PIXELS))
    out: dict[str, float] = {"truth_objects": len(truth_pixels), "eligible_truth_objects": eligible,
                             "matched": len(errors)}
    if errors.is_empty():
        return out | {"matched_share": 0.0}
    found = errors.filter(pl.col("label_ok") & (pl.col("truth_pixels") >= MIN_VISIBLE_PIXELS))
    out["matched_share"] = round(len(found) / max(eligible, 1), 4)
    whole = errors.filter(pl.col("whole"))
    out["whole_objects"] = len(whole)
    out["elongated_whole_objects"] = int(whole["elongated"].sum())

    def median(frame: pl.DataFrame, col: str) -> float:
        v = frame[col].median() if len(frame) else None
        return round(float(v), 4) if v is not None else float("nan")

    for col in ("center_error", "relative_center_error", "size_error"):
        out[f"median_{col}"] = median(whole, col)
        out[f"all_median_{col}"] = median(errors, col)
    out["median_yaw_error_deg"] = median(whole.filter(pl.col("elongated")), "yaw_error_deg")
    out["all_median_yaw_error_deg"] = median(errors, "yaw_error_deg")
    front = errors["front_error_deg"].drop_nulls()
    out["fronts_compared"] = len(front)
    out["median_front_error_deg"] = round(float(front.median()), 2) if len(front) else float("nan")
    return out


def object_limit_violations(summary: dict[str, float], min_objects: int = MIN_JUDGED) -> tuple[list[str], list[str]]:
    """(broken limits, limits not judged for fewer than ``min_objects`` objects), in words. A NaN figure
    breaks its limit."""
    bad, unjudged = [], []
    for key, (op, limit) in OBJECT_LIMITS.items():
        n = summary.get(_COUNT_OF[key], 0) if key in _COUNT_OF else min_objects
        if n < min_objects:
            unjudged.append(f"{key}: {n} objects, {min_objects} needed")
            continue
        v = summary.get(key, float("nan"))
        if not (v >= limit if op == ">=" else v <= limit):  # NaN compares False
            bad.append(f"{key} {v} (limit {op} {limit})")
    return bad, unjudged
