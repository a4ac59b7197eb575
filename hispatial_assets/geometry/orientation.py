"""Object orientation from box geometry, and front yaws in words relative to the camera.

``box_front_yaw`` is the ``box_geometry`` orientation estimate. A box fitted without a front
(``boxes.fit_boxes`` canonicalizes width >= depth) knows its front *axis* only: most furniture with a
front (sofa, bed head, cabinet, shelf, monitor, chair back) faces along its shorter horizontal side,
i.e. along the box's depth axis v, so the front is ``yaw + pi/2`` or ``yaw - pi/2``. The sign is
unknown; we pick the candidate facing the camera (objects are mostly photographed from their front)
and say so with a confidence of at most 0.5. Near-square footprints (width / depth below
``min_aspect``) and classes without a front return NaN with confidence 0.

Words (DESIGN §3): front yaw in the gravity frame, 0 = facing right, +90° = facing away from the
camera, -90° = facing toward the camera, 180° = facing left; eight 45° sectors.
"""

from __future__ import annotations

import numpy as np

# Classes whose shape has no front (rotationally or mirror symmetric in the horizontal plane).
SYMMETRIC_LABELS = frozenset({"table", "stool", "lamp", "plant", "box", "bottle", "mug", "tree", "trash_can", "trash can", "ball", "vase"})

ORIENTATION_LABELS = (
    "right", "away_right", "away", "away_left", "left", "toward_left", "toward", "toward_right",
)
ORIENTATION_PHRASES = {
    "right": "facing right",
    "away_right": "facing away from the camera and to the right",
    "away": "facing away from the camera",
    "away_left": "facing away from the camera and to the left",
    "left": "facing left",
    "toward_left": "facing toward the camera and to the left",
    "toward": "facing toward the camera",
    "toward_right": "facing toward the camera and to the right",
}


def box_front_yaw(
    yaw: np.ndarray,
    width: np.ndarray,
    depth: np.ndarray,
    center_x: np.ndarray,
    center_y: np.ndarray,
    *,
    labels: list[str] | None = None,
    min_aspect: float = 1.15,
    max_confidence: float = 0.5,
) -> tuple[np.ndarray, np.ndarray]:
    """Front yaw (radians, gravity frame; NaN = unknown) and confidence in [0, ``max_confidence``] per box.

    Of the two directions along the depth axis, the one pointing toward the camera (the origin) is
    chosen. Confidence grows with the footprint's aspect ratio (a clearer front axis), reaching
    ``max_confidence`` at aspect 1.5.
    """
    yaw = np.asarray(yaw, dtype=np.float64)
    width, depth = np.asarray(width, dtype=np.float64), np.asarray(depth, dtype=np.float64)
    cx, cy = np.asarray(center_x, dtype=np.float64), np.asarray(center_y, dtype=np.float64)
    long_side, short_side = np.maximum(width, depth), np.minimum(width, depth)
    # the front axis is perpendicular to the longer side
    axis = np.where(width >= depth, yaw + np.pi / 2, yaw)
    facing_camera = np.cos(axis) * -cx + np.sin(axis) * -cy >= 0
    front = np.where(facing_camera, axis, axis + np.pi)
    front = (front + np.pi) % (2 * np.pi) - np.pi
    with np.errstate(invalid="ignore", divide="ignore"):
        aspect = long_side / np.maximum(short_side, 1e-6)
    conf = max_confidence * np.clip((aspect - 1.0) / 0.5, 0.0, 1.0)
    unknown = ~np.isfinite(front) | ~np.isfinite(aspect) | (aspect < min_aspect)
    if labels is not None:
        unknown |= np.array([str(lb).lower() in SYMMETRIC_LABELS for lb in labels], dtype=bool)
    return np.where(unknown, np.nan, front), np.where(unknown, 0.0, conf).astype(np.float32)


def orientation_sector(front_yaw: np.ndarray | float) -> np.ndarray:
    """Index into ``ORIENTATION_LABELS`` (0 = right, counter-clockwise in 45° steps); -1 for NaN."""
    fy = np.asarray(front_yaw, dtype=np.float64)
    sector = np.round(np.nan_to_num(fy) / (np.pi / 4)).astype(np.int64) % 8
    return np.where(np.isfinite(fy), sector, -1)


def orientation_label(front_yaw: float) -> str | None:
    """One of ``ORIENTATION_LABELS`` for a front yaw, None when unknown (NaN / None)."""
    if front_yaw is None or not np.isfinite(front_yaw):
        return None
    return ORIENTATION_LABELS[int(orientation_sector(front_yaw))]


def orientation_labels(front_yaw: np.ndarray) -> list[str | None]:
    """Vectorized ``orientation_label``."""
    return [None if s < 0 else ORIENTATION_LABELS[s] for s in orientation_sector(front_yaw).tolist()]


def orientation_phrase(front_yaw: float) -> str | None:
    """"facing toward the camera", "facing left", ...; None when unknown."""
    label = orientation_label(front_yaw)
    return None if label is None else ORIENTATION_PHRASES[label]


def sector_yaw(label: str) -> float:
    """The front yaw (radians) at the center of a sector label; inverse of ``orientation_label``."""
    k = ORIENTATION_LABELS.index(label)
    return float((k * np.pi / 4 + np.pi) % (2 * np.pi) - np.pi)
