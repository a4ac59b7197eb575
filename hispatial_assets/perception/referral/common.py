"""Pieces every referral backend shares: box IoU and the paper's class + box fallback."""

from __future__ import annotations

import numpy as np


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU matrix (N, M) between xyxy boxes a (N, 4) and b (M, 4)."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    x0 = np.maximum(a[:, None, 0], b[None, :, 0])
    y0 = np.maximum(a[:, None, 1], b[None, :, 1])
    x1 = np.minimum(a[:, None, 2], b[None, :, 2])
    y1 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def normalized_box(box: np.ndarray, width: int, height: int) -> list[int]:
    """Pixel xyxy -> integers in [0, 1000) as used in question text (DESIGN §4)."""
    x0, y0, x1, y1 = [float(v) for v in box]
    scale = np.array([width, height, width, height], dtype=np.float64)
    n = np.floor(np.array([x0, y0, x1, y1]) / scale * 1000.0).astype(int)
    return [int(v) for v in np.clip(n, 0, 999)]


def fallback_expression(label: str, box: np.ndarray, width: int, height: int) -> str:
    """Class label + 2D box, used when no verified unique expression exists."""
    x0, y0, x1, y1 = normalized_box(box, width, height)
    return f"the {label} in the box [{x0}, {y0}, {x1}, {y1}]"
