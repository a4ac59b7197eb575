"""Tiny ray-cast scenes of boxes on a floor, independent of the scene engine.

Everything is exact (analytic ray/box and ray/plane intersections), so tests can state hand-checkable
expectations: the floor is at ``floor_height`` in the gravity frame, boxes stand on it, and the
camera's roll and pitch are known.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hispatial_assets.geometry.camera import PointMap, intrinsics_from_fov, pixel_rays
from hispatial_assets.geometry.frames import rotation_from_roll_pitch


@dataclass
class SynthBox:
    center: tuple[float, float, float]  # gravity frame
    extents: tuple[float, float, float]  # width, depth, height
    yaw: float  # radians


@dataclass
class SynthScene:
    point_map: PointMap
    instances: np.ndarray  # (H, W) int: box index, -1 floor/wall, -2 nothing
    rotation: np.ndarray  # camera-to-gravity
    floor_height: float
    boxes: list[SynthBox]

    def masks(self) -> np.ndarray:
        return np.stack([self.instances == i for i in range(len(self.boxes))]) if self.boxes else np.zeros((0, *self.instances.shape), bool)


def render(
    boxes: list[SynthBox],
    *,
    roll_deg: float = 0.0,
    pitch_deg: float = 10.0,
    camera_height: float = 1.5,
    width: int = 512,
    height: int = 384,
    fov_deg: float = 60.0,
    back_wall_y: float | None = 6.0,
    side_wall_x: float | None = None,
) -> SynthScene:
    """Ray-cast boxes, a floor at -camera_height and optional walls (y = back_wall_y, x = side_wall_x)."""
    K = intrinsics_from_fov(width, height, fov_deg)
    R = rotation_from_roll_pitch(roll_deg, pitch_deg)
    rays_c = pixel_rays(width, height, K).reshape(-1, 3)
    rays_g = rays_c @ R.T
    t = np.full(len(rays_c), np.inf)
    inst = np.full(len(rays_c), -2, dtype=np.int64)
    with np.errstate(divide="ignore", invalid="ignore"):
        tf = np.where(rays_g[:, 2] < 0, -camera_height / rays_g[:, 2], np.inf)
        closer = tf < t
        t[closer], inst[closer] = tf[closer], -1
        if back_wall_y is not None:
            tw = np.where(rays_g[:, 1] > 0, back_wall_y / rays_g[:, 1], np.inf)
            closer = tw < t
            t[closer], inst[closer] = tw[closer], -1
        if side_wall_x is not None:
            ts = np.where(rays_g[:, 0] * np.sign(side_wall_x) > 0, side_wall_x / rays_g[:, 0], np.inf)
            closer = ts < t
            t[closer], inst[closer] = ts[closer], -1
    for i, b in enumerate(boxes):
        c, s = np.cos(b.yaw), np.sin(b.yaw)
        axes = np.array([[c, s, 0.0], [-s, c, 0.0], [0.0, 0.0, 1.0]])
        o = -axes @ np.asarray(b.center, dtype=np.float64)  # camera origin in box coordinates
        d = rays_g @ axes.T
        half = 0.5 * np.asarray(b.extents, dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            t1 = (-half - o) / d
            t2 = (half - o) / d
        tn = np.nanmax(np.minimum(t1, t2), axis=1)
        tx = np.nanmin(np.maximum(t1, t2), axis=1)
        hit = (tn <= tx) & (tn > 0)
        closer = hit & (tn < t)
        t[closer], inst[closer] = tn[closer], i
    valid = np.isfinite(t)
    xyz = np.where(valid[:, None], rays_c * np.where(valid, t, 0.0)[:, None], 0.0)
    pm = PointMap(
        xyz=xyz.reshape(height, width, 3).astype(np.float32),
        mask=valid.reshape(height, width),
        intrinsics=K.astype(np.float32),
    )
    return SynthScene(pm, inst.reshape(height, width), R, -camera_height, list(boxes))


def random_room(seed: int, *, n_boxes: int = 10, max_tilt_deg: float = 15.0, **kwargs) -> SynthScene:
    """A random room: boxes on the floor 2–6 m ahead, random yaw, roll up to ``max_tilt_deg``, pitch in [-5, max_tilt_deg]."""
    rng = np.random.default_rng(seed)
    boxes = []
    for _ in range(n_boxes):
        w, d, h = rng.uniform(0.2, 1.2), rng.uniform(0.2, 0.8), rng.uniform(0.2, 1.0)
        boxes.append(SynthBox((rng.uniform(-2.0, 2.0), rng.uniform(2.0, 6.0), -1.5 + h / 2), (w, d, h), rng.uniform(-np.pi, np.pi)))
    roll = rng.uniform(-max_tilt_deg, max_tilt_deg)
    pitch = rng.uniform(-5.0, max_tilt_deg)  # looking down, as indoor photos mostly do
    kwargs.setdefault("back_wall_y", 8.0)
    return render(boxes, roll_deg=roll, pitch_deg=pitch, side_wall_x=rng.choice([-3.0, 3.0]), **kwargs)
