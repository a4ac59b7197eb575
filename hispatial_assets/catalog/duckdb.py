"""The DuckDB catalog: views over the Parquet tables, defined by the files in ``sql/views/``.

Materializations never write to DuckDB: they write Parquet files (and one lineage file each),
which the views pick up through globs. The database file is only (re)written when the view SQL
or the data root changes, under a file lock, so parallel partition runs never meet DuckDB's
single-writer lock and no record can be lost.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from pathlib import Path

import duckdb
import polars as pl
from filelock import FileLock

from hispatial_assets import schema
from hispatial_assets.storage import io
from hispatial_assets.storage.layout import DataRoot

SQL_DIR = Path(__file__).resolve().parents[2] / "sql"
VIEWS_DIR = SQL_DIR / "views"
SCHEMA_FILE = "_schema.parquet"  # zero-row file per table so views exist before any data


class CatalogError(RuntimeError):
    pass


def view_sql(root: DataRoot) -> dict[str, str]:
    return {p.stem: p.read_text().replace("{root}", root.root) for p in sorted(VIEWS_DIR.glob("*.sql"))}


def _fingerprint(views: dict[str, str]) -> str:
    return hashlib.sha256(repr(sorted(views.items())).encode()).hexdigest()[:16]


def open_db(root: DataRoot, path: str, *, read_only: bool) -> duckdb.DuckDBPyConnection:
    """A connection that can read the root: for object stores and other fsspec URLs the root's
    filesystem is registered with DuckDB, so the same views work on any fsspec root."""
    con = duckdb.connect(path, read_only=read_only)
    if not root.is_local:
        fs, _ = io.fs_and_path(root.root)
        con.register_filesystem(fs)
    return con


def ensure_table_stubs(root: DataRoot) -> None:
    for table in schema.TABLES:
        base = root.lineage_dir() if table == "lineage" else root.table_dir(table)
        uri = io.join(base, SCHEMA_FILE)
        if not io.exists(uri):
            io.write_parquet(uri, schema.empty(table))


def ensure_catalog(root: DataRoot, *, retries: int = 50) -> str:
    """Create or refresh the views when needed; cheap no-op otherwise. Returns the database path."""
    views = view_sql(root)
    fingerprint = _fingerprint(views)
    path = root.catalog_path()
    stamp = path + ".views"
    if os.path.exists(path) and os.path.exists(stamp) and Path(stamp).read_text() == fingerprint:
        return path
    os.makedirs(os.path.dirname(path), exist_ok=True)
    ensure_table_stubs(root)
    with FileLock(path + ".lock", timeout=300):
        if os.path.exists(stamp) and Path(stamp).read_text() == fingerprint and os.path.exists(path):
            return path
        for attempt in range(retries):
            try:
                con = open_db(root, path, read_only=False)
            except duckdb.IOException:  # a reader holds it: wait, never fail
                time.sleep(min(0.05 * 2**attempt, 2.0))
                continue
            try:
                for name, sql in views.items():
                    con.execute(f"CREATE OR REPLACE VIEW {name} AS {sql}")
            finally:
                con.close()
            Path(stamp).write_text(fingerprint)
            return path
    raise CatalogError(f"could not open {path} for writing after {retries} attempts")


def connect(root: DataRoot, *, read_only: bool = True, retries: int = 50) -> duckdb.DuckDBPyConnection:
    path = ensure_catalog(root)
    for attempt in range(retries):
        try:
            return open_db(root, path, read_only=read_only)
        except duckdb.IOException:
            time.sleep(min(0.05 * 2**attempt, 2.0))
    raise CatalogError(f"catalog {path} stayed locked")


READ_ONLY_TYPES = {"SELECT", "EXPLAIN"}
TEMP_CREATE = re.compile(r"^\s*create\s+(or\s+replace\s+)?temp(orary)?\s", re.IGNORECASE)


def check_read_only(statement: duckdb.Statement) -> None:
    """Queries may read anything and create temp views, nothing else (no COPY TO, ATTACH, INSTALL)."""
    kind = statement.type.name
    text = re.sub(r"^(\s*--[^\n]*\n)*", "", statement.query)  # leading comment lines
    if kind in READ_ONLY_TYPES or (kind == "CREATE" and TEMP_CREATE.match(text)):
        return
    raise CatalogError(f"only read-only SQL is allowed (SELECT, EXPLAIN, CREATE TEMP ...); got {kind}: {statement.query.strip()[:80]!r}")


def query(root: DataRoot, sql: str) -> pl.DataFrame:
    """Run read-only SQL (one or more statements; the last one's result is returned)."""
    con = connect(root, read_only=True)
    try:
        try:
            statements = con.extract_statements(sql)
        except duckdb.Error as e:
            raise CatalogError(f"SQL does not parse: {e}") from None
        if not statements:
            raise CatalogError("empty SQL")
        for stmt in statements:
            check_read_only(stmt)
        for stmt in statements[:-1]:
            con.sql(stmt.query)  # DDL runs now; an intermediate SELECT stays an unexecuted relation
        rel = con.sql(statements[-1].query)
        return rel.pl() if rel is not None else pl.DataFrame()
    finally:
        con.close()
