"""`qa_stats` over 10^8 QA rows: per-drop summaries compacted, against scanning the rows.

Target (issue 14): under 1 s on a 2-core machine. The rows are the real pipeline's QA (a 16-image
scene-engine drop) tiled to ``--images-per-drop`` images per drop and as many drops as ``--rows``
needs, with the numeric answers jittered so the value histograms are as wide as real ones; written
in the catalog's layout (``tables/qa/drop_id=<id>/level=<L>/``, zstd Parquet). Then:

1. the summaries: ``summarize_qa`` per drop and level, as the qa_l* assets do when they materialize
   (its cost is part of each QA materialization: printed per 100k rows), all drops but the last;
2. the first compaction of those summaries into one file (once per data root);
3. the last drop's summaries, then the `qa_stats` asset's work (catalog/qa_stats.py: compaction, which
   rereads only that drop's files, and sql/qa_stats.sql over the compacted rows, all five views):
   the figure the target is about;
4. for reference, through `catalog.duckdb.query` (the read-only connection of `hispatial sql`):
   sql/qa_stats.sql over the live `qa_summary` view (every summary file), and
   sql/qa_stats_from_rows.sql over the rows (what `qa_stats` ran before; minutes at 10^8).

The data goes to ``--dir`` (default under /tmp) and is deleted at the end.

    .venv/bin/python benchmarks/bench_qa_stats.py [--rows 100000000] [--images-per-drop 1024] [--skip-scan]
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from pathlib import Path

import duckdb

import polars as pl

from hispatial_assets.bundled import sql_text
from hispatial_assets.catalog.duckdb import ensure_table_stubs, query
from hispatial_assets.catalog.qa_stats import compact_summaries, qa_statistics
from hispatial_assets.qa.summary import summarize_qa
from hispatial_assets.storage import io
from hispatial_assets.storage.layout import DataRoot

from scale_common import materialized_drop

TEMPLATE_IMAGES = 16


def template_rows(path: str) -> int:
    """The QA rows of a real 16-image drop, saved as one Parquet file; returns their count."""
    with materialized_drop(TEMPLATE_IMAGES, width=256, height=192, drop_id="template") as (root, _, _):
        rows = query(root, "select * from qa order by level, qa_id")
    rows.write_parquet(path)
    return len(rows)


def generate(con: duckdb.DuckDBPyConnection, template: str, out: str, drops: int, copies: int) -> None:
    """Tile the template: ``copies`` copies of its images per drop, ``drops`` drops; free numeric answers
    jittered by up to ±30% (the histograms a real drop of that many images has). One file per drop and
    level, written one at a time (memory stays bounded)."""
    con.execute(f"CREATE TEMP TABLE t AS SELECT * FROM read_parquet('{template}')")
    levels = [row[0] for row in con.execute("SELECT DISTINCT level FROM t ORDER BY 1").fetchall()]
    for i in range(drops):
        drop_id = f"d{i:05d}"
        for level in levels:
            path = os.path.join(out, f"drop_id={drop_id}", f"level={level}", "part.parquet")
            os.makedirs(os.path.dirname(path), exist_ok=True)
            con.execute(f"""
            COPY (
              SELECT '{drop_id}' AS drop_id, t.image_id || '_' || c.j AS image_id,
                     '{drop_id}/' || t.qa_id || '_' || c.j AS qa_id, t.level, t.task, t.format, t.question, t.answer,
                     CASE WHEN m IS NULL THEN t.answer_value
                          ELSE printf('{{"value": %.2f, "unit": "m", "meters": %.4f}}', m, m) END AS answer_value,
                     t.object_ids, t.input_versions, t.program, t.reasoning
              FROM t, range({copies}) c(j),
                   LATERAL (SELECT CASE WHEN t.format = 'free' THEN
                              TRY_CAST(json_extract_string(t.answer_value, '$.meters') AS DOUBLE)
                              * (0.7 + 0.6 * hash({i}, c.j, t.qa_id) / 18446744073709551615.0) END AS m)
              WHERE t.level = {level}
            ) TO '{path}' (FORMAT parquet, COMPRESSION zstd)""")


def timed(fn, repeat: int = 1) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t)
    return best, result


def dir_bytes(path: str) -> int:
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=float, default=1e8)
    ap.add_argument("--images-per-drop", type=int, default=1024)
    ap.add_argument("--dir", default="/tmp/hispatial_bench_qa_stats")
    ap.add_argument("--skip-scan", action="store_true", help="do not time the row scan (minutes at 10^8)")
    ap.add_argument("--keep", action="store_true", help="keep the generated data")
    args = ap.parse_args()
    shutil.rmtree(args.dir, ignore_errors=True)
    os.makedirs(args.dir)
    try:
        template = os.path.join(args.dir, "template.parquet")
        n_template = template_rows(template)
        copies = args.images_per_drop // TEMPLATE_IMAGES
        per_drop = n_template * copies
        drops = max(1, round(args.rows / per_drop))
        print(f"template: {n_template} QA rows from {TEMPLATE_IMAGES} images; {copies} copies per drop "
              f"= {per_drop} rows per drop of {args.images_per_drop} images; {drops} drops", flush=True)

        root = DataRoot.resolve(os.path.join(args.dir, "root"))
        qa_dir = os.path.join(root.root, "tables", "qa")
        con = duckdb.connect(config={"memory_limit": "4GB", "threads": 2})
        t, _ = timed(lambda: generate(con, template, qa_dir, drops, copies))
        total = query(root, "select count(*) as n from qa")["n"][0]
        print(f"generated {total:,} rows in {t:.0f} s: {dir_bytes(qa_dir) / 1e9:.2f} GB, "
              f"{dir_bytes(qa_dir) / total:.1f} bytes/row", flush=True)
        ensure_table_stubs(root)

        files = sorted(Path(qa_dir).glob("drop_id=*/level=*/*.parquet"))
        last_drop = files[-1].parent.parent.name
        summary_s, summary_rows = 0.0, 0

        def summarize(paths: list[Path]) -> None:  # what each qa_l* materialization adds
            nonlocal summary_s, summary_rows
            for path in paths:
                drop_id, level = path.parent.parent.name.split("=")[1], int(path.parent.name.split("=")[1])
                t0 = time.perf_counter()
                summary = summarize_qa(io.read_parquet(str(path)))
                io.write_parquet(root.table_uri("qa_summary", drop_id, level=level), summary)
                summary_s += time.perf_counter() - t0
                summary_rows += len(summary)

        summarize([p for p in files if p.parent.parent.name != last_drop])
        full, (_, reread) = timed(lambda: compact_summaries(root))
        print(f"compacting the summaries of {drops - 1} drops ({reread} files) the first time: {full:.2f} s", flush=True)
        summarize([p for p in files if p.parent.parent.name == last_drop])
        print(f"summaries: {len(files)} drop-level files, {summary_rows:,} summary rows "
              f"({dir_bytes(root.table_dir('qa_summary')) / 1e6:.1f} MB) in {summary_s:.0f} s = "
              f"{1e5 * summary_s / total * 1000:.0f} ms per 100k QA rows (read + summarize + write)", flush=True)

        def asset() -> tuple[pl.DataFrame, int]:  # the qa_stats asset's work after a drop run
            summaries, reread = compact_summaries(root)
            stats = qa_statistics(summaries, "qa_yes_share", "qa_choice_letters", "qa_numeric_quantiles")
            return stats["qa_counts"], reread

        after_drop, (counts, reread) = timed(asset)
        assert int(counts["n"].sum()) == total and reread == len([p for p in files if p.parent.parent.name == last_drop])
        steady, _ = timed(asset, repeat=3)
        print(f"qa_stats asset over {total:,} rows (compaction + all five views): {after_drop:.2f} s after one new drop "
              f"({reread} summaries reread), {steady:.2f} s with nothing new (best of 3)", flush=True)

        for name, script in [("hispatial sql sql/qa_stats.sql (live view over every summary file)", "qa_stats.sql"),
                             ("qa_stats_from_rows.sql over the rows (what qa_stats ran before)", "qa_stats_from_rows.sql")]:
            if args.skip_scan and script != "qa_stats.sql":
                continue
            text = sql_text(script)
            took, result = timed(lambda: query(root, text))
            assert int(result["n"].sum()) == total
            print(f"{name}: {took:.2f} s", flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(args.dir, ignore_errors=True)


if __name__ == "__main__":
    main()
