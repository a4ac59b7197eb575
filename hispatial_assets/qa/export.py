"""QA exports for training: HF-datasets Parquet and LLaVA-style JSON.

HF Parquet columns: id, drop_id, image_id, image (path/URI), point_map (path/URI or null),
conversations (list of {from, value}: human question with the "<image>\\n" prefix, gpt answer),
level, task, format, answer_value (JSON text). Load with
``datasets.load_dataset("parquet", data_files=uri)``.
"""

from __future__ import annotations

import json

import polars as pl

from hispatial_assets.storage.io import write_bytes, write_parquet


def _select(qa: pl.DataFrame, levels, tasks) -> pl.DataFrame:
    if levels is not None:
        qa = qa.filter(pl.col("level").is_in([int(x) for x in levels]))
    if tasks is not None:
        qa = qa.filter(pl.col("task").is_in(list(tasks)))
    return qa


def _joined(qa: pl.DataFrame, images: pl.DataFrame, point_maps: pl.DataFrame | None) -> pl.DataFrame:
    keys = ["drop_id", "image_id"]
    out = qa.join(images.select(*keys, pl.col("uri").alias("image")), on=keys, how="left")
    if point_maps is not None and len(point_maps):
        out = out.join(point_maps.select(*keys, pl.col("uri").alias("point_map")), on=keys, how="left")
    else:
        out = out.with_columns(pl.lit(None, dtype=pl.String).alias("point_map"))
    return out


def export_hf_parquet(qa_frame: pl.DataFrame, images_frame: pl.DataFrame, point_maps_frame: pl.DataFrame | None,
                      out_uri: str, levels=None, tasks=None) -> str:
    """Write the selected QA rows as one HF-datasets-loadable Parquet file; returns ``out_uri``."""
    df = _joined(_select(qa_frame, levels, tasks), images_frame, point_maps_frame)
    conv = pl.concat_list(
        pl.struct(pl.lit("human").alias("from"), (pl.lit("<image>\n") + pl.col("question")).alias("value")),
        pl.struct(pl.lit("gpt").alias("from"), pl.col("answer").alias("value")),
    ).alias("conversations")
    out = df.select(
        pl.col("qa_id").alias("id"), "drop_id", "image_id", "image", "point_map", conv,
        "level", "task", "format", "answer_value",
    )
    return write_parquet(out_uri, out)


def export_llava_json(qa_frame: pl.DataFrame, images_frame: pl.DataFrame, out_uri: str,
                      point_maps_frame: pl.DataFrame | None = None, levels=None, tasks=None) -> str:
    """Write LLaVA-style JSON: [{id, image, conversations: [{from: human, value: "<image>\\n..."},
    {from: gpt, value: ...}]}], plus point_map, level, task, format and answer_value per record."""
    df = _joined(_select(qa_frame, levels, tasks), images_frame, point_maps_frame)
    records = []
    for r in df.iter_rows(named=True):
        rec = {"id": r["qa_id"], "image": r["image"],
               "conversations": [{"from": "human", "value": "<image>\n" + r["question"]},
                                 {"from": "gpt", "value": r["answer"]}],
               "level": r["level"], "task": r["task"], "format": r["format"], "answer_value": r["answer_value"]}
        if r["point_map"] is not None:
            rec["point_map"] = r["point_map"]
        records.append(rec)
    return write_bytes(out_uri, json.dumps(records, ensure_ascii=False).encode())
