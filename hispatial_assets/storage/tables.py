"""Reading one drop's tables and point maps back (what downstream stages consume)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import polars as pl

from hispatial_assets import schema
from hispatial_assets.geometry.camera import PointMap
from hispatial_assets.geometry.frames import Gravity
from hispatial_assets.storage.images import ImageRef
from hispatial_assets.storage import io
from hispatial_assets.storage.layout import DataRoot
from hispatial_assets.storage.point_maps import load_point_map


def read_table(root: DataRoot, table: str, drop_id: str, **sub: object) -> pl.DataFrame:
    uri = root.table_uri(table, drop_id, **sub)
    return io.read_parquet(uri) if io.exists(uri) else schema.empty(table)


def image_refs(root: DataRoot, drop_id: str) -> list[ImageRef]:
    images = read_table(root, "images", drop_id)
    return [ImageRef(r["drop_id"], r["image_id"], r["uri"], r["width"], r["height"]) for r in images.iter_rows(named=True)]


def point_map_loader(root: DataRoot, drop_id: str):
    """image_id -> PointMap (None when the image has none), each file read at most once."""
    uris = dict(read_table(root, "point_maps", drop_id).select("image_id", "uri").iter_rows())

    @lru_cache(maxsize=4)
    def load(image_id: str) -> PointMap | None:
        uri = uris.get(image_id)
        return load_point_map(uri) if uri else None

    return load


def gravity_by_image(table: pl.DataFrame) -> dict[str, Gravity]:
    rot_cols = [f"r{i}{j}" for i in range(3) for j in range(3)]
    out = {}
    for row in table.iter_rows(named=True):
        R = np.array([row[c] for c in rot_cols], dtype=np.float64).reshape(3, 3)
        out[row["image_id"]] = Gravity(rotation=R, floor_height=row["floor_height"])
    return out


def gravity_row(drop_id: str, image_id: str, g: Gravity, backend: str) -> dict:
    roll, pitch = g.roll_pitch_deg
    row = {"drop_id": drop_id, "image_id": image_id, "backend": backend, "roll_deg": roll, "pitch_deg": pitch,
           "floor_height": g.floor_height}
    row.update({f"r{i}{j}": float(g.rotation[i, j]) for i in range(3) for j in range(3)})
    return row
