"""point_maps: metric XYZ per pixel for every image of a drop, from the configured backend."""


import dagster as dg
import numpy as np
import polars as pl

from hispatial_assets import schema
from hispatial_assets.defs.common import finish, now
from hispatial_assets.defs.partitions import drops
from hispatial_assets.defs.resources import BackendResource, DataRootResource
from hispatial_assets.perception.base import ImageRef
from hispatial_assets.storage import io
from hispatial_assets.storage.layout import DataRoot
from hispatial_assets.storage.point_maps import write_point_map

POINT_MAPS_VERSION = "1"


def image_refs(root: DataRoot, drop_id: str) -> list[ImageRef]:
    images = io.read_parquet(root.table_uri("images", drop_id))
    return [ImageRef(r["drop_id"], r["image_id"], r["uri"], r["width"], r["height"]) for r in images.iter_rows(named=True)]


def estimate_point_maps(root: DataRoot, drop_id: str, backend, backend_name: str) -> "tuple[pl.DataFrame, pl.DataFrame]":
    """Estimate and store every image's point map; images the backend cannot handle are rejected."""
    rows, rejected = [], []
    for ref in image_refs(root, drop_id):
        try:
            pm = backend.estimate(ref)
        except (FileNotFoundError, ValueError) as e:
            rejected.append({"drop_id": drop_id, "uri": ref.uri, "reason": str(e), "stage": "point_maps"})
            continue
        uri = root.point_map_uri(drop_id, ref.image_id)
        data = write_point_map(uri, pm)
        valid = pm.mask
        rows.append({
            "drop_id": drop_id, "image_id": ref.image_id, "uri": uri, "backend": backend_name,
            "width": pm.shape[1], "height": pm.shape[0], "valid_fraction": float(valid.mean()),
            "median_depth": float(np.median(pm.xyz[..., 2][valid])) if valid.any() else None,
            "bytes": len(data), "sha256": io.sha256_bytes(data),
        })
    table = schema.conform(pl.DataFrame(rows), "point_maps") if rows else schema.empty("point_maps")
    rej = schema.conform(pl.DataFrame(rejected), "rejected") if rejected else schema.empty("rejected")
    return table, rej


def build_point_maps_asset(code_version: str) -> dg.AssetsDefinition:
    @dg.asset(
        name="point_maps",
        partitions_def=drops,
        deps=["drop_manifest"],
        code_version=code_version,
        group_name="perception",
        pool="gpu",
        kinds={"numpy", "parquet"},
        description="Metric XYZ per pixel (camera frame, meters) + validity mask + intrinsics per image, "
        "stored as compact float16 arrays; load with `hispatial_assets.storage.load_point_map(uri)`.",
    )
    def point_maps(context: dg.AssetExecutionContext, data_root: DataRootResource,
                   point_map_backend: BackendResource) -> dg.MaterializeResult:
        started, root, drop_id = now(), data_root.data_root(), context.partition_key
        backend_id = point_map_backend.identity()
        table, rejected = estimate_point_maps(root, drop_id, point_map_backend.build(), backend_id)
        io.write_parquet(root.table_uri("point_maps", drop_id), table)
        io.write_parquet(root.table_uri("rejected", drop_id, stage="point_maps"), rejected)
        pixels = int((table["width"] * table["height"]).sum()) if len(table) else 0
        version = io.sha256_bytes((io.frame_hash(table) + io.frame_hash(rejected)).encode())
        return finish(context, root, data_version=version, rows=len(table), started_at=started, backend=backend_id,
                      metadata={"images": len(table), "rejected": len(rejected),
                                "bytes_per_pixel": round(float(table["bytes"].sum()) / max(pixels, 1), 3),
                                "mean_valid_fraction": float(table["valid_fraction"].mean() or 0) if len(table) else 0.0})

    return point_maps
