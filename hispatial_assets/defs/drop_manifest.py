"""drop_manifest: what a drop holds (images, sidecars, rejected files, scene-engine truth)."""


import dagster as dg
import polars as pl

from hispatial_assets import schema
from hispatial_assets.defs.stage import StageOutput, run_stage
from hispatial_assets.defs.partitions import drop_check, drops
from hispatial_assets.defs.resources import DataRootResource
from hispatial_assets.storage.drop_scan import scan_drop
from hispatial_assets.storage.images import max_image_pixels
from hispatial_assets.storage.tables import read_table

# 2: image ids unique by construction, EXIF orientation applied and recorded, links and special files rejected
DROP_MANIFEST_VERSION = "2"
MAX_PIXELS = max_image_pixels()  # read once, at definitions load: it is part of the code version


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
    code_version=f"{DROP_MANIFEST_VERSION}|max_pixels={MAX_PIXELS}",
    group_name="ingest",
    kinds={"parquet"},
    description="One row per image of a drop (size, content hash, sidecars found); unreadable files "
    "are recorded in `rejected` with the reason; scene-engine truth goes to `gt_objects`.",
)
def drop_manifest(context: dg.AssetExecutionContext, data_root: DataRootResource):
    root = data_root.data_root()

    def compute(drop_id: str) -> StageOutput:
        manifest = scan_drop(root.drop_uri(drop_id), drop_id, max_pixels=MAX_PIXELS)
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


def no_usable_images_reason(rejected: pl.DataFrame) -> str:
    """Why a drop has no image to work on, in one line: how many files, and the reasons."""
    if rejected.is_empty():
        return "the drop folder holds no image files"
    reasons = rejected.group_by(pl.col("reason").str.split(":").list.first()).len().sort("len", descending=True)
    listed = "; ".join(f"{n} x {r}" for r, n in reasons.iter_rows())
    return f"every file was rejected ({len(rejected)}): {listed}"


@drop_check(asset=drop_manifest, name="has_usable_images", blocking=False,
                description="Warns when no file of the drop could be used (everything rejected, or no images at "
                "all): the run then succeeds with nothing to show for it, so say why. One result per drop.")
def has_usable_images(context: dg.AssetCheckExecutionContext, data_root: DataRootResource) -> dg.AssetCheckResult:
    root, drop_id = data_root.data_root(), context.op_execution_context.partition_key
    images = read_table(root, "images", drop_id)
    rejected = read_table(root, "rejected", drop_id, stage="drop_manifest")
    meta = {"drop": drop_id, "images": len(images), "rejected": len(rejected)}
    if len(images):
        return dg.AssetCheckResult(passed=True, metadata=meta)
    return dg.AssetCheckResult(passed=False, severity=dg.AssetCheckSeverity.WARN,
                               description=f"drop {drop_id}: {no_usable_images_reason(rejected)}", metadata=meta)
