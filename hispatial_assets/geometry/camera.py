"""Pinhole cameras and point maps in the OpenCV camera frame."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PointMap:
    """Metric XYZ per pixel in the camera frame, a validity mask and the intrinsics."""

    xyz: np.ndarray  # (H, W, 3) float32, meters, camera frame
    mask: np.ndarray  # (H, W) bool
    intrinsics: np.ndarray  # (3, 3) float32

    @property
    def shape(self) -> tuple[int, int]:
        return self.mask.shape

    @property
    def depth(self) -> np.ndarray:
        """z per pixel, 0 where invalid."""
        return np.where(self.mask, self.xyz[..., 2], 0.0).astype(np.float32)


def intrinsics_from_fov(width: int, height: int, fov_x_deg: float) -> np.ndarray:
    """Square-pixel intrinsics with the principal point at the image center."""
    fx = 0.5 * width / np.tan(np.deg2rad(fov_x_deg) / 2.0)
    return np.array([[fx, 0.0, width / 2.0], [0.0, fx, height / 2.0], [0.0, 0.0, 1.0]], dtype=np.float64)


def nearest_indices(n_out: int, n_in: int) -> np.ndarray:
    """Source index of each output pixel center in a nearest-neighbour resize from ``n_in`` to ``n_out``
    pixels along one axis (nearest keeps masks exact)."""
    return np.minimum(((np.arange(n_out) + 0.5) * n_in / n_out).astype(np.int64), n_in - 1)


def pixel_rays(width: int, height: int, intrinsics: np.ndarray) -> np.ndarray:
    """(H, W, 3) camera-frame rays with z = 1 through each pixel center."""
    K = np.asarray(intrinsics, dtype=np.float64)
    u = (np.arange(width, dtype=np.float64) + 0.5 - K[0, 2]) / K[0, 0]
    v = (np.arange(height, dtype=np.float64) + 0.5 - K[1, 2]) / K[1, 1]
    rays = np.empty((height, width, 3), dtype=np.float64)
    rays[..., 0] = u[None, :]
    rays[..., 1] = v[:, None]
    rays[..., 2] = 1.0
    return rays


def unproject(depth: np.ndarray, intrinsics: np.ndarray) -> PointMap:
    """Lift a z-depth image (0 or non-finite = invalid) to a point map."""
    depth = np.asarray(depth, dtype=np.float32)
    mask = np.isfinite(depth) & (depth > 0)
    z = np.where(mask, depth, 0.0)
    h, w = depth.shape
    xyz = (pixel_rays(w, h, intrinsics) * z[..., None]).astype(np.float32)
    return PointMap(xyz=xyz, mask=mask, intrinsics=np.asarray(intrinsics, dtype=np.float32))


def project(points: np.ndarray, intrinsics: np.ndarray) -> np.ndarray:
    """(N, 3) camera-frame points -> (N, 2) pixel coordinates (continuous, pixel centers at +0.5)."""
    K = np.asarray(intrinsics, dtype=np.float64)
    p = np.asarray(points, dtype=np.float64)
    z = p[:, 2]
    return np.stack([K[0, 0] * p[:, 0] / z + K[0, 2], K[1, 1] * p[:, 1] / z + K[1, 2]], axis=1)
