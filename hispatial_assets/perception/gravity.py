"""Gravity backends over the point map: `floor_ransac` (floor plane) and `camera_up` (level camera)."""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from hispatial_assets.geometry.camera import PointMap
from hispatial_assets.geometry.frames import Gravity
from hispatial_assets.geometry.gravity import camera_up, floor_ransac
from hispatial_assets.perception.base import ImageRef


@dataclass
class FloorRansacGravity:
    """Dominant floor plane; falls back to a level camera (floor_height None) when no floor is seen."""

    max_tilt_deg: float = 35.0
    seed: int = 0
    name = "floor_ransac"
    version = "1"

    def settings(self) -> dict:
        return {"max_tilt_deg": self.max_tilt_deg, "seed": self.seed}

    def estimate(self, image: ImageRef, point_map: PointMap) -> Gravity:
        seed = zlib.crc32(f"{self.seed}:{image.image_id}".encode())
        return floor_ransac(point_map, seed=seed, max_tilt_deg=self.max_tilt_deg).gravity


@dataclass
class CameraUpGravity:
    name = "camera_up"
    version = "1"

    def estimate(self, image: ImageRef, point_map: PointMap) -> Gravity:
        return camera_up(point_map)
