"""Object tables from the scene engine (`hispatial_assets.scenes`) for referral tests and the benchmark.

Preferred: render each scene and take its ground-truth objects (`truth_objects`), exactly what the
`synthetic` detection backend hands the referral stage. `layout_objects` reads the same scenes'
objects straight from `generate_scene` (2D boxes by projecting the 3D boxes, visibility by the image
frame only) for when rendering is too slow for a test.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from hispatial_assets import scenes

WIDTH, HEIGHT = 320, 240


def rendered_corpus(n_images: int, *, kinds=("indoor", "outdoor"), width: int = WIDTH,
                    height: int = HEIGHT) -> list[tuple[pl.DataFrame, int, int]]:
    """(ground-truth objects, image width, image height) per rendered scene (small renders: truth is metric)."""
    out = []
    for i in range(n_images):
        kind = kinds[i % len(kinds)]
        truth = scenes.render(scenes.generate_scene(i, kind), width, height)
        objects = scenes.truth_objects(truth, "scenes", f"{kind}_{i:04d}")
        height, width = _image_size(truth)
        out.append((objects, width, height))
    return out


def _image_size(truth) -> tuple[int, int]:
    for name in ("rgb", "image"):
        arr = getattr(truth, name, None)
        if arr is not None:
            return tuple(np.asarray(arr).shape[:2])
    return int(truth.height), int(truth.width)


def layout_objects(seed: int, kind: str = "indoor", width: int = WIDTH, height: int = HEIGHT) -> pl.DataFrame:
    """One scene's objects in the gravity frame with projected 2D boxes; objects out of view are dropped."""
    scene = scenes.generate_scene(seed, kind)
    K = scene.camera.intrinsics(width, height)
    R = scene.camera.rotation  # camera -> gravity
    rows = []
    for o in scene.objects:
        corners = _corners(o.center, o.extents, o.yaw)
        cam = corners @ R  # gravity -> camera: R.T @ p
        if (cam[:, 2] < 0.1).any():
            continue
        px = K[0, 0] * cam[:, 0] / cam[:, 2] + K[0, 2]
        py = K[1, 1] * cam[:, 1] / cam[:, 2] + K[1, 2]
        raw = np.array([px.min(), py.min(), px.max(), py.max()])
        box = np.clip(raw, 0, [width, height, width, height])
        if box[2] - box[0] < 2 or box[3] - box[1] < 2:
            continue
        rows.append(dict(object_id=o.object_id, label=o.label, color=o.color,
                         center_x=float(o.center[0]), center_y=float(o.center[1]), center_z=float(o.center[2]),
                         width=float(o.extents[0]), depth=float(o.extents[1]), height=float(o.extents[2]),
                         yaw=float(o.yaw), box_x0=box[0], box_y0=box[1], box_x1=box[2], box_y1=box[3],
                         truncated=bool((box != raw).any()), occluded=False, supported_by=o.supported_by))
    frame = pl.DataFrame(rows, schema_overrides={"object_id": pl.Int32, "supported_by": pl.Int32})
    return frame.with_columns(drop_id=pl.lit("scene_layouts"), image_id=pl.lit(f"{kind}_{seed:04d}"))


def layout_corpus(n_images: int, *, kinds=("indoor", "outdoor")) -> list[tuple[pl.DataFrame, int, int]]:
    out = []
    for i in range(n_images):
        frame = layout_objects(i, kinds[i % len(kinds)])
        if len(frame):
            out.append((frame, WIDTH, HEIGHT))
    return out


def _corners(center, extents, yaw) -> np.ndarray:
    c, s = np.cos(yaw), np.sin(yaw)
    su, sv, sz = (g.ravel() for g in np.meshgrid([-1, 1], [-1, 1], [-1, 1], indexing="ij"))
    u, v, z = su * extents[0] / 2, sv * extents[1] / 2, sz * extents[2] / 2
    return np.stack([center[0] + u * c - v * s, center[1] + u * s + v * c, center[2] + z], axis=1)
