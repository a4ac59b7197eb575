"""Hand-built object tables and point maps for the QA tests (no scene engine needed)."""

from __future__ import annotations

import numpy as np
import polars as pl

from hispatial_assets.geometry.camera import intrinsics_from_fov, unproject
from hispatial_assets.qa import ImageInputs
from hispatial_assets.schema import conform

LABELS = ("chair", "chair", "table", "sofa", "lamp", "box", "plant", "shelf", "cup", "bench", "person")
COLORS = ("red", "blue", "green", "white", "black", "brown")


def objects_frame(seed: int, n: int = 9, image_id: str = "img", drop_id: str = "d0", width: int = 640,
                  height: int = 480) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    labels = [LABELS[i] for i in rng.integers(0, len(LABELS), n)]
    cx = rng.uniform(-3, 3, n)
    cy = rng.uniform(1.0, 8.0, n)
    h = rng.uniform(0.1, 2.0, n)
    cz = -1.5 + h / 2 + rng.choice([0.0, 0.0, 0.75], n)
    w, d = rng.uniform(0.1, 2.0, n), rng.uniform(0.1, 1.5, n)
    yaw = rng.uniform(-np.pi, np.pi, n)
    has_front = rng.random(n) < 0.7
    x0 = rng.uniform(0, width - 60, n)
    y0 = rng.uniform(0, height - 60, n)
    return conform(pl.DataFrame({
        "drop_id": drop_id, "image_id": image_id, "object_id": np.arange(1, n + 1, dtype=np.int32) * 2,
        "label": labels, "score": np.ones(n, np.float32),
        "box_x0": x0, "box_y0": y0, "box_x1": x0 + rng.uniform(20, 60, n), "box_y1": y0 + rng.uniform(20, 60, n),
        "n_points": np.full(n, 500, np.int32),
        "center_x": cx, "center_y": cy, "center_z": cz, "width": w, "depth": d, "height": h, "yaw": yaw,
        "front_yaw": pl.Series(np.where(has_front, yaw + np.pi / 2, np.nan)).fill_nan(None),
        "color": [COLORS[i] for i in rng.integers(0, len(COLORS), n)],
        "truncated": rng.random(n) < 0.15, "occluded": rng.random(n) < 0.15, "backend": "test",
    }), "objects")


def referrals_frame(objects: pl.DataFrame, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed + 1)
    rows = []
    for oid, label, color in zip(objects["object_id"], objects["label"], objects["color"]):
        method = ("template", "vlm", "fallback")[int(rng.integers(0, 3))]
        expr = f'the {color} {label} #{oid}' if method != "fallback" else f"the {label} in the box [1, 2, 3, {oid}]"
        if rng.random() < 0.1:
            expr = f'the "quoted" {label} #{oid}'
        rows.append({"drop_id": objects["drop_id"][0], "image_id": objects["image_id"][0], "object_id": oid,
                     "expression": expr, "method": method, "iou": 0.9, "verified": method != "fallback",
                     "backend": "test"})
    return conform(pl.DataFrame(rows), "referrals")


def point_map(seed: int, width: int = 160, height: int = 120):
    rng = np.random.default_rng(seed + 2)
    yy, xx = np.mgrid[0:height, 0:width]
    depth = 2.0 + 6.0 * (1 - yy / height) + 0.5 * np.sin(xx / 17.0) + rng.uniform(0, 0.3, (height, width))
    depth[rng.random((height, width)) < 0.05] = 0.0  # invalid pixels
    return unproject(depth.astype(np.float32), intrinsics_from_fov(width, height, 70.0))


def image_inputs(seed: int, n: int = 9, drop_id: str = "d0") -> ImageInputs:
    image_id = f"img{seed:04d}"
    obj = objects_frame(seed, n, image_id, drop_id)
    return ImageInputs(drop_id=drop_id, image_id=image_id, width=640, height=480, objects=obj,
                       referrals=referrals_frame(obj, seed), point_map=point_map(seed),
                       input_versions={"objects": f"v{seed}"})
