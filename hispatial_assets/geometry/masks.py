"""Instance masks: COCO RLE strings for storage, and vectorized helpers on (N, H, W) bool stacks.

The ``objects`` table stores a mask as the compressed COCO RLE ``counts`` string (utf-8); the image
size comes from the ``images`` table, so ``decode_rle`` takes the shape explicitly.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pycocotools import mask as coco_mask


def encode_rle(mask: np.ndarray) -> str:
    """(H, W) bool -> compressed COCO RLE counts string."""
    return encode_rles(np.asarray(mask)[None])[0]


def encode_rles(masks: np.ndarray) -> list[str]:
    """(N, H, W) bool -> N compressed COCO RLE counts strings (one pycocotools call for the stack)."""
    masks = np.asarray(masks, dtype=bool)
    if masks.ndim != 3:
        raise ValueError(f"masks must be (N, H, W), got shape {masks.shape}")
    if len(masks) == 0:
        return []
    fortran = np.asfortranarray(masks.transpose(1, 2, 0).astype(np.uint8))  # pycocotools wants (H, W, N) F-order
    return [r["counts"].decode("utf-8") for r in coco_mask.encode(fortran)]


def decode_rle(counts: str, shape: tuple[int, int]) -> np.ndarray:
    """Compressed COCO RLE counts string + (H, W) -> (H, W) bool."""
    return decode_rles([counts], shape)[0]


def decode_rles(counts: Sequence[str], shape: tuple[int, int]) -> np.ndarray:
    """N counts strings of one image -> (N, H, W) bool."""
    h, w = int(shape[0]), int(shape[1])
    if len(counts) == 0:
        return np.zeros((0, h, w), dtype=bool)
    rles = [{"size": [h, w], "counts": c.encode("utf-8") if isinstance(c, str) else c} for c in counts]
    return np.ascontiguousarray(coco_mask.decode(rles).transpose(2, 0, 1)).astype(bool)


def rle_area(counts: Sequence[str], shape: tuple[int, int]) -> np.ndarray:
    """Pixel area of each RLE without decoding."""
    h, w = int(shape[0]), int(shape[1])
    rles = [{"size": [h, w], "counts": c.encode("utf-8")} for c in counts]
    return np.asarray(coco_mask.area(rles), dtype=np.int64) if rles else np.zeros(0, np.int64)


def mask_areas(masks: np.ndarray) -> np.ndarray:
    """(N, H, W) -> (N,) pixel counts."""
    masks = np.asarray(masks, dtype=bool)
    return masks.reshape(len(masks), -1).sum(axis=1)


def mask_boxes(masks: np.ndarray) -> np.ndarray:
    """(N, H, W) bool -> (N, 4) float32 xyxy pixel boxes (x1, y1 exclusive); NaN for empty masks."""
    masks = np.asarray(masks, dtype=bool)
    n, h, w = masks.shape
    rows, cols = masks.any(axis=2), masks.any(axis=1)  # (N, H), (N, W)
    has = rows.any(axis=1)
    y0 = np.argmax(rows, axis=1)
    y1 = h - np.argmax(rows[:, ::-1], axis=1)
    x0 = np.argmax(cols, axis=1)
    x1 = w - np.argmax(cols[:, ::-1], axis=1)
    boxes = np.stack([x0, y0, x1, y1], axis=1).astype(np.float32)
    boxes[~has] = np.nan
    return boxes


def mask_ious(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, H, W) x (M, H, W) -> (N, M) IoU matrix (one matrix product over flattened pixels)."""
    fa = np.asarray(a, dtype=bool).reshape(len(a), -1).astype(np.float32)
    fb = np.asarray(b, dtype=bool).reshape(len(b), -1).astype(np.float32)
    inter = fa @ fb.T
    union = fa.sum(1)[:, None] + fb.sum(1)[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1), 0.0)
