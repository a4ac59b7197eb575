"""Per-drop QA statistics, computed when a level is materialized, so that `qa_stats` never scans rows.

At the paper's scale (2B QA rows) `sql/qa_stats.sql` cannot read every row's JSON answer in reasonable
time; it reads these instead: a few hundred rows per drop and level, in one long table
(``tables/qa_summary/drop_id=<id>/level=<L>/part.parquet``), that merge exactly across drops:

=========  ==========================================  ============================================
stat       key / value                                 n
=========  ==========================================  ============================================
rows       (per task and format)                       rows; ``images``: distinct images
yes        (boolean rows)                              rows answered yes
letter     key = the correct letter, ``n_options``     choice rows with that letter and option count
meters_cm  value = a free numeric answer in meters,    free rows with that value (quantiles merge
           rounded to the centimetre                   from these counts, exact at 1 cm)
min, max   value = the exact extreme, in meters        free numeric rows
=========  ==========================================  ============================================

``sql/qa_stats_from_rows.sql`` computes the same statistics from the rows (the check of this file).
"""

from __future__ import annotations

import polars as pl

from hispatial_assets import schema

KEYS = ["drop_id", "level", "task", "format"]
ORDER = [*KEYS, "stat", "key", "n_options", "value"]  # one row order, whichever way a summary was built


def _answer(field: str) -> pl.Expr:
    return pl.col("answer_value").str.json_path_match(f"$.{field}")


def _meters() -> pl.Expr:
    """A free answer's value in meters (``meters``, else ``value``), as qa_stats_from_rows.sql reads it."""
    return pl.coalesce(_answer("meters").cast(pl.Float64, strict=False), _answer("value").cast(pl.Float64, strict=False))


def summarize_qa(qa: pl.DataFrame) -> pl.DataFrame:
    """The qa_summary rows of one drop's QA rows (any levels), in schema.QA_SUMMARY."""
    if qa.is_empty():
        return schema.empty("qa_summary")
    q = qa.lazy()
    rows = q.group_by(KEYS).agg(pl.len().alias("n"), pl.col("image_id").n_unique().alias("images")).with_columns(
        stat=pl.lit("rows"))
    yes = (q.filter(pl.col("format") == "boolean").group_by(KEYS)
           .agg((_answer("bool") == "true").sum().alias("n")).with_columns(stat=pl.lit("yes")))
    letters = (q.filter(pl.col("format") == "choice")
               .with_columns(key=_answer("choice"),
                             n_options=pl.col("answer_value").str.json_path_match("$.options")
                             .str.json_decode(pl.List(pl.String)).list.len().cast(pl.Int32))
               .group_by([*KEYS, "key", "n_options"]).agg(pl.len().alias("n")).with_columns(stat=pl.lit("letter")))
    numeric = q.filter(pl.col("format") == "free").with_columns(meters=_meters()).filter(pl.col("meters").is_not_null())
    cm = (numeric.group_by([*KEYS, (pl.col("meters") * 100).round().alias("cm")]).agg(pl.len().alias("n"))
          .with_columns(value=pl.col("cm") / 100, stat=pl.lit("meters_cm")).drop("cm"))
    extremes = [numeric.group_by(KEYS).agg(getattr(pl.col("meters"), stat)().alias("value"), pl.len().alias("n"))
                .with_columns(stat=pl.lit(stat)) for stat in ("min", "max")]
    frames = [f.collect() for f in (rows, yes, letters, cm, *extremes)]
    out = pl.concat([schema.conform(f, "qa_summary") for f in frames])
    return out.sort(ORDER, nulls_last=True)


def merge_summaries(parts: list[pl.DataFrame]) -> pl.DataFrame:
    """The summary of the union of disjoint sets of rows (batches of one drop's images) from their
    summaries: counts add, ``images`` add (no image is in two parts), min / max take the extreme."""
    rows = pl.concat([schema.conform(p, "qa_summary") for p in parts]) if parts else schema.empty("qa_summary")
    extremes = [rows.filter(pl.col("stat") == stat).group_by([*KEYS, "stat", "key", "n_options"])
                .agg(getattr(pl.col("value"), stat)(), pl.col("n").sum(), pl.col("images").first())
                for stat in ("min", "max")]
    counts = (rows.filter(~pl.col("stat").is_in(["min", "max"])).group_by([*KEYS, "stat", "key", "n_options", "value"])
              .agg(pl.col("n").sum(), pl.when(pl.col("images").is_null().all()).then(None)
                   .otherwise(pl.col("images").sum()).alias("images")))
    out = pl.concat([schema.conform(f, "qa_summary") for f in (counts, *extremes)])
    return out.sort(ORDER, nulls_last=True)
