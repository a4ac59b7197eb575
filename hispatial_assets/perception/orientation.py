"""`box_geometry` orientation: the front axis from the footprint, its sign guessed toward the camera."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from hispatial_assets.geometry.orientation import box_front_yaw
from hispatial_assets.perception.base import Detections, ImageRef


@dataclass
class BoxGeometryOrientation:
    max_confidence: float = 0.5
    name = "box_geometry"
    version = "1"

    def settings(self) -> dict:
        return {"max_confidence": self.max_confidence}

    def estimate(self, image: ImageRef, detections: Detections, boxes: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        cols = [boxes[c].to_numpy() for c in ("yaw", "width", "depth", "center_x", "center_y")]
        return box_front_yaw(*cols, labels=list(detections.labels), max_confidence=self.max_confidence)
