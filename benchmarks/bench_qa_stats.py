"""`qa_stats` over 10^8 QA rows: the row scan against the per-drop summaries.

Target (issue 14): under 1 s on a 2-core machine. The rows are the real pipeline's QA (a 16-image
scene-engine drop) tiled to ``--images-per-drop`` images per drop and as many drops as ``--rows``
needs, with the numeric answers jittered so the value histograms are as wide as real ones; written
in the catalog's layout (``tables/qa/drop_id=<id>/level=<L>/``, zstd Parquet). Then:

1. the row scan: ``sql/qa_stats_from_rows.sql`` over the `qa` view (what `qa_stats` ran before),
2. the summaries: ``summarize_qa`` per drop and level, as the qa_l* assets now do when they
   materialize (its cost is part of each QA materialization: printed per 100k rows),
3. ``sql/qa_stats.sql`` over the `qa_summary` view: what the `qa_stats` asset runs now,

both through `catalog.duckdb.query` (the read-only connection the CLI and the asset use). The data
goes to ``--dir`` (default under /tmp) and is deleted at the end.

    .venv/bin/python benchmarks/bench_qa_stats.py [--rows 100000000] [--images-per-drop 1024] [--skip-scan]
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from pathlib import Path

import duckdb

from hispatial_assets.catalog.duckdb import SQL_DIR, ensure_table_stubs, query
from hispatial_assets.qa.summary import summarize_qa
from hispatial_assets.storage import io
from hispatial_assets.storage.layout import DataRoot

from scale_common import materialized_drop

TEMPLATE_IMAGES = 16
VIEWS = ("qa_counts_by_drop", "qa_yes_share", "qa_choice_letters", "qa_numeric_quantiles", "qa_counts")
# every column of every view computed (a hash of each row), one query
ALL_VIEWS = "\n" + " UNION ALL ".join(f"SELECT '{v}' AS view, count(*) AS n, sum(hash(t))::VARCHAR AS checksum FROM {v} t"
                                      for v in VIEWS) + ";"


def template_rows(path: str) -> int:
    """The QA rows of a real 16-image drop, saved as one Parquet file; returns their count."""
    with materialized_drop(TEMPLATE_IMAGES, width=256, height=192, drop_id="template") as (root, _, _):
        rows = query(root, "select * from qa order by level, qa_id")
    rows.write_parquet(path)
    return len(rows)


def generate(con: duckdb.DuckDBPyConnection, template: str, out: str, drops: int, copies: int) -> None:
    """Tile the template: ``copies`` copies of its images per drop, ``drops`` drops; free numeric answers
    jittered by up to ±30% (the histograms a real drop of that many images has)."""
    con.execute(f"""
    COPY (
      WITH t AS (SELECT * FROM read_parquet('{template}'))
      SELECT printf('d%05d', d.i) AS drop_id,
             t.image_id || '_' || c.j AS image_id,
             printf('d%05d', d.i) || '/' || t.qa_id || '_' || c.j AS qa_id,
             t.level, t.task, t.format, t.question, t.answer,
             CASE WHEN t.format = 'free' AND json_extract(t.answer_value, '$.meters') IS NOT NULL THEN
               (SELECT printf('{{"value": %.2f, "unit": "m", "meters": %.4f}}', m, m) FROM (
                  SELECT CAST(json_extract_string(t.answer_value, '$.meters') AS DOUBLE)
                         * (0.7 + 0.6 * hash(d.i, c.j, t.qa_id) / 18446744073709551615.0) AS m))
             ELSE t.answer_value END AS answer_value,
             t.object_ids, t.input_versions, t.program, t.reasoning
      FROM t, range({drops}) d(i), range({copies}) c(j)
    ) TO '{out}' (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (drop_id, level), WRITE_PARTITION_COLUMNS true,
        FILENAME_PATTERN 'part_{{i}}')
    """)


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
        os.makedirs(os.path.dirname(qa_dir), exist_ok=True)
        con = duckdb.connect(config={"preserve_insertion_order": False})
        t, _ = timed(lambda: generate(con, template, qa_dir, drops, copies))
        total = query(root, "select count(*) as n from qa")["n"][0]
        print(f"generated {total:,} rows in {t:.0f} s: {dir_bytes(qa_dir) / 1e9:.2f} GB, "
              f"{dir_bytes(qa_dir) / total:.1f} bytes/row", flush=True)
        ensure_table_stubs(root)

        summary_s, summary_rows = 0.0, 0
        files = sorted(Path(qa_dir).glob("drop_id=*/level=*/*.parquet"))
        for path in files:
            drop_id, level = path.parent.parent.name.split("=")[1], int(path.parent.name.split("=")[1])
            t0 = time.perf_counter()
            rows = io.read_parquet(str(path))
            summary = summarize_qa(rows)
            io.write_parquet(root.table_uri("qa_summary", drop_id, level=level), summary)
            summary_s += time.perf_counter() - t0
            summary_rows += len(summary)
        print(f"summaries: {len(files)} drop-level files, {summary_rows:,} summary rows "
              f"({dir_bytes(root.table_dir('qa_summary')) / 1e6:.1f} MB) in {summary_s:.0f} s = "
              f"{1e5 * summary_s / total * 1000:.0f} ms per 100k QA rows (read + summarize + write)", flush=True)

        for name, script in [("qa_stats.sql over qa_summary", "qa_stats.sql"),
                             ("qa_stats_from_rows.sql over qa", "qa_stats_from_rows.sql")]:
            if args.skip_scan and script != "qa_stats.sql":
                continue
            text = (SQL_DIR / script).read_text()
            repeat = 3 if script == "qa_stats.sql" else 1
            # what the qa_stats asset runs: the counts, then the yes shares (two queries)
            asset, (counts, _) = timed(lambda: (query(root, text), query(root, text + "\nSELECT * FROM qa_yes_share;")),
                                       repeat=repeat)
            assert int(counts["n"].sum()) == total
            every, _ = timed(lambda: query(root, text + ALL_VIEWS), repeat=repeat)
            print(f"{name}: the qa_stats asset's queries {asset:.2f} s, all five views {every:.2f} s"
                  f"{' (best of 3)' if repeat > 1 else ''}", flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(args.dir, ignore_errors=True)


if __name__ == "__main__":
    main()
