"""The gravity frame (DESIGN §3): z up, y = camera forward made horizontal, x = y × z, origin at the camera."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CAMERA_FORWARD = np.array([0.0, 0.0, 1.0])
CAMERA_UP_LEVEL = np.array([0.0, -1.0, 0.0])  # up, seen from a level camera (y points down)


@dataclass(frozen=True)
class Gravity:
    """Camera-to-gravity rotation of one image, and the floor height when a floor was found."""

    rotation: np.ndarray  # (3, 3): p_gravity = rotation @ p_camera
    floor_height: float | None = None  # gravity-frame z of the floor (negative: below the camera)

    @property
    def up_camera(self) -> np.ndarray:
        return self.rotation[2].copy()

    @property
    def roll_pitch_deg(self) -> tuple[float, float]:
        return roll_pitch_deg(self.rotation)


def gravity_from_up(up_camera: np.ndarray) -> np.ndarray:
    """The camera-to-gravity rotation for an up vector given in camera coordinates."""
    z = np.asarray(up_camera, dtype=np.float64)
    z = z / np.linalg.norm(z)
    forward = CAMERA_FORWARD - np.dot(CAMERA_FORWARD, z) * z
    n = np.linalg.norm(forward)
    if n < 1e-6:  # looking straight up or down: use the image's "up" (-y) as the forward direction
        forward = CAMERA_UP_LEVEL - np.dot(CAMERA_UP_LEVEL, z) * z
        n = np.linalg.norm(forward)
    y = forward / n
    x = np.cross(y, z)
    return np.stack([x, y, z])


def rotation_from_roll_pitch(roll_deg: float, pitch_deg: float) -> np.ndarray:
    """Camera-to-gravity rotation of a camera pitched down by ``pitch_deg`` and rolled by ``roll_deg``.

    Positive pitch looks down; positive roll turns the image clockwise as seen by the viewer
    (the camera's x axis tilts downward).
    """
    p, r = np.deg2rad(pitch_deg), np.deg2rad(roll_deg)
    # camera axes expressed in the gravity frame, for a camera looking along +y
    forward = np.array([0.0, np.cos(p), -np.sin(p)])
    right_level = np.array([1.0, 0.0, 0.0])
    down_level = np.cross(forward, right_level)  # z_cam x x_cam = y_cam
    right = np.cos(r) * right_level + np.sin(r) * down_level
    down = np.cross(forward, right)
    return np.stack([right, down, forward], axis=1)  # columns: camera x, y, z in gravity coords


def roll_pitch_deg(rotation: np.ndarray) -> tuple[float, float]:
    """(roll, pitch) in degrees of a camera-to-gravity rotation, inverse of `rotation_from_roll_pitch`."""
    R = np.asarray(rotation, dtype=np.float64)
    up = R[2]  # the up vector in camera coordinates: (right_z, down_z, forward_z)
    pitch = np.rad2deg(np.arcsin(np.clip(-up[2], -1.0, 1.0)))
    roll = np.rad2deg(np.arctan2(-up[0], -up[1]))
    return float(roll), float(pitch)


def to_gravity(points_camera: np.ndarray, rotation: np.ndarray) -> np.ndarray:
    """(..., 3) camera-frame points into the gravity frame."""
    return np.asarray(points_camera) @ np.asarray(rotation).T


def rotation_angle_deg(a: np.ndarray, b: np.ndarray) -> float:
    """Angle between the up vectors (third rows) of two camera-to-gravity rotations."""
    ua, ub = np.asarray(a)[2], np.asarray(b)[2]
    c = np.dot(ua, ub) / (np.linalg.norm(ua) * np.linalg.norm(ub))
    return float(np.rad2deg(np.arccos(np.clip(c, -1.0, 1.0))))


def wrap_angle(rad: np.ndarray | float) -> np.ndarray | float:
    """Wrap to [-pi, pi)."""
    return (np.asarray(rad) + np.pi) % (2 * np.pi) - np.pi
