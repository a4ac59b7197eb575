"""QA statistics at any scale: the per-drop summaries compacted into one file, then sql/qa_stats.sql.

Every QA materialization writes a small summary per drop and level (qa/summary.py). Reading
thousands of small files costs more than the statistics (about half a second per thousand files on
local disk through the query filesystem, a request each on an object store), so `qa_stats` keeps
one compacted copy (``tables/qa_stats/summary.parquet``, each row with the file it came from and
that file's version) and rereads only the summaries written since: one listing, a few files, one
write. The statistics then run over the compacted rows in memory.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import duckdb
import polars as pl

from hispatial_assets import schema
from hispatial_assets.catalog.duckdb import SQL_DIR
from hispatial_assets.catalog.duckdb import SCHEMA_FILE
from hispatial_assets.storage import io
from hispatial_assets.storage.layout import DataRoot

SOURCE_COLUMNS = {"source": pl.String, "source_version": pl.String}


def compacted_uri(root: DataRoot) -> str:
    return io.join(root.root, "tables", "qa_stats", "summary.parquet")


def _version(entry: dict) -> str:
    """Changes whenever the file is rewritten: size and modification time (or the object's ETag)."""
    stamp = entry.get("ETag") or entry.get("mtime") or entry.get("LastModified") or entry.get("created") or ""
    return f"{entry.get('size')}:{stamp}"


def summary_files(root: DataRoot) -> dict[str, str]:
    """uri -> version of every per-drop summary file, from one listing."""
    fs, base = io.fs_and_path(root.table_dir("qa_summary"))
    if not fs.exists(base):
        return {}
    protocol = "" if root.is_local else root.root.split("://", 1)[0] + "://"
    return {protocol + path: _version(entry) for path, entry in fs.find(base, detail=True).items()
            if path.endswith(".parquet") and not path.endswith(SCHEMA_FILE)}


def compact_summaries(root: DataRoot) -> tuple[pl.DataFrame, int]:
    """All per-drop summaries as one frame (schema.QA_SUMMARY + source columns), and how many files were
    (re)read; the compacted file is rewritten only when something changed."""
    files = summary_files(root)
    uri = compacted_uri(root)
    previous = io.read_parquet(uri) if io.exists(uri) else pl.DataFrame(schema={**schema.QA_SUMMARY, **SOURCE_COLUMNS})
    known = dict(previous.select("source", "source_version").unique().iter_rows())
    kept = previous.filter(pl.col("source").is_in([s for s, v in known.items() if files.get(s) == v]))
    changed = sorted(s for s, v in files.items() if known.get(s) != v)

    def read(source: str) -> pl.DataFrame:
        frame = schema.conform(io.read_parquet(source), "qa_summary")
        return frame.with_columns(source=pl.lit(source), source_version=pl.lit(files[source]))

    with ThreadPoolExecutor(max_workers=8) as pool:  # object stores: requests in flight together
        fresh = list(pool.map(read, changed))
    compacted = pl.concat([kept, *fresh]) if fresh else kept
    if fresh or len(kept) != len(previous):
        compacted = compacted.sort("source", "stat", "task", "format", "key", "n_options", "value", nulls_last=True)
        io.write_parquet(uri, compacted)
    return compacted, len(changed)


def qa_statistics(summaries: pl.DataFrame, *views: str) -> dict[str, pl.DataFrame]:
    """sql/qa_stats.sql over the given summaries (in memory: no file is touched); its final result
    as "qa_counts", and each of ``views`` by name."""
    con = duckdb.connect(":memory:")
    try:
        con.register("summaries", summaries.drop(list(SOURCE_COLUMNS)).to_arrow())
        con.execute("CREATE TEMP VIEW qa_summary AS SELECT * FROM summaries")
        statements = con.extract_statements((SQL_DIR / "qa_stats.sql").read_text())
        for statement in statements[:-1]:
            con.execute(statement.query)
        out = {"qa_counts": con.sql(statements[-1].query).pl()}
        out.update({view: con.sql(f"SELECT * FROM {view}").pl() for view in views})
        return out
    finally:
        con.close()
