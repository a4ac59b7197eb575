"""Seeded indoor-like object tables for referral tests: furniture on the floor, small items on top of it.

Several instances per class (chairs around tables, bottles on tables), a shared color palette so colors
repeat, size jitter, and 2D boxes projected from the 3D boxes through a pinhole camera at the gravity
frame's origin (no pitch), so boxes, truncation and occlusion agree with positions.
"""

from __future__ import annotations

import numpy as np
import polars as pl

WIDTH, HEIGHT, FOV_X_DEG = 640, 480, 70.0
COLORS = ("white", "black", "gray", "brown", "red", "blue", "green", "yellow")
# label: (width, depth, height) in meters, how many per scene (low, high inclusive)
FLOOR = {
    "table": ((1.2, 0.8, 0.75), (1, 2)), "chair": ((0.5, 0.5, 0.9), (1, 5)), "sofa": ((2.0, 0.9, 0.85), (0, 1)),
    "bed": ((1.6, 2.0, 0.6), (0, 1)), "cabinet": ((0.8, 0.45, 1.0), (0, 2)), "shelf": ((1.0, 0.35, 1.8), (0, 1)),
    "plant": ((0.4, 0.4, 0.9), (0, 2)), "lamp": ((0.35, 0.35, 1.5), (0, 2)), "bench": ((1.4, 0.4, 0.45), (0, 1)),
    "box": ((0.45, 0.35, 0.35), (0, 3)), "person": ((0.5, 0.3, 1.7), (0, 2)),
}
TOP = {  # small items standing on tables, cabinets, benches
    "bottle": (0.07, 0.07, 0.25), "mug": (0.09, 0.09, 0.1), "box": (0.3, 0.2, 0.2),
    "lamp": (0.3, 0.3, 0.5), "monitor": (0.55, 0.2, 0.4), "plant": (0.2, 0.2, 0.35),
}
SUPPORTS = ("table", "cabinet", "bench")


def random_layout(seed: int, *, image_id: str | None = None) -> pl.DataFrame:
    """One image's objects (columns of schema.GT_OBJECTS that referral needs), deterministic in ``seed``."""
    rng = np.random.default_rng(seed)
    camera_height = rng.uniform(1.2, 1.7)
    floor_z = -camera_height
    placed: list[dict] = []
    models: dict[str, list[float]] = {}
    for label, (dims, (lo, hi)) in FLOOR.items():
        for _ in range(int(rng.integers(lo, hi + 1))):
            obj = _place_on_floor(rng, label, dims, floor_z, placed, models.setdefault(label, []))
            if obj is not None:
                placed.append(obj | {"id": len(placed)})
    for support in [o for o in list(placed) if o["label"] in SUPPORTS]:
        for _ in range(int(rng.integers(0, 5))):
            label = str(rng.choice(list(TOP)))
            obj = _place_on(rng, label, TOP[label], support, placed, models.setdefault("top " + label, []))
            if obj is not None:
                placed.append(obj | {"id": len(placed)})
    return _to_frame(placed, image_id or f"layout_{seed}")


def _size(rng, dims, models: list[float]) -> tuple[float, float, float]:
    """Instances of a class often share a model (matching chairs): reuse a scale, else draw a new one."""
    if models and rng.random() < 0.6:
        scale = float(rng.choice(models)) * rng.uniform(0.97, 1.03)
    else:
        scale = rng.uniform(0.7, 1.35)
        models.append(scale)
    return tuple(float(v * scale * rng.uniform(0.95, 1.05)) for v in dims)


def _color(rng, label: str, placed: list[dict]) -> str:
    same = [o["color"] for o in placed if o["label"] == label]
    if same and rng.random() < 0.4:  # matching sets (chairs, bottles) are common
        return str(rng.choice(same))
    return str(rng.choice(COLORS))


def _place_on_floor(rng, label, dims, floor_z, placed, models) -> dict | None:
    w, d, h = _size(rng, dims, models)
    radius = 0.5 * np.hypot(w, d)
    for _ in range(40):
        x, y = rng.uniform(-3.0, 3.0), rng.uniform(1.0, 7.0)
        clear = all(np.hypot(x - o["center_x"], y - o["center_y"]) > radius + o["radius"]
                    for o in placed if o["on"] is None)
        if clear:
            return dict(label=label, color=_color(rng, label, placed), center_x=x, center_y=y,
                        center_z=floor_z + h / 2, width=w, depth=d, height=h, yaw=rng.uniform(-np.pi, np.pi),
                        radius=radius, on=None)
    return None


def _place_on(rng, label, dims, support, placed, models) -> dict | None:
    w, d, h = _size(rng, dims, models)
    sw, sd = support["width"], support["depth"]
    if w > sw * 0.8 or d > sd * 0.8:
        return None
    radius = 0.5 * np.hypot(w, d)
    c, s = np.cos(support["yaw"]), np.sin(support["yaw"])
    for _ in range(20):
        u, v = rng.uniform(-(sw - w) / 2, (sw - w) / 2), rng.uniform(-(sd - d) / 2, (sd - d) / 2)
        x, y = support["center_x"] + u * c - v * s, support["center_y"] + u * s + v * c
        clear = all(np.hypot(x - o["center_x"], y - o["center_y"]) > radius + o["radius"]
                    for o in placed if o["on"] == support["id"])
        if clear:
            top = support["center_z"] + support["height"] / 2
            return dict(label=label, color=_color(rng, label, placed), center_x=x, center_y=y, center_z=top + h / 2,
                        width=w, depth=d, height=h, yaw=support["yaw"] + rng.uniform(-0.3, 0.3), radius=radius,
                        on=support["id"])
    return None


def box_corners(o: dict) -> np.ndarray:
    """(8, 3) gravity-frame corners of a yaw-rotated box."""
    c, s = np.cos(o["yaw"]), np.sin(o["yaw"])
    su, sv, sz = np.meshgrid([-1, 1], [-1, 1], [-1, 1], indexing="ij")
    u, v, z = su.ravel() * o["width"] / 2, sv.ravel() * o["depth"] / 2, sz.ravel() * o["height"] / 2
    return np.stack([o["center_x"] + u * c - v * s, o["center_y"] + u * s + v * c, o["center_z"] + z], axis=1)


def project_box(o: dict) -> tuple[np.ndarray, bool] | None:
    """Pixel xyxy box of the projected corners clipped to the image, and whether it was clipped."""
    corners = box_corners(o)
    if (corners[:, 1] < 0.2).any():
        return None
    f = 0.5 * WIDTH / np.tan(np.deg2rad(FOV_X_DEG) / 2)
    px = f * corners[:, 0] / corners[:, 1] + WIDTH / 2
    py = -f * corners[:, 2] / corners[:, 1] + HEIGHT / 2
    raw = np.array([px.min(), py.min(), px.max(), py.max()])
    box = np.clip(raw, 0, [WIDTH, HEIGHT, WIDTH, HEIGHT])
    if (box[2] - box[0]) < 4 or (box[3] - box[1]) < 4:
        return None
    return box, bool((box != raw).any())


def _to_frame(placed: list[dict], image_id: str) -> pl.DataFrame:
    rows = []
    for o in placed:
        projected = project_box(o)
        if projected is None:
            continue
        o["box"], o["truncated"] = projected
        rows.append(o)
    # occluded: a nearer object's box covers more than 30% of this one's
    for o in rows:
        x0, y0, x1, y1 = o["box"]
        area = (x1 - x0) * (y1 - y0)
        dist = np.hypot(o["center_x"], o["center_y"])

        def overlap(b):
            return max(0.0, min(x1, b[2]) - max(x0, b[0])) * max(0.0, min(y1, b[3]) - max(y0, b[1]))

        o["occluded"] = any(overlap(p["box"]) > 0.3 * area for p in rows
                            if p is not o and np.hypot(p["center_x"], p["center_y"]) < dist)
    ids = {o["id"]: k for k, o in enumerate(rows)}
    return pl.DataFrame({
        "drop_id": ["layouts"] * len(rows), "image_id": [image_id] * len(rows),
        "object_id": pl.Series(range(len(rows)), dtype=pl.Int32),
        "label": [o["label"] for o in rows], "color": [o["color"] for o in rows],
        **{k: pl.Series([float(o[k]) for o in rows], dtype=pl.Float64)
           for k in ("center_x", "center_y", "center_z", "width", "depth", "height", "yaw")},
        **{k: pl.Series([float(o["box"][i]) for o in rows], dtype=pl.Float32)
           for i, k in enumerate(("box_x0", "box_y0", "box_x1", "box_y1"))},
        "truncated": [o["truncated"] for o in rows], "occluded": [o["occluded"] for o in rows],
        "supported_by": pl.Series([ids.get(o["on"]) for o in rows], dtype=pl.Int32),
    }, schema_overrides={"object_id": pl.Int32})


def layout_corpus(n_images: int, seed: int = 0) -> list[pl.DataFrame]:
    return [random_layout(seed * 100_003 + i) for i in range(n_images)]
