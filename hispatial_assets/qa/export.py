"""QA exports for training: HF-datasets Parquet and LLaVA-style JSON.

HF Parquet columns: id, drop_id, image_id, image (path), point_map (path or null),
conversations (list of {from, value}: human question with the "<image>\\n" prefix, gpt answer),
level, task, format, answer_value (JSON text). Load with
``datasets.load_dataset("parquet", data_files=uri)``.

Exports are portable: image and point-map paths are relative to an image root (the folder a trainer
is given, e.g. LLaVA's ``--image_folder``), or the files are copied beside the export
(``copy_media``) and the paths are relative to its folder. Ids are the rows' ``qa_id``, unique
across the whole catalog (it starts with the drop id).
"""

from __future__ import annotations

import json
import posixpath

import polars as pl

from hispatial_assets.storage import io
from hispatial_assets.storage.io import write_bytes, write_parquet


class ExportError(ValueError):
    """The rows cannot be exported as asked (an image outside the image root, repeated ids)."""


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


def _relative_to(uri: str | None, root: str) -> str | None:
    if uri is None:
        return None
    prefix = root.rstrip("/") + "/"
    if not uri.startswith(prefix):
        raise ExportError(f"{uri} is not under the image root {root}: give a folder that holds the images and the "
                          "point maps (the data root does), or copy them beside the export")
    return uri[len(prefix):]


def relative_media(df: pl.DataFrame, image_root: str) -> pl.DataFrame:
    """``image`` and ``point_map`` as paths relative to ``image_root``."""
    return df.with_columns(pl.Series(col, [_relative_to(u, image_root) for u in df[col].to_list()], dtype=pl.String)
                           for col in ("image", "point_map"))


def copy_media(df: pl.DataFrame, out_dir: str) -> pl.DataFrame:
    """Copy each image and point map once to ``out_dir/images/<drop>/`` and ``out_dir/point_maps/<drop>/``;
    the paths become relative to ``out_dir``."""
    copied: dict[str, str] = {}

    def place(uri: str | None, folder: str, drop_id: str, image_id: str) -> str | None:
        if uri is None:
            return None
        if uri not in copied:
            suffix = posixpath.splitext(uri)[1]
            rel = posixpath.join(folder, drop_id, image_id + suffix)
            write_bytes(io.join(out_dir, rel), io.read_bytes(uri))
            copied[uri] = rel
        return copied[uri]

    keys = list(zip(df["drop_id"].to_list(), df["image_id"].to_list()))
    return df.with_columns(
        pl.Series("image", [place(u, "images", d, i) for u, (d, i) in zip(df["image"].to_list(), keys)], dtype=pl.String),
        pl.Series("point_map", [place(u, "point_maps", d, i) for u, (d, i) in zip(df["point_map"].to_list(), keys)],
                  dtype=pl.String))


def _portable(df: pl.DataFrame, out_uri: str, image_root: str | None, copy: bool) -> pl.DataFrame:
    repeated = df.filter(pl.col("qa_id").is_duplicated())["qa_id"].unique().sort()
    if len(repeated):
        raise ExportError(f"{len(repeated)} ids repeat (e.g. {repeated[0]!r}): QA written before qa_id carried the "
                          "drop id; `hispatial refresh` rewrites it")
    if copy:
        return copy_media(df, posixpath.dirname(out_uri.rstrip("/")) or ".")
    return relative_media(df, image_root) if image_root else df


def export_hf_parquet(qa_frame: pl.DataFrame, images_frame: pl.DataFrame, point_maps_frame: pl.DataFrame | None,
                      out_uri: str, levels=None, tasks=None, *, image_root: str | None = None,
                      copy: bool = False) -> str:
    """Write the selected QA rows as one HF-datasets-loadable Parquet file; returns ``out_uri``.
    Paths relative to ``image_root``, or (``copy``) to copies beside the file; else as stored."""
    df = _portable(_joined(_select(qa_frame, levels, tasks), images_frame, point_maps_frame), out_uri, image_root, copy)
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
                      point_maps_frame: pl.DataFrame | None = None, levels=None, tasks=None, *,
                      image_root: str | None = None, copy: bool = False) -> str:
    """Write LLaVA-style JSON: [{id, image, conversations: [{from: human, value: "<image>\\n..."},
    {from: gpt, value: ...}]}], plus point_map, level, task, format and answer_value per record.
    Paths as in `export_hf_parquet`."""
    df = _portable(_joined(_select(qa_frame, levels, tasks), images_frame, point_maps_frame), out_uri, image_root, copy)
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
