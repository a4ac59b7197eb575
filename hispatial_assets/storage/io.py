"""fsspec I/O with atomic writes: every path in the project goes through here."""

from __future__ import annotations

import fcntl
import hashlib
import io
import json
import os
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import fsspec
import numpy as np
import polars as pl
import pyarrow.parquet as pq
from fsspec.implementations.local import LocalFileSystem
from PIL import Image


def fs_and_path(uri: str) -> tuple[fsspec.AbstractFileSystem, str]:
    fs, path = fsspec.core.url_to_fs(str(uri))
    return fs, path


def join(base: str, *parts: str) -> str:
    return "/".join([str(base).rstrip("/"), *[str(p).strip("/") for p in parts]])


def read_bytes(uri: str) -> bytes:
    fs, path = fs_and_path(uri)
    return fs.cat_file(path)


def exists(uri: str) -> bool:
    fs, path = fs_and_path(uri)
    return fs.exists(path)


TEMP_MARK = ".tmp-"  # `<name>.tmp-<random>`: a write in progress, renamed over <name> when complete
# `<name>.claim-<random>`: a temp created but not yet locked; renamed to its .tmp- name once locked, so
# that every .tmp- file is locked for as long as its writer lives (a streamed write can stay empty for
# seconds while its first batch is computed)
CLAIM_MARK = ".claim-"
STALE_CLAIM_S = 10.0
_swept_dirs: set[str] = set()


def write_bytes(uri: str, data: bytes) -> str:
    """Write atomically: temp file + rename on local disks, one PUT on object stores."""
    fs, path = fs_and_path(uri)
    if isinstance(fs, LocalFileSystem):
        with written_atomically(uri) as tmp, open(tmp, "wb") as f:
            f.write(data)
    else:
        fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
        fs.pipe_file(path, data)
    return uri


@contextmanager
def written_atomically(uri: str) -> Iterator[str]:
    """A local path to write ``uri``'s content to, piece by piece (a Parquet row-group writer); moved
    into place when the block ends without error (rename on local disks, one upload on object stores),
    removed otherwise.

    On local disks the temp sits beside the target, locked until the rename, so a temp that nobody
    holds belongs to a killed writer; the first write into a directory (per process) removes those."""
    fs, path = fs_and_path(uri)
    parent = path.rsplit("/", 1)[0]
    if not isinstance(fs, LocalFileSystem):
        fs.makedirs(parent, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="hispatial-write-") as tmp_dir:
            tmp = os.path.join(tmp_dir, path.rsplit("/", 1)[-1])
            yield tmp
            fs.put_file(tmp, path)
        return
    os.makedirs(parent, exist_ok=True)
    if parent not in _swept_dirs:
        remove_stale_temps(parent)
        _swept_dirs.add(parent)
    token = uuid.uuid4().hex[:12]
    tmp, claim = f"{path}{TEMP_MARK}{token}", f"{path}{CLAIM_MARK}{token}"
    with open(claim, "xb") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)  # then named a temp: see remove_stale_temps
        os.rename(claim, tmp)
        try:
            yield tmp
            os.fsync(lock.fileno())
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise


def remove_stale_temps(directory: str) -> list[str]:
    """Delete the temp files of writers that died (kill -9) in ``directory``; returns their paths.

    A temp is stale when no process holds its lock: a writer locks it before giving it its temp name.
    A claim (created, not yet locked) is stale when unlocked and older than a few seconds."""
    removed = []
    try:
        entries = [e for e in os.scandir(directory)
                   if (TEMP_MARK in e.name or CLAIM_MARK in e.name) and e.is_file(follow_symlinks=False)]
    except FileNotFoundError:
        return removed
    for entry in entries:
        try:
            fd = os.open(entry.path, os.O_RDONLY)
        except FileNotFoundError:  # renamed by its writer meanwhile
            continue
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # a live writer
            if TEMP_MARK in entry.name or time.time() - os.fstat(fd).st_mtime > STALE_CLAIM_S:
                os.unlink(entry.path)
                removed.append(entry.path)
        finally:
            os.close(fd)
    return removed


def write_json(uri: str, obj: Any) -> str:
    return write_bytes(uri, json.dumps(obj, indent=1, sort_keys=True, default=_json_default).encode())


def read_json(uri: str) -> Any:
    return json.loads(read_bytes(uri))


def _json_default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serializable: {type(o)}")


def parquet_bytes(df: pl.DataFrame) -> bytes:
    """Deterministic Parquet bytes (same frame -> same bytes -> same data version)."""
    buf = io.BytesIO()
    df.write_parquet(buf, compression="zstd", statistics=False)
    return buf.getvalue()


def write_parquet_batches(uri: str, frames: Iterable[pl.DataFrame]) -> tuple[int, str]:
    """Write frames of one schema (at least one) as consecutive row groups of one Parquet file,
    atomically, holding one frame at a time; returns the file's size and sha256 (read back in chunks).
    Same encoding as parquet_bytes: zstd, no statistics, deterministic."""
    with written_atomically(uri) as tmp:
        writer = None
        try:
            for frame in frames:
                table = frame.to_arrow()
                writer = writer or pq.ParquetWriter(tmp, table.schema, compression="zstd", write_statistics=False)
                writer.write_table(table)
        finally:
            if writer is not None:
                writer.close()
        if writer is None:
            raise ValueError(f"no frames to write to {uri}")
        return os.path.getsize(tmp), sha256_file(tmp)


def write_parquet(uri: str, df: pl.DataFrame) -> str:
    return write_bytes(uri, parquet_bytes(df))


def read_parquet(uri: str) -> pl.DataFrame:
    return pl.read_parquet(io.BytesIO(read_bytes(uri)))


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(uri: str) -> str:
    """The sha256 of a file on any root, read in chunks (never whole into memory)."""
    fs, path = fs_and_path(uri)
    with fs.open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def frame_hash(df: pl.DataFrame) -> str:
    """Content hash of a table: the hash of its deterministic Parquet encoding."""
    return sha256_bytes(parquet_bytes(df))


def encode_png(rgb: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.asarray(rgb)).save(buf, format="PNG", optimize=False, compress_level=6)
    return buf.getvalue()


def npz_bytes(*, compresslevel: int = 6, **arrays: np.ndarray) -> bytes:
    """A deterministic compressed .npz (fixed zip timestamps, sorted names, no pickles).

    ``compresslevel=1`` is about twice as fast on float arrays, which barely compress anyway.
    """
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(arrays):
            arr_buf = io.BytesIO()
            np.lib.format.write_array(arr_buf, np.ascontiguousarray(arrays[name]), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, arr_buf.getvalue(), compresslevel=compresslevel)
    return buf.getvalue()


def write_npz(uri: str, *, compresslevel: int = 6, **arrays: np.ndarray) -> str:
    return write_bytes(uri, npz_bytes(compresslevel=compresslevel, **arrays))


def read_npz(uri: str) -> dict[str, np.ndarray]:
    return read_npz_bytes(read_bytes(uri))


def read_npz_bytes(data: bytes) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        return {k: z[k] for k in z.files}
