"""What a materialization wrote, and whether it is still there as written.

Each lineage record lists its output files with size and content hash. A table whose rows are
themselves a list of files written by the same stage (``point_maps``: one array file per image,
with ``uri``, ``bytes``, ``sha256``) is followed, so a deleted point-map file is found too.
"""

from __future__ import annotations

import json

from hispatial_assets.storage import io

FILE_LIST_TABLES = ("point_maps",)


def file_record(table: str, uri: str, data: bytes) -> dict:
    return streamed_file_record(table, uri, len(data), io.sha256_bytes(data))


def streamed_file_record(table: str, uri: str, size: int, sha256: str) -> dict:
    """The record of a file written piece by piece (io.write_parquet_batches): size and hash as it returned them."""
    return {"table": table, "uri": uri, "bytes": size, "sha256": sha256}


def check_file(uri: str, size: int, sha256: str, *, deep: bool = False) -> str | None:
    """None when the file is as recorded, else what is wrong with it. Cheap: existence and size;
    ``deep``: the content hash as well."""
    fs, path = io.fs_and_path(uri)
    try:
        actual = fs.size(path)
    except FileNotFoundError:
        return f"output missing: {uri}"
    if actual != size:
        return f"output damaged: {uri} has {actual} bytes, {size} were written"
    if deep and io.sha256_file(uri) != sha256:
        return f"output damaged: {uri} content differs from what was written (sha256)"
    return None


def check_outputs(outputs: str | list[dict] | None, *, deep: bool = False) -> list[str]:
    """Problems with a materialization's recorded outputs (empty when all are intact).

    Records written before outputs were recorded (None) cannot be checked and report nothing."""
    if outputs is None:
        return []
    records = json.loads(outputs) if isinstance(outputs, str) else outputs
    problems = []
    for rec in records:
        problem = check_file(rec["uri"], rec["bytes"], rec["sha256"], deep=deep)
        if problem:
            problems.append(problem)
        elif rec.get("table") in FILE_LIST_TABLES:
            listed = io.read_parquet(rec["uri"])
            for uri, size, sha256 in listed.select("uri", "bytes", "sha256").iter_rows():
                problem = check_file(uri, size, sha256, deep=deep)
                if problem:
                    problems.append(problem)
    return problems
