"""Perception stages over one drop: gravity, objects, referrals (the loops the assets call).

Each takes the drop's image refs plus the upstream results and returns tables in the schema's
contracts; images a backend cannot handle are returned as `rejected` rows with the reason.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import polars as pl

from hispatial_assets import schema
from hispatial_assets.geometry.boxes import MIN_POINTS
from hispatial_assets.geometry.camera import PointMap
from hispatial_assets.geometry.frames import Gravity
from hispatial_assets.perception.base import ImageRef
from hispatial_assets.perception.objects import detect_objects
from hispatial_assets.storage.tables import gravity_row

PointMapLoader = Callable[[str], "PointMap | None"]


def _frame(rows: list[dict], table: str) -> pl.DataFrame:
    return schema.conform(pl.DataFrame(rows), table) if rows else schema.empty(table)


def _rejected(drop_id: str, ref: ImageRef, reason: str, stage: str) -> dict:
    return {"drop_id": drop_id, "uri": ref.uri, "reason": reason, "stage": stage}


def point_maps_for_drop(refs: list[ImageRef], backend, backend_id: str, point_map_uri: Callable[[str], str]
                        ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Estimate and store every image's point map at ``point_map_uri(image_id)``."""
    import numpy as np

    from hispatial_assets.storage import io
    from hispatial_assets.storage.point_maps import write_point_map

    rows, rejected = [], []
    for ref, pm in _estimate_point_maps(refs, backend):
        if isinstance(pm, Exception):
            rejected.append(_rejected(ref.drop_id, ref, str(pm), "point_maps"))
            continue
        uri = point_map_uri(ref.image_id)
        data = write_point_map(uri, pm)
        valid = pm.mask
        rows.append({
            "drop_id": ref.drop_id, "image_id": ref.image_id, "uri": uri, "backend": backend_id,
            "width": pm.shape[1], "height": pm.shape[0], "valid_fraction": float(valid.mean()),
            "median_depth": float(np.median(pm.xyz[..., 2][valid])) if valid.any() else None,
            "bytes": len(data), "sha256": io.sha256_bytes(data),
        })
    return _frame(rows, "point_maps"), _frame(rejected, "rejected")


def _estimate_point_maps(refs: list[ImageRef], backend) -> Iterator[tuple[ImageRef, PointMap | Exception]]:
    """Each image's point map, or the error that rejects it. Backends with ``estimate_batch`` get
    ``batch_size`` images at a time; a failing batch is retried image by image, so only the bad image
    is rejected."""
    size = int(getattr(backend, "batch_size", 1)) if hasattr(backend, "estimate_batch") else 1
    for start in range(0, len(refs), size):
        chunk = refs[start: start + size]
        if len(chunk) > 1:
            try:
                yield from zip(chunk, backend.estimate_batch(chunk))
                continue
            except (FileNotFoundError, ValueError):
                pass
        for ref in chunk:
            try:
                yield ref, backend.estimate(ref)
            except (FileNotFoundError, ValueError) as e:
                yield ref, e


def gravity_for_drop(refs: list[ImageRef], point_maps: PointMapLoader, backend, backend_id: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    rows, rejected = [], []
    for ref in refs:
        pm = point_maps(ref.image_id)
        if pm is None:
            continue  # no point map: already rejected upstream
        try:
            rows.append(gravity_row(ref.drop_id, ref.image_id, backend.estimate(ref, pm), backend_id))
        except (FileNotFoundError, ValueError) as e:
            rejected.append(_rejected(ref.drop_id, ref, str(e), "gravity"))
    return _frame(rows, "gravity"), _frame(rejected, "rejected")


def objects_for_drop(refs: list[ImageRef], point_maps: PointMapLoader, gravity: dict[str, Gravity], detector,
                     orientation, backend_id: str, *, min_points: int = MIN_POINTS) -> tuple[pl.DataFrame, pl.DataFrame]:
    frames, rejected = [], []
    for ref in refs:
        pm, g = point_maps(ref.image_id), gravity.get(ref.image_id)
        if pm is None or g is None:
            continue
        try:
            frames.append(detect_objects(ref, pm, g, detector, orientation, backend=backend_id, min_points=min_points))
        except (FileNotFoundError, ValueError) as e:
            rejected.append(_rejected(ref.drop_id, ref, str(e), "objects"))
    objects = pl.concat(frames) if frames else schema.empty("objects")
    return objects, _frame(rejected, "rejected")


def referrals_for_drop(refs: list[ImageRef], objects: pl.DataFrame, referrer, backend_id: str) -> pl.DataFrame:
    frames = []
    by_image = {k[0]: g for k, g in objects.group_by("image_id")}
    for ref in refs:
        objs = by_image.get(ref.image_id)
        if objs is None or objs.is_empty():
            continue
        frames.append(referrer.refer(ref, objs.sort("object_id")).with_columns(pl.lit(backend_id).alias("backend")))
    return schema.conform(pl.concat(frames, how="diagonal_relaxed"), "referrals") if frames else schema.empty("referrals")
