"""gravity, objects, referrals: stage 1 and 2 of the pipeline, one partition per drop."""

import dagster as dg
import numpy as np
import polars as pl

from hispatial_assets.defs.partitions import drops
from hispatial_assets.defs.resources import BackendResource, DataRootResource
from hispatial_assets.defs.stage import StageOutput, run_stage
from hispatial_assets.geometry.masks import decode_rles
from hispatial_assets.geometry.metrics import box_errors
from hispatial_assets.perception.referral.metrics import referral_metrics
from hispatial_assets.perception.stages import gravity_for_drop, objects_for_drop, referrals_for_drop
from hispatial_assets.storage.tables import gravity_by_image, image_refs, point_map_loader, read_table
from hispatial_assets.viz import objects_preview

GRAVITY_VERSION, OBJECTS_VERSION, REFERRALS_VERSION = "1", "1", "1"
REFRESH = (dg.AutomationCondition.code_version_changed()
           | dg.AutomationCondition.any_deps_match(dg.AutomationCondition.data_version_changed())
           ) & ~dg.AutomationCondition.any_deps_in_progress() & ~dg.AutomationCondition.in_progress()


def build_gravity_asset(code_version: str) -> dg.AssetsDefinition:
    @dg.asset(name="gravity", partitions_def=drops, output_required=False, deps=["point_maps"], code_version=code_version,
              group_name="perception", kinds={"parquet"}, automation_condition=REFRESH,
              description="Camera-to-gravity rotation per image (roll, pitch) and the floor height when found.")
    def gravity(context: dg.AssetExecutionContext, data_root: DataRootResource,
                gravity_backend: BackendResource):
        root, backend_id = data_root.data_root(), gravity_backend.identity()

        def compute(drop_id: str) -> StageOutput:
            table, rejected = gravity_for_drop(image_refs(root, drop_id), point_map_loader(root, drop_id),
                                               gravity_backend.build(), backend_id)
            floors = table["floor_height"].is_not_null().sum() if len(table) else 0
            return StageOutput({("gravity", ()): table, ("rejected", (("stage", "gravity"),)): rejected}, len(table), {
                "images": len(table), "floor_found": int(floors),
                "mean_abs_roll_deg": float(table["roll_deg"].abs().mean() or 0) if len(table) else 0.0,
                "mean_abs_pitch_deg": float(table["pitch_deg"].abs().mean() or 0) if len(table) else 0.0})

        yield from run_stage(context, root, compute, backend=backend_id)

    return gravity


def build_objects_asset(code_version: str) -> dg.AssetsDefinition:
    @dg.asset(name="objects", partitions_def=drops, output_required=False, deps=["point_maps", "gravity"], code_version=code_version,
              group_name="perception", pool="gpu", kinds={"parquet"}, automation_condition=REFRESH,
              description="Per object: class, score, mask (RLE), 2D box, gravity-frame 3D box (center, extents, "
              "yaw), front yaw, color, truncated/occluded flags.")
    def objects(context: dg.AssetExecutionContext, data_root: DataRootResource, detector: BackendResource,
                orientation_backend: BackendResource):
        root = data_root.data_root()
        backend_id = f"{detector.identity()}/{orientation_backend.identity()}"

        def compute(drop_id: str) -> StageOutput:
            gravity = gravity_by_image(read_table(root, "gravity", drop_id))
            refs, point_maps = image_refs(root, drop_id), point_map_loader(root, drop_id)
            table, rejected = objects_for_drop(refs, point_maps, gravity, detector.build(), orientation_backend.build(),
                                               backend_id)
            counts = table.group_by("label").len().sort("len", descending=True) if len(table) else None
            return StageOutput({("objects", ()): table, ("rejected", (("stage", "objects"),)): rejected}, len(table), {
                "objects": len(table), "images_with_objects": table["image_id"].n_unique() if len(table) else 0,
                "with_front": int(table["front_yaw"].is_not_null().sum()) if len(table) else 0,
                "truncated": int(table["truncated"].sum()) if len(table) else 0,
                "labels": dg.MetadataValue.json(dict(counts.iter_rows()) if counts is not None else {}),
                "preview": dg.MetadataValue.md(objects_preview(refs, table, gravity, point_maps))})

        yield from run_stage(context, root, compute, backend=backend_id)

    return objects


def match_to_truth(objects: pl.DataFrame, truth: pl.DataFrame, shape_of) -> pl.DataFrame:
    """Pairs (object, gt object) per image by mask IoU ≥ 0.5, greedy on IoU."""
    from hispatial_assets.geometry.masks import mask_ious

    pairs = []
    for (image_id,), pred in objects.group_by("image_id"):
        gt = truth.filter(pl.col("image_id") == image_id)
        if gt.is_empty():
            continue
        shape = shape_of(image_id)
        ious = mask_ious(decode_rles(pred["mask_rle"].to_list(), shape), decode_rles(gt["mask_rle"].to_list(), shape))
        used_p, used_g = set(), set()
        for flat in np.argsort(-ious, axis=None):
            i, j = np.unravel_index(flat, ious.shape)
            if ious[i, j] < 0.5:
                break
            if i in used_p or j in used_g:
                continue
            used_p.add(i), used_g.add(j)
            pairs.append((pred.row(int(i), named=True), gt.row(int(j), named=True), float(ious[i, j])))
    return pairs


@dg.asset_check(asset="objects", description="On synthetic drops: objects vs gt_objects matched by mask IoU; "
                "center/size/yaw errors and label agreement as metadata. Fails if fewer than 90% of truth objects "
                "are matched with the right label.")
def objects_match_ground_truth(context: dg.AssetCheckExecutionContext, data_root: DataRootResource) -> dg.AssetCheckResult:
    root = data_root.data_root()
    partition = context.op_execution_context.partition_key if context.op_execution_context.has_partition_key else None
    drop_ids = [partition] if partition else context.instance.get_dynamic_partitions("drops")
    objects = pl.concat([read_table(root, "objects", d) for d in drop_ids])
    truth = pl.concat([read_table(root, "gt_objects", d) for d in drop_ids])
    if truth.is_empty():
        return dg.AssetCheckResult(passed=True, metadata={"note": "no ground truth (not a synthetic drop)"})
    images = pl.concat([read_table(root, "images", d) for d in drop_ids])
    sizes = {r["image_id"]: (r["height"], r["width"]) for r in images.iter_rows(named=True)}
    pairs = match_to_truth(objects, truth, sizes.__getitem__)
    if not pairs:
        return dg.AssetCheckResult(passed=False, metadata={"matched": 0, "truth_objects": len(truth)})
    cols = ["center_x", "center_y", "center_z", "width", "depth", "height", "yaw"]
    pred = pl.DataFrame([{c: p[c] for c in cols} for p, _, _ in pairs])
    gt = pl.DataFrame([{c: g[c] for c in cols} for _, g, _ in pairs])
    errors = box_errors(pred, gt)
    label_ok = float(np.mean([p["label"] == g["label"] for p, g, _ in pairs]))
    matched_share = len(pairs) / len(truth)
    meta = {"truth_objects": len(truth), "matched": len(pairs), "matched_share": round(matched_share, 4),
            "label_agreement": round(label_ok, 4),
            **{f"median_{c}": float(errors[c].median()) for c in errors.columns if errors[c].dtype.is_numeric()}}
    return dg.AssetCheckResult(passed=bool(matched_share * label_ok >= 0.9), metadata=meta)


def build_referrals_asset(code_version: str) -> dg.AssetsDefinition:
    @dg.asset(name="referrals", partitions_def=drops, output_required=False, deps=["objects"], code_version=code_version,
              group_name="perception", pool="gpu", kinds={"parquet"}, automation_condition=REFRESH,
              description="Per object a referring expression that picks out exactly that object "
              "(template: geometry-verified; vlm: grounding-verified), else class + box fallback.")
    def referrals(context: dg.AssetExecutionContext, data_root: DataRootResource,
                  referrer: BackendResource):
        root, backend_id = data_root.data_root(), referrer.identity()

        def compute(drop_id: str) -> StageOutput:
            table = referrals_for_drop(image_refs(root, drop_id), read_table(root, "objects", drop_id),
                                       referrer.build(), backend_id)
            m = referral_metrics(table)
            meta = {"referrals": len(table), "verification_pass_rate": m.get("verified_rate", 0.0),
                    "fallback_share": m.get("fallback_share", 0.0),
                    "methods": dg.MetadataValue.json(m.get("methods", {})),
                    "words": dg.MetadataValue.json(m.get("words", {}))}
            return StageOutput({("referrals", ()): table}, len(table), meta)

        yield from run_stage(context, root, compute, backend=backend_id)

    return referrals


def rotations_by_image(root, drop_id: str) -> dict:
    return {k: g.rotation for k, g in gravity_by_image(read_table(root, "gravity", drop_id)).items()}
