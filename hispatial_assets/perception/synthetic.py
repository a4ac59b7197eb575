"""`synthetic` backends: read the scene engine's ground truth, so the default run is checkable."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from hispatial_assets.geometry.camera import PointMap
from hispatial_assets.geometry.frames import Gravity
from hispatial_assets.perception.base import Detections, ImageRef
from hispatial_assets.perception.point_maps import _require
from hispatial_assets.storage import io


def _truth(image: ImageRef) -> dict:
    return io.read_json(_require(image.sidecar(".truth.json"), "synthetic"))


@dataclass
class SyntheticGravity:
    name = "synthetic"
    version = "1"

    def estimate(self, image: ImageRef, point_map: PointMap) -> Gravity:
        truth = _truth(image)
        return Gravity(rotation=np.asarray(truth["rotation"], dtype=np.float64), floor_height=truth.get("floor_height"))


@dataclass
class SyntheticDetector:
    """Ground-truth instance masks and classes; ``extra['object_ids']`` keeps the truth ids.

    Boxes, colors and visibility flags are then estimated from the pixels, as for any detector. With
    ``oracle_attributes`` it also hands over the truth's 3D boxes, colors and visibility flags, so the
    objects *equal* the ground truth and every downstream answer is exact (the "exact" profile).
    """

    oracle_attributes: bool = False
    name = "synthetic"
    version = "1"

    def settings(self) -> dict:
        return {"oracle_attributes": self.oracle_attributes}

    def detect(self, image: ImageRef) -> Detections:
        truth = _truth(image)
        instances = io.read_npz(_require(image.sidecar(".truth.npz"), "synthetic"))["instances"]
        objs = [o for o in truth["objects"] if o.get("n_points", 1) > 0]
        ids = np.array([o["object_id"] for o in objs], dtype=np.int64)
        masks = instances[None, :, :] == ids[:, None, None] if len(ids) else np.zeros((0, *instances.shape), bool)
        boxes = np.array([o["box_2d"] for o in objs], dtype=np.float32).reshape(-1, 4)
        extra: dict = {"object_ids": ids}
        if self.oracle_attributes:
            extra["boxes_3d"] = np.array([[*o["center"], *o["extents"], o["yaw"]] for o in objs], np.float64).reshape(-1, 7)
            extra["colors"] = [o["color"] for o in objs]
            extra["color_rgb"] = np.array([o["color_rgb"] for o in objs], np.int32).reshape(-1, 3)
            extra["truncated"] = np.array([o["truncated"] for o in objs], bool)
            extra["occluded"] = np.array([o["occluded"] for o in objs], bool)
        return Detections(labels=[o["label"] for o in objs], scores=np.ones(len(objs), np.float32),
                          masks=masks, boxes=boxes, extra=extra)


@dataclass
class SyntheticOrientation:
    """Ground-truth front yaw (NaN for objects without a front), confidence 1."""

    name = "synthetic"
    version = "1"

    def estimate(self, image: ImageRef, detections: Detections, boxes: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        by_id = {o["object_id"]: o.get("front_yaw") for o in _truth(image)["objects"]}
        ids = detections.extra.get("object_ids", np.arange(1, len(detections) + 1))
        yaw = np.array([np.nan if by_id.get(int(i)) is None else by_id[int(i)] for i in ids], dtype=np.float64)
        return yaw, np.where(np.isnan(yaw), 0.0, 1.0).astype(np.float32)
