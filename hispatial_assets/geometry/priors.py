"""Class priors for box fitting: which objects are round, and the typical size of the ones whose
back is hidden (amodal completion).

A depth sensor sees the front of an object; its back is inferred. Two kinds of knowledge fill it in:

- **Round classes** (bottles, lamps, plants, trees, ...): the footprint is a disc, so the hidden
  depth equals the visible width, whatever the noise does to the visible half.
- **Typical sizes** of furniture and vehicles whose back is often hidden (a chair seen from behind,
  a car from its rear): real-world dimensions from common furniture and vehicle standards, not
  measured on any benchmark. They only complete a box, never shrink a measured one
  (``boxes.complete_hidden_depth``); furniture that stands **against a wall** is completed up to the
  surface seen behind it.

Labels are matched case-insensitively, with spaces and underscores alike and a plural ``s`` ignored,
so open-vocabulary detector labels ("Trash can", "bottles") find their entry.
"""

from __future__ import annotations

import numpy as np

ROUND_LABELS = frozenset({
    "bottle", "mug", "cup", "glass", "vase", "can", "jar", "bowl", "pot", "bucket", "lamp", "floor lamp",
    "table lamp", "plant", "potted plant", "flower pot", "stool", "trash can", "bin", "wastebasket", "barrel",
    "tree", "bush", "ball", "globe", "candle", "pillar", "column", "pole", "bollard", "traffic cone", "cone",
})

# label -> typical (width, depth, height) in meters; depth is front to back, width across the front.
SIZE_PRIORS: dict[str, tuple[float, float, float]] = {
    "cabinet": (0.8, 0.5, 0.9), "cupboard": (0.8, 0.5, 0.9), "dresser": (1.0, 0.5, 0.8),
    "nightstand": (0.5, 0.4, 0.55), "wardrobe": (1.0, 0.6, 2.0), "sideboard": (1.5, 0.45, 0.8),
    "shelf": (0.9, 0.32, 1.5), "bookshelf": (0.9, 0.32, 1.8), "bookcase": (0.9, 0.32, 1.8),
    "sofa": (2.0, 0.9, 0.85), "couch": (2.0, 0.9, 0.85), "armchair": (0.85, 0.85, 0.9),
    "bed": (1.5, 2.05, 0.6), "chair": (0.47, 0.5, 0.9), "bench": (1.5, 0.55, 0.85),
    "table": (1.2, 0.75, 0.75), "desk": (1.4, 0.7, 0.75), "refrigerator": (0.7, 0.7, 1.8),
    "fridge": (0.7, 0.7, 1.8), "oven": (0.6, 0.6, 0.9), "washing machine": (0.6, 0.6, 0.85),
    "car": (1.8, 4.5, 1.5), "truck": (2.5, 8.0, 3.0), "bus": (2.5, 12.0, 3.2), "van": (2.0, 5.0, 2.0),
    "person": (0.45, 0.3, 1.7),
}


# Furniture that usually stands with its back to a wall: its hidden back may be completed up to the
# surface seen just behind it (``boxes.complete_hidden_depth``). Chairs and tables stand free (what
# is seen behind a chair is often the table it is pushed under).
AGAINST_WALL = frozenset({
    "cabinet", "cupboard", "dresser", "nightstand", "wardrobe", "sideboard", "shelf", "bookshelf", "bookcase",
    "sofa", "couch", "bed", "refrigerator", "fridge", "oven", "washing machine",
})


def canonical_label(label: str | None) -> str:
    """Lower case, single spaces for spaces/underscores/hyphens, a plural ``s`` dropped when that is known."""
    if label is None:
        return ""
    key = " ".join(str(label).lower().replace("_", " ").replace("-", " ").split())
    if key not in ROUND_LABELS and key not in SIZE_PRIORS and key.endswith("s") and (
            key[:-1] in ROUND_LABELS or key[:-1] in SIZE_PRIORS):
        return key[:-1]
    return key


def is_round(label: str | None) -> bool:
    return canonical_label(label) in ROUND_LABELS


def against_wall(label: str | None) -> bool:
    return canonical_label(label) in AGAINST_WALL


def size_prior(label: str | None) -> np.ndarray | None:
    """Typical (width, depth, height) of the class, or None."""
    size = SIZE_PRIORS.get(canonical_label(label))
    return None if size is None else np.asarray(size, dtype=np.float64)
