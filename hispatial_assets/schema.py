"""Column contracts of every table the pipeline writes (DESIGN §8).

Domain code builds polars DataFrames with these schemas; storage writes them as Parquet;
the catalog's views read them. ``conform`` is the one place a frame is checked against its contract.
"""

from __future__ import annotations

import polars as pl

F32, F64, I32, I64, STR, BOOL = pl.Float32, pl.Float64, pl.Int32, pl.Int64, pl.String, pl.Boolean

IMAGES = {
    "drop_id": STR, "image_id": STR, "uri": STR, "width": I32, "height": I32, "sha256": STR,
    "bytes": I64, "format": STR, "sidecars": STR,  # sidecars: JSON list of sidecar kinds found
    "orientation": I32,  # EXIF orientation of the file (1 = upright); width/height and pixels have it applied
}
REJECTED = {"drop_id": STR, "uri": STR, "reason": STR, "stage": STR}  # stage: which asset turned it away
POINT_MAPS = {
    "drop_id": STR, "image_id": STR, "uri": STR, "backend": STR, "width": I32, "height": I32,
    "valid_fraction": F32, "median_depth": F32, "bytes": I64, "sha256": STR,
}
GRAVITY = {
    "drop_id": STR, "image_id": STR, "backend": STR,
    # camera-to-gravity rotation, row-major (r00 ... r22)
    **{f"r{i}{j}": F64 for i in range(3) for j in range(3)},
    "roll_deg": F64, "pitch_deg": F64, "floor_height": F64,  # floor_height null when no floor found
}
# Objects in the gravity frame (DESIGN §3). yaw is the box yaw; front_yaw the facing direction,
# null when unknown or the object has no front. Angles in radians.
OBJECTS = {
    "drop_id": STR, "image_id": STR, "object_id": I32, "label": STR, "score": F32,
    "mask_rle": STR,  # COCO RLE counts (compressed string), image size from `images`
    "box_x0": F32, "box_y0": F32, "box_x1": F32, "box_y1": F32,  # 2D box, pixels
    "n_points": I32,
    "center_x": F64, "center_y": F64, "center_z": F64, "width": F64, "depth": F64, "height": F64,
    "yaw": F64, "front_yaw": F64, "orientation_confidence": F32,
    "color": STR, "color_r": I32, "color_g": I32, "color_b": I32,
    "truncated": BOOL, "occluded": BOOL, "backend": STR,
}
GT_OBJECTS = {k: v for k, v in OBJECTS.items() if k not in ("score", "orientation_confidence")} | {
    "visible_fraction": F32, "supported_by": I32,  # supported_by: object_id it stands on, or null
}
REFERRALS = {
    "drop_id": STR, "image_id": STR, "object_id": I32, "expression": STR, "method": STR,
    "iou": F32, "verified": BOOL, "backend": STR,
}
QA = {
    "drop_id": STR, "image_id": STR, "qa_id": STR, "level": I32, "task": STR, "format": STR,
    "question": STR, "answer": STR, "answer_value": STR,  # answer_value: JSON (DESIGN §8)
    "object_ids": pl.List(I32), "input_versions": STR, "program": STR, "reasoning": STR,
}
# Per-drop QA statistics that merge exactly across drops (qa/summary.py), what `qa_stats` reads
# (tables/qa_summary/drop_id=<id>/level=<L>/part.parquet). stat: rows | yes | letter | meters_cm | min | max.
QA_SUMMARY = {
    "drop_id": STR, "level": I32, "task": STR, "format": STR, "stat": STR, "key": STR, "n_options": I32,
    "value": F64, "n": I64, "images": I64,
}
LINEAGE = {
    "asset": STR, "partition": STR, "run_id": STR, "code_version": STR, "backend": STR,
    "input_versions": STR,  # JSON {asset: data_version}
    "data_version": STR, "rows": I64, "started_at": pl.Datetime("us", "UTC"),
    "finished_at": pl.Datetime("us", "UTC"),
    "outputs": STR,  # JSON [{uri, bytes, sha256}]: the files it wrote, checked by `hispatial status`
}

# The training rows of a recipe (tables/sft/recipe=<r>/part.parquet): QA rows (source 'spatial') and
# general VQA (source 'general'; level null) of the train and val drops, with the inputs the recipe's
# modality reads. point_map_uri: the estimated map, or the exact one for rgb_gt_xyz.
SFT = {
    "recipe": STR, "split": STR, "source": STR, "modality": STR,
    **{k: v for k, v in QA.items() if k not in ("input_versions", "program", "reasoning")},
    "image_uri": STR, "point_map_uri": STR,
}
# One row per saved checkpoint of a recipe (tables/checkpoints/recipe=<r>/part.parquet).
CHECKPOINTS = {
    "recipe": STR, "step": I64, "uri": STR, "train_loss": F64, "val_loss": F64,
    "data_version": STR, "code_version": STR, "finished_at": pl.Datetime("us", "UTC"),
}
# Scores of a recipe (or baseline) on a benchmark, per category and metric
# (tables/eval_scores/recipe=<r>/benchmark=<b>/part.parquet). value: a fraction in [0, 1] or the
# metric's natural unit (abs-rel error).
EVAL_SCORES = {
    "recipe": STR, "benchmark": STR, "category": STR, "metric": STR, "value": F64, "n": I64,
    "parse_failures": I64,
}

TABLES: dict[str, dict] = {
    "images": IMAGES, "rejected": REJECTED, "point_maps": POINT_MAPS, "gravity": GRAVITY,
    "objects": OBJECTS, "gt_objects": GT_OBJECTS, "referrals": REFERRALS, "qa": QA, "qa_summary": QA_SUMMARY,
    "lineage": LINEAGE, "sft": SFT, "checkpoints": CHECKPOINTS, "eval_scores": EVAL_SCORES,
}


def empty(table: str) -> pl.DataFrame:
    return pl.DataFrame(schema=TABLES[table])


def conform(df: pl.DataFrame, table: str) -> pl.DataFrame:
    """Select and cast to the table's contract; missing nullable columns become nulls."""
    schema = TABLES[table]
    missing = [c for c in schema if c not in df.columns]
    df = df.with_columns([pl.lit(None, dtype=schema[c]).alias(c) for c in missing])
    return df.select([pl.col(c).cast(t, strict=True) for c, t in schema.items()])
