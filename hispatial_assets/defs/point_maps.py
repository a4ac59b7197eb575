"""point_maps: metric XYZ per pixel for every image of a drop, from the configured backend."""

import dagster as dg
import polars as pl

from hispatial_assets.defs.partitions import drops
from hispatial_assets.defs.resources import BackendResource, DataRootResource
from hispatial_assets.defs.stage import StageOutput, run_stage
from hispatial_assets.perception.stages import point_maps_for_drop
from hispatial_assets.storage.point_maps import load_point_map
from hispatial_assets.storage.tables import image_refs
from hispatial_assets.drawing.previews import PREVIEW_IMAGES, point_maps_preview

POINT_MAPS_VERSION = "1"


def preview(table: pl.DataFrame) -> str:
    """The first images' depth colormaps (one scale, with its legend), so the asset page shows what was estimated."""
    return point_maps_preview([(r["image_id"], load_point_map(r["uri"]))
                               for r in table.head(PREVIEW_IMAGES).iter_rows(named=True)])


def build_point_maps_asset(code_version: str) -> dg.AssetsDefinition:
    @dg.asset(
        name="point_maps",
        partitions_def=drops,
        output_required=False,
        deps=["drop_manifest"],
        code_version=code_version,
        group_name="perception",
        pool="gpu",
        kinds={"numpy", "parquet"},
        description="Metric XYZ per pixel (camera frame, meters) + validity mask + intrinsics per image, "
        "stored as compact arrays; load with `hispatial_assets.storage.load_point_map(uri)`.",
    )
    def point_maps(context: dg.AssetExecutionContext, data_root: DataRootResource,
                   point_map_backend: BackendResource):
        root, backend_id = data_root.data_root(), point_map_backend.identity()

        def compute(drop_id: str) -> StageOutput:
            table, rejected = point_maps_for_drop(image_refs(root, drop_id), point_map_backend.build(), backend_id,
                                                  lambda image_id: root.point_map_uri(drop_id, image_id))
            pixels = int((table["width"] * table["height"]).sum()) if len(table) else 0
            return StageOutput({("point_maps", ()): table, ("rejected", (("stage", "point_maps"),)): rejected},
                               len(table), {
                "images": len(table), "rejected": len(rejected),
                "bytes_per_pixel": round(float(table["bytes"].sum()) / max(pixels, 1), 3),
                "mean_valid_fraction": float(table["valid_fraction"].mean() or 0) if len(table) else 0.0,
                "preview": dg.MetadataValue.md(preview(table))})

        yield from run_stage(context, root, compute, backend=backend_id)

    return point_maps
