"""Point-map backends: metric XYZ per pixel in the camera frame (DESIGN §5).

``synthetic`` reads the scene engine's ground truth; ``synthetic_noisy`` degrades it like a
monocular estimator (scale error, depth-proportional noise, flying pixels, holes); ``sensor``
reads a depth image + intrinsics sidecar. Real estimators (``moge``, ``depth_anything``,
``depth_pro``) live in `depth_models` and load only from local checkpoints.
"""

from __future__ import annotations

import io as _io
import zlib
from dataclasses import dataclass

import numpy as np
from PIL import Image

from hispatial_assets.geometry.camera import PointMap, unproject
from hispatial_assets.perception.base import ImageRef
from hispatial_assets.storage import io


class MissingSidecar(FileNotFoundError):
    """The backend needs a sidecar file the drop does not have for this image."""


def _require(uri: str, backend: str) -> str:
    if not io.exists(uri):
        raise MissingSidecar(f"{backend} point maps need {uri}, which is missing")
    return uri


def read_truth_depth(image: ImageRef) -> PointMap:
    arrays = io.read_npz(_require(image.sidecar(".truth.npz"), "synthetic"))
    meta = io.read_json(_require(image.sidecar(".truth.json"), "synthetic"))
    return unproject(arrays["depth"], np.asarray(meta["intrinsics"], dtype=np.float64))


@dataclass
class SyntheticPointMaps:
    name = "synthetic"
    version = "1"

    def estimate(self, image: ImageRef) -> PointMap:
        return read_truth_depth(image)


@dataclass
class SyntheticNoisyPointMaps:
    """Ground truth degraded per image, deterministically from the image id and a seed."""

    seed: int = 0
    scale_sigma: float = 0.05
    noise_rel: float = 0.01
    hole_fraction: float = 0.05
    name = "synthetic_noisy"
    version = "1"

    def settings(self) -> dict:
        return {"seed": self.seed, "scale_sigma": self.scale_sigma, "noise_rel": self.noise_rel,
                "hole_fraction": self.hole_fraction}

    def estimate(self, image: ImageRef) -> PointMap:
        from hispatial_assets.perception.noise import degrade_point_map

        seed = zlib.crc32(f"{self.seed}:{image.drop_id}:{image.image_id}".encode())
        return degrade_point_map(read_truth_depth(image), seed=seed, scale_sigma=self.scale_sigma,
                                 noise_rel=self.noise_rel, hole_fraction=self.hole_fraction)


@dataclass
class SensorPointMaps:
    """An RGB-D drop: ``<stem>.depth.png`` (uint16, ``depth_scale`` units per meter) + ``<stem>.intrinsics.json``."""

    depth_scale: float = 1000.0
    name = "sensor"
    version = "1"

    def settings(self) -> dict:
        return {"depth_scale": self.depth_scale}

    def estimate(self, image: ImageRef) -> PointMap:
        raw = io.read_bytes(_require(image.sidecar(".depth.png"), "sensor"))
        with Image.open(_io.BytesIO(raw)) as im:
            depth = np.asarray(im, dtype=np.float64) / self.depth_scale
        K = np.asarray(io.read_json(_require(image.sidecar(".intrinsics.json"), "sensor"))["intrinsics"])
        if depth.shape != (image.height, image.width):
            raise ValueError(f"depth sidecar is {depth.shape[1]}x{depth.shape[0]}, image is {image.width}x{image.height}")
        return unproject(depth.astype(np.float32), K)
