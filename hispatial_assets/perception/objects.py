"""Stage 1 after point maps: detections + point map + gravity -> the objects table (DESIGN §2, §3).

Masks come from the detector; 3D boxes are fitted to the masked points in the gravity frame
(refitted along the front axis where the orientation backend knows it); colors, border
truncation and occlusion come from the pixels. A detector may hand over oracle attributes
(the synthetic one does: ``extra['boxes_3d' | 'colors' | 'color_rgb' | 'truncated' | 'occluded']``),
which then replace the estimates.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from hispatial_assets import schema
from hispatial_assets.geometry.boxes import MIN_POINTS, border_truncated, fit_boxes, occluded
from hispatial_assets.geometry.camera import PointMap
from hispatial_assets.geometry.colors import dominant_colors
from hispatial_assets.geometry.frames import Gravity
from hispatial_assets.geometry.masks import encode_rles
from hispatial_assets.perception.base import Detections, ImageRef


def _boxes_from_oracle(boxes_3d: np.ndarray, masks: np.ndarray) -> pl.DataFrame:
    b = np.asarray(boxes_3d, dtype=np.float64).reshape(-1, 7)
    return pl.DataFrame({
        "center_x": b[:, 0], "center_y": b[:, 1], "center_z": b[:, 2],
        "width": b[:, 3], "depth": b[:, 4], "height": b[:, 5], "yaw": b[:, 6],
        "n_points": masks.reshape(len(masks), -1).sum(axis=1).astype(np.int32), "valid": np.ones(len(b), bool),
    })


def fit_object_boxes(point_map: PointMap, gravity: Gravity, det: Detections, orientation, image: ImageRef,
                     *, min_points: int = MIN_POINTS) -> tuple[pl.DataFrame, np.ndarray, np.ndarray]:
    """Boxes, front yaw and orientation confidence per detection (row i = detection i)."""
    if "boxes_3d" in det.extra:
        boxes = _boxes_from_oracle(det.extra["boxes_3d"], det.masks)
    else:
        boxes = fit_boxes(point_map, det.masks, gravity.rotation, labels=list(det.labels),
                          floor_height=gravity.floor_height, min_points=min_points)
    front, conf = orientation.estimate(image, det, boxes)
    front = np.asarray(front, dtype=np.float64)
    known = np.isfinite(front) & boxes["valid"].to_numpy()
    if "boxes_3d" not in det.extra and known.any():  # align the box with the front: width across it
        hint = np.where(known, front - np.pi / 2, np.nan)
        refit = fit_boxes(point_map, det.masks[known], gravity.rotation, labels=[det.labels[i] for i in np.flatnonzero(known)],
                          floor_height=gravity.floor_height, min_points=min_points, yaw_hint=hint[known])
        rows = np.flatnonzero(known)
        boxes = boxes.with_row_index("_i").update(refit.with_columns(pl.Series("_i", rows.astype(np.uint32))).drop("object_index", strict=False), on="_i").drop("_i")
    return boxes, front, np.asarray(conf, dtype=np.float32)


def check_sizes(image: ImageRef, point_map: PointMap, det: Detections) -> None:
    """Masks, point map and image must agree pixel for pixel; a sidecar or model output of another
    size is this image's error (rejected with the reason), not the drop's crash."""
    size = (image.height, image.width)
    if tuple(det.masks.shape[1:]) != size or tuple(point_map.shape) != size:
        raise ValueError(f"size mismatch: image {image.width}x{image.height}, masks "
                         f"{det.masks.shape[2]}x{det.masks.shape[1]}, point map {point_map.shape[1]}x{point_map.shape[0]}")


def detect_objects(image: ImageRef, point_map: PointMap, gravity: Gravity, detector, orientation, *,
                   backend: str = "", min_points: int = MIN_POINTS) -> pl.DataFrame:
    """The objects of one image (schema.OBJECTS, gravity frame); detections too thin to fit are dropped."""
    det = detector.detect(image)
    if len(det) == 0:
        return schema.empty("objects")
    check_sizes(image, point_map, det)
    boxes, front, conf = fit_object_boxes(point_map, gravity, det, orientation, image, min_points=min_points)
    if "colors" in det.extra:
        colors, rgb = list(det.extra["colors"]), np.asarray(det.extra["color_rgb"])
    else:
        colors, rgb = dominant_colors(image.rgb(), det.masks)
    truncated = det.extra["truncated"] if "truncated" in det.extra else border_truncated(det.masks)
    occl = det.extra["occluded"] if "occluded" in det.extra else occluded(point_map, det.masks)
    ids = np.asarray(det.extra.get("object_ids", np.arange(1, len(det) + 1)), dtype=np.int32)
    rgb = np.asarray(rgb).reshape(-1, 3)
    frame = pl.DataFrame({
        "drop_id": image.drop_id, "image_id": image.image_id, "object_id": ids, "label": list(det.labels),
        "score": np.asarray(det.scores, np.float32), "mask_rle": encode_rles(det.masks),
        "box_x0": det.boxes[:, 0], "box_y0": det.boxes[:, 1], "box_x1": det.boxes[:, 2], "box_y1": det.boxes[:, 3],
        "front_yaw": front,
        "orientation_confidence": conf, "color": colors,
        "color_r": rgb[:, 0], "color_g": rgb[:, 1], "color_b": rgb[:, 2],
        "truncated": np.asarray(truncated, bool), "occluded": np.asarray(occl, bool), "backend": backend,
    }).hstack(boxes.drop("object_index", strict=False))
    frame = frame.filter(pl.col("valid")).drop("valid").with_columns(pl.col("front_yaw").fill_nan(None))
    return schema.conform(frame, "objects")
