"""The DuckDB catalog: views over the Parquet tables, defined by the files in ``sql/views/``.

Materializations never write to DuckDB: they write Parquet files (and one lineage file each),
which the views pick up through globs. The database file (for DuckDB clients and the UI) is only
(re)written when the view SQL or the data root changes, under a file lock, so parallel partition
runs never meet DuckDB's single-writer lock and no record can be lost; it holds nothing else, so a
damaged one is rebuilt. Queries (`hispatial sql`, status, stats) run on a separate in-memory
connection that can read the tables and write nothing (``connect``).
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import re
import threading
import time
from io import BytesIO
from pathlib import Path

import duckdb
import fsspec
import polars as pl
from filelock import FileLock

from hispatial_assets import schema
from hispatial_assets.bundled import VIEWS_DIR
from hispatial_assets.storage import io
from hispatial_assets.storage.layout import DataRoot

SCHEMA_FILE = "_schema.parquet"  # zero-row file per table so views exist before any data


class CatalogError(RuntimeError):
    pass


def view_sql(root: DataRoot, base: str | None = None) -> dict[str, str]:
    """View name -> SELECT over the root's Parquet; ``base`` replaces ``{root}`` (default: the root itself)."""
    base = root.root if base is None else base
    return {p.stem: p.read_text().replace("{root}", base) for p in sorted(VIEWS_DIR.glob("*.sql"))}


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
    """A zero-row file per table with today's columns (rewritten when a column was added), so every
    view has every column even when all data files predate it."""
    for table, columns in schema.TABLES.items():
        base = root.lineage_dir() if table == "lineage" else root.table_dir(table)
        uri = io.join(base, SCHEMA_FILE)
        if not io.exists(uri) or list(pl.read_parquet_schema(BytesIO(io.read_bytes(uri)))) != list(columns):
            io.write_parquet(uri, schema.empty(table))


def catalog_is_sound(path: str) -> bool:
    """False when the file is not a DuckDB database (0 bytes, garbage, a torn write); a file some
    other process holds locked is a database and counts as sound."""
    try:
        con = duckdb.connect(path, read_only=True)
    except (duckdb.IOException, duckdb.ConnectionException) as e:
        return "lock" in str(e).lower() or "different configuration" in str(e).lower()
    except duckdb.Error:
        return False
    try:
        con.execute("SELECT count(*) FROM duckdb_views()").fetchall()
        return True
    except duckdb.Error:
        return False
    finally:
        con.close()


def _set_aside(path: str) -> None:
    """The catalog holds only views: a damaged file is moved aside (kept once, for a look) and rebuilt."""
    os.replace(path, path + ".corrupt")
    for leftover in (path + ".wal", stamp_path(path)):
        if os.path.exists(leftover):
            os.remove(leftover)


def stamp_path(path: str) -> str:
    return path + ".views"


def ensure_catalog(root: DataRoot, *, retries: int = 50) -> str:
    """Create or refresh the views when needed (or rebuild a damaged file); cheap otherwise. Returns the database path."""
    views = view_sql(root)
    fingerprint = _fingerprint(views)
    path = root.catalog_path()
    stamp = stamp_path(path)

    def current() -> bool:
        return (os.path.exists(path) and os.path.exists(stamp) and Path(stamp).read_text() == fingerprint
                and catalog_is_sound(path))

    if current():
        return path
    os.makedirs(os.path.dirname(path), exist_ok=True)
    ensure_table_stubs(root)
    with FileLock(path + ".lock", timeout=300):
        if current():
            return path
        if os.path.exists(path) and not catalog_is_sound(path):
            _set_aside(path)
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


SANDBOX_PROTOCOL = "hispatial"
SANDBOX_DIRS = ("tables", "lineage")  # what the views read; nothing else is reachable


class ReadOnlyRoot(fsspec.AbstractFileSystem):
    """The data root as the query connection sees it (``hispatial://tables/...``): list and read
    under the root, nothing else. Every writing call fails, whatever SQL asks for it."""

    protocol = SANDBOX_PROTOCOL

    def __init__(self, fs: fsspec.AbstractFileSystem, base: str, **kwargs):
        super().__init__(skip_instance_cache=True, **kwargs)
        self.fs, self.base = fs, base.rstrip("/")

    def _real(self, path: str) -> str:
        rel = posixpath.normpath(self._strip_protocol(path).lstrip("/"))
        if rel.startswith(".."):
            raise PermissionError(f"outside the data root: {path}")
        return self.base if rel == "." else f"{self.base}/{rel}"

    def _rel(self, entry: dict) -> dict:
        real = entry["name"].rstrip("/")
        return {**entry, "name": "" if real == self.base else real[len(self.base) + 1:]}

    def ls(self, path, detail=True, **kwargs):
        entries = [self._rel(e) for e in self.fs.ls(self._real(path), detail=True)]
        return entries if detail else [e["name"] for e in entries]

    def find(self, path, maxdepth=None, withdirs=False, detail=False, **kwargs):
        """One listing of the real filesystem's tree (DuckDB's globs end here): on an object store a
        paginated prefix listing, where walking folder by folder would cost a request per folder."""
        found = self.fs.find(self._real(path), maxdepth=maxdepth, withdirs=withdirs, detail=True, **kwargs)
        entries = {e["name"]: e for e in (self._rel(v) for v in found.values())}
        return entries if detail else sorted(entries)

    def info(self, path, **kwargs):
        return self._rel(self.fs.info(self._real(path)))

    def modified(self, path):
        return self.fs.modified(self._real(path))

    def _open(self, path, mode="rb", **kwargs):
        if mode != "rb":
            raise PermissionError(f"the catalog is read-only: cannot open {path} for writing")
        return ThreadLocalReader(self.fs, self._real(path))

    def _rm(self, path):
        raise PermissionError(f"the catalog is read-only: cannot remove {path}")

    def cp_file(self, path1, path2, **kwargs):
        raise PermissionError(f"the catalog is read-only: cannot copy to {path2}")


class ThreadLocalReader:
    """A read-only file with one underlying handle (and so one position) per thread.

    DuckDB reads a Python file by ``seek`` then ``read``, taking the GIL for each, and several of its
    threads read the same handle when scans of one file run at once (a query over several views of
    `qa`): with one shared position a read could start at another thread's offset and come back short
    ("Failed to read N bytes from Python file", "Out of buffer"), seen on 10^8-row scans."""

    def __init__(self, fs: fsspec.AbstractFileSystem, path: str):
        self.fs, self.path = fs, path
        self._local = threading.local()
        self._handles: list = []
        self._lock = threading.Lock()
        self.closed = False
        self._handle()  # fail here, at open, when the file is not there

    def _handle(self):
        handle = getattr(self._local, "handle", None)
        if handle is None:
            handle = self._local.handle = self.fs.open(self.path, "rb")
            with self._lock:
                self._handles.append(handle)
        return handle

    def read(self, size: int = -1) -> bytes:
        return self._handle().read(size)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._handle().seek(offset, whence)

    def tell(self) -> int:
        return self._handle().tell()

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def writable(self) -> bool:
        return False

    def close(self) -> None:
        with self._lock:
            handles, self._handles = self._handles, []
        for handle in handles:
            handle.close()
        self.closed = True

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def connect(root: DataRoot, sql: str | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory connection that can read the root's tables and write nothing anywhere.

    Read-only by construction, not by a statement filter: the root is reachable only through
    ``ReadOnlyRoot`` (``hispatial://``), external access is off with only the views' folders
    allowed, extensions are neither installed nor loaded, and the configuration is locked. The
    views (temp views, the same SQL as the catalog's) are created for the names ``sql`` mentions,
    or all of them.
    """
    ensure_table_stubs(root)
    fs, base = io.fs_and_path(root.root)
    con = duckdb.connect(":memory:", config={"autoinstall_known_extensions": False,
                                             "autoload_known_extensions": False,
                                             "allow_community_extensions": False,
                                             "allow_persistent_secrets": False})
    try:
        con.register_filesystem(ReadOnlyRoot(fs, base))
        allowed = ", ".join(f"'{SANDBOX_PROTOCOL}://{d}/'" for d in SANDBOX_DIRS)
        con.execute(f"SET allowed_directories = [{allowed}]")
        con.execute("SET enable_external_access = false")
        for name, view in view_sql(root, base=f"{SANDBOX_PROTOCOL}:/").items():
            if sql is None or re.search(rf"\b{name}\b", sql, re.IGNORECASE):
                con.execute(f"CREATE TEMP VIEW {name} AS {view}")
        con.execute("SET lock_configuration = true")
    except BaseException:
        con.close()
        raise
    return con


READ_ONLY_TYPES = {"SELECT", "EXPLAIN"}
TEMP_CREATE = re.compile(r"^\s*create\s+(or\s+replace\s+)?temp(orary)?\s", re.IGNORECASE)


def check_read_only(statement: duckdb.Statement) -> None:
    """A second line behind the read-only connection, for clearer errors: SELECT, EXPLAIN and CREATE TEMP only."""
    kind = statement.type.name
    text = re.sub(r"^(\s*--[^\n]*\n)*", "", statement.query)  # leading comment lines
    if kind in READ_ONLY_TYPES or (kind == "CREATE" and TEMP_CREATE.match(text)):
        return
    raise CatalogError(f"only read-only SQL is allowed (SELECT, EXPLAIN, CREATE TEMP ...); got {kind}: {statement.query.strip()[:80]!r}")


def query(root: DataRoot, sql: str) -> pl.DataFrame:
    """Run read-only SQL (one or more statements; the last one's result is returned)."""
    con = connect(root, sql)
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
