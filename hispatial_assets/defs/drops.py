"""drop_manifest: what a drop holds (images, sidecars, rejected files, scene-engine truth)."""


import dagster as dg
import polars as pl

from hispatial_assets import schema
from hispatial_assets.defs.stage import StageOutput, run_stage
from hispatial_assets.defs.partitions import drops
from hispatial_assets.defs.resources import DataRootResource
from hispatial_assets.storage.drops import scan_drop

DROP_MANIFEST_VERSION = "1"


def ground_truth_objects(images: pl.DataFrame) -> pl.DataFrame:
    """gt_objects rows for images that carry scene-engine truth (synthetic drops only)."""
    from hispatial_assets.scenes import load_truth, truth_objects

    frames = [
        truth_objects(load_truth(row["uri"]), row["drop_id"], row["image_id"])
        for row in images.iter_rows(named=True)
        if "truth" in row["sidecars"]
    ]
    return pl.concat(frames) if frames else schema.empty("gt_objects")


@dg.asset(
    partitions_def=drops,
    output_required=False,
    code_version=DROP_MANIFEST_VERSION,
    group_name="ingest",
    kinds={"parquet"},
    description="One row per image of a drop (size, content hash, sidecars found); unreadable files "
    "are recorded in `rejected` with the reason; scene-engine truth goes to `gt_objects`.",
)
def drop_manifest(context: dg.AssetExecutionContext, data_root: DataRootResource):
    root = data_root.data_root()

    def compute(drop_id: str) -> StageOutput:
        manifest = scan_drop(root.drop_uri(drop_id), drop_id)
        gt = ground_truth_objects(manifest.images)
        for row in manifest.rejected.iter_rows(named=True):
            context.log.warning(f"rejected {row['uri']}: {row['reason']}")
        tables = {("images", ()): manifest.images, ("rejected", (("stage", "drop_manifest"),)): manifest.rejected,
                  ("gt_objects", ()): gt}
        return StageOutput(tables, len(manifest.images), {
            "images": len(manifest.images), "rejected": len(manifest.rejected), "gt_objects": len(gt),
            "rejected_reasons": dg.MetadataValue.md(_reasons_md(manifest.rejected))})

    yield from run_stage(context, root, compute)


def _reasons_md(rejected: pl.DataFrame) -> str:
    if rejected.is_empty():
        return "none"
    return "\n".join(f"- `{r['uri'].rsplit('/', 1)[-1]}`: {r['reason']}" for r in rejected.head(50).iter_rows(named=True))
