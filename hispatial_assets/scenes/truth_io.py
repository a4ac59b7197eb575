"""Scene-engine drops on any fsspec root, and the readers of their ground truth.

A drop is ``{root}/drops/{drop_id}/``: per image ``<id>.png``, ``<id>.truth.npz`` (depth, instances),
``<id>.truth.json`` (camera, gravity, objects), optionally the ``sensor`` sidecars ``<id>.depth.png``
(uint16 mm) and ``<id>.intrinsics.json``; ``_READY`` is written last.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import polars as pl

from hispatial_assets import schema
from hispatial_assets.geometry.camera import PointMap, unproject
from hispatial_assets.geometry.frames import Gravity
from hispatial_assets.scenes.layout import generate_scene
from hispatial_assets.scenes.render import RenderedImage, render
from hispatial_assets.storage import io

BACKEND = "scene_engine"
READY = "_READY"
_SUFFIXES = (".truth.json", ".truth.npz", ".depth.png", ".intrinsics.json", ".png", ".jpg", ".jpeg")


def image_seed(seed: int, index: int) -> int:
    """The scene seed of image ``index`` of a drop made with ``seed``."""
    return int(np.random.SeedSequence([int(seed), int(index)]).generate_state(1, dtype=np.uint32)[0])


def image_kind(index: int, outdoor_share: float) -> str:
    """Outdoor images spread evenly: exactly floor(n * share) of the first n images are outdoor."""
    return "outdoor" if np.floor((index + 1) * outdoor_share) > np.floor(index * outdoor_share) else "indoor"


def image_id(index: int) -> str:
    return f"img_{index:04d}"


def depth_png(depth: np.ndarray) -> bytes:
    """16-bit PNG of the depth in millimeters, 0 = invalid, as depth sensors write it.

    Like a sensor, it has a range: beyond 65.535 m (far ground, distant facades) reads as invalid.
    """
    mm = np.round(np.nan_to_num(np.asarray(depth, np.float64), nan=0.0, posinf=0.0) * 1000.0)
    return io.encode_png(np.where((mm > 0) & (mm <= 65535), mm, 0).astype(np.uint16))


def write_image(drop_uri: str, image_id: str, image: RenderedImage, sensor_sidecars: bool = False) -> list[str]:
    """Write one rendered image and its sidecars into a drop folder; returns the URIs written."""
    stem = io.join(drop_uri, image_id)
    uris = [
        io.write_bytes(f"{stem}.png", io.encode_png(image.rgb)),
        io.write_npz(f"{stem}.truth.npz", compresslevel=1, depth=image.depth.astype(np.float32),
                     instances=image.instances.astype(np.uint16)),
        io.write_json(f"{stem}.truth.json", image.truth_dict()),
    ]
    if sensor_sidecars:
        uris.append(io.write_bytes(f"{stem}.depth.png", depth_png(image.depth)))
        uris.append(io.write_json(f"{stem}.intrinsics.json",
                                  {"intrinsics": np.asarray(image.intrinsics, dtype=np.float64).tolist()}))
    return uris


def write_drop(root_uri: str, drop_id: str, n_images: int = 8, seed: int = 0, outdoor_share: float = 0.25,
               width: int = 512, height: int = 384, sensor_sidecars: bool = False, *,
               nthreads: int = 1, progress: Callable[[int], object] | None = None) -> list[str]:
    """Render a drop of ``n_images`` scenes under ``{root_uri}/drops/{drop_id}/``; returns the image ids.

    Same arguments, same bytes: image seeds derive from (seed, index) only. ``progress(1)`` after each image.
    """
    drop_uri = io.join(root_uri, "drops", drop_id)
    ids = []
    for i in range(n_images):
        scene = generate_scene(image_seed(seed, i), image_kind(i, outdoor_share))
        write_image(drop_uri, image_id(i), render(scene, width, height, nthreads=nthreads), sensor_sidecars)
        ids.append(image_id(i))
        if progress:
            progress(1)
    io.write_bytes(io.join(drop_uri, READY), b"")
    return ids


@dataclass
class SceneTruth:
    """The ground truth of one scene-engine image, as read back from its sidecars."""

    seed: int
    kind: str
    width: int
    height: int
    depth: np.ndarray  # (H, W) float32 z-depth, 0 = invalid
    instances: np.ndarray  # (H, W) uint16, 0 = background
    intrinsics: np.ndarray  # (3, 3)
    rotation: np.ndarray  # (3, 3) camera -> gravity
    floor_height: float
    roll_deg: float
    pitch_deg: float
    fov_deg: float
    objects: list[dict]

    def point_map(self) -> PointMap:
        return unproject(self.depth, self.intrinsics)

    def gravity(self) -> Gravity:
        return Gravity(rotation=self.rotation, floor_height=self.floor_height)

    def mask(self, object_id: int) -> np.ndarray:
        return self.instances == object_id

    def object(self, object_id: int) -> dict:
        return next(o for o in self.objects if o["object_id"] == object_id)


def truth_stem(image_uri_or_stem: str) -> str:
    s = str(image_uri_or_stem)
    for suffix in _SUFFIXES:
        if s.lower().endswith(suffix):
            return s[: -len(suffix)]
    return s


def load_truth(image_uri_or_stem: str) -> SceneTruth:
    """Read ``<stem>.truth.json`` and ``<stem>.truth.npz`` of an image (its URI or its stem)."""
    stem = truth_stem(image_uri_or_stem)
    doc = io.read_json(f"{stem}.truth.json")
    arrays = io.read_npz(f"{stem}.truth.npz")
    return SceneTruth(
        seed=int(doc["seed"]), kind=doc["kind"], width=int(doc["width"]), height=int(doc["height"]),
        depth=arrays["depth"], instances=arrays["instances"],
        intrinsics=np.asarray(doc["intrinsics"], dtype=np.float64),
        rotation=np.asarray(doc["rotation"], dtype=np.float64), floor_height=float(doc["floor_height"]),
        roll_deg=float(doc["roll_deg"]), pitch_deg=float(doc["pitch_deg"]), fov_deg=float(doc["fov_deg"]),
        objects=list(doc["objects"]),
    )


def truth_objects(truth: SceneTruth | RenderedImage, drop_id: str, image_id: str) -> pl.DataFrame:
    """The image's objects as rows of `schema.GT_OBJECTS` (gravity frame, radians).

    Takes truth read back from a drop or straight from `render` (both carry the same object dicts).
    """
    if not truth.objects:
        return schema.empty("gt_objects")
    rows = [{
        "drop_id": drop_id, "image_id": image_id, "object_id": o["object_id"], "label": o["label"],
        "mask_rle": o["mask_rle"],
        "box_x0": o["box_2d"][0], "box_y0": o["box_2d"][1], "box_x1": o["box_2d"][2], "box_y1": o["box_2d"][3],
        "n_points": o["n_points"],
        "center_x": o["center"][0], "center_y": o["center"][1], "center_z": o["center"][2],
        "width": o["extents"][0], "depth": o["extents"][1], "height": o["extents"][2],
        "yaw": o["yaw"], "front_yaw": o["front_yaw"],
        "color": o["color"], "color_r": o["color_rgb"][0], "color_g": o["color_rgb"][1], "color_b": o["color_rgb"][2],
        "truncated": o["truncated"], "occluded": o["occluded"], "backend": BACKEND,
        "visible_fraction": o["visible_fraction"], "supported_by": o["supported_by"],
    } for o in truth.objects]
    df = pl.DataFrame(rows, schema_overrides={"front_yaw": pl.Float64, "supported_by": pl.Int32}, strict=False)
    return schema.conform(df, "gt_objects")
