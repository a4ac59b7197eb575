"""The shape every drop-partitioned stage shares: resolve the root, run the library, write, finish."""

from dataclasses import dataclass

import dagster as dg
import polars as pl

from hispatial_assets import schema
from hispatial_assets.defs.common import finish, now
from hispatial_assets.storage import io
from hispatial_assets.storage.layout import DataRoot


@dataclass
class StageOutput:
    tables: dict[tuple[str, tuple], pl.DataFrame]  # (table, sub-partition items) -> frame
    rows: int
    metadata: dict


# Provenance, not content: which backend ran and which input versions it saw. Left out of data
# versions so that a new model that produces the same objects does not make anything downstream stale.
PROVENANCE_COLUMNS = ("backend", "input_versions")


def content_version(frame: pl.DataFrame) -> str:
    return io.frame_hash(frame.drop([c for c in PROVENANCE_COLUMNS if c in frame.columns]))


def write_outputs(root: DataRoot, drop_id: str, out: StageOutput) -> str:
    """Write every table (atomically) and return the content data version over all of them."""
    digests = []
    for (table, sub), frame in sorted(out.tables.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        frame = schema.conform(frame, table)
        io.write_bytes(root.table_uri(table, drop_id, **dict(sub)), io.parquet_bytes(frame))
        digests.append(f"{table}{sub}:{content_version(frame)}")
    return io.sha256_bytes("\n".join(digests).encode())


def run_stage(context: dg.AssetExecutionContext, root: DataRoot, compute, *, backend: str = "",
              extra_version: str = "") -> dg.MaterializeResult:
    started, drop_id = now(), context.partition_key
    out: StageOutput = compute(drop_id)
    version = write_outputs(root, drop_id, out)
    if extra_version:
        version = io.sha256_bytes(f"{version}|{extra_version}".encode())
    return finish(context, root, data_version=version, rows=out.rows, started_at=started, backend=backend,
                  metadata=out.metadata)
