"""QA statistics at any scale: the per-drop summaries compacted into one file, then sql/qa_stats.sql.

Every QA materialization writes a small summary per drop and level (qa/summary.py). Reading
thousands of small files costs more than the statistics (about half a second per thousand files on
local disk through the query filesystem, a request each on an object store), so `qa_stats` keeps
one compacted copy (``tables/qa_stats/summary.parquet``, with the files it holds and their versions in
``summary_sources.parquet``) and rereads only the summaries written since: one listing, a few
files, one write. The statistics then run over the compacted rows in memory.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import duckdb
import polars as pl

from hispatial_assets import schema
from hispatial_assets.bundled import sql_text
from hispatial_assets.storage import io
from hispatial_assets.storage.layout import DataRoot

SOURCES = {"source": pl.String, "source_version": pl.String, "drop_id": pl.String, "level": pl.Int32}
SOURCE_PATH = re.compile(r"drop_id=([^/]+)/level=(-?\d+)/[^/]+$")


def compacted_uris(root: DataRoot) -> tuple[str, str]:
    """The compacted summary rows, and the files they came from with their versions (small)."""
    base = io.join(root.root, "tables", "qa_stats")
    return io.join(base, "summary.parquet"), io.join(base, "summary_sources.parquet")


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
            if SOURCE_PATH.search(path)}


def _read_or_empty(uri: str, columns: dict) -> pl.DataFrame:
    return io.read_parquet(uri) if io.exists(uri) else pl.DataFrame(schema=columns)


def compact_summaries(root: DataRoot) -> tuple[pl.DataFrame, int]:
    """All per-drop summaries as one frame (schema.QA_SUMMARY), and how many files were (re)read.
    The compacted files are rewritten only when a summary was added, rewritten or removed."""
    files = summary_files(root)
    rows_uri, sources_uri = compacted_uris(root)
    sources = _read_or_empty(sources_uri, SOURCES)
    known = dict(sources.select("source", "source_version").iter_rows())
    changed = sorted(s for s, v in files.items() if known.get(s) != v)
    unchanged = sources.filter(pl.col("source").is_in([s for s, v in known.items() if files.get(s) == v]))
    previous = _read_or_empty(rows_uri, schema.QA_SUMMARY)
    if not changed and len(unchanged) == len(sources):
        return previous, 0
    kept = previous.join(unchanged.select("drop_id", "level"), on=["drop_id", "level"], how="semi")

    with ThreadPoolExecutor(max_workers=8) as pool:  # object stores: requests in flight together
        fresh = list(pool.map(lambda uri: schema.conform(io.read_parquet(uri), "qa_summary"), changed))
    added = pl.DataFrame([(s, files[s], *SOURCE_PATH.search(s).groups()) for s in changed],
                         schema={k: pl.String for k in SOURCES}, orient="row").cast(SOURCES)
    compacted = pl.concat([kept, *fresh])
    io.write_parquet(rows_uri, compacted)
    io.write_parquet(sources_uri, pl.concat([unchanged, added]))  # last: a crash before it rereads those files
    return compacted, len(changed)


def qa_statistics(summaries: pl.DataFrame, *views: str) -> dict[str, pl.DataFrame]:
    """sql/qa_stats.sql over the given summaries (in memory: no file is touched); its final result
    as "qa_counts", and each of ``views`` by name."""
    con = duckdb.connect(":memory:")
    try:
        con.register("summaries", summaries.to_arrow())
        con.execute("CREATE TEMP VIEW qa_summary AS SELECT * FROM summaries")
        statements = con.extract_statements(sql_text("qa_stats.sql"))
        for statement in statements[:-1]:
            con.execute(statement.query)
        out = {"qa_counts": con.sql(statements[-1].query).pl()}
        out.update({view: con.sql(f"SELECT * FROM {view}").pl() for view in views})
        return out
    finally:
        con.close()
