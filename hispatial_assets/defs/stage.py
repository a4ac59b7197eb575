"""The shape every drop-partitioned stage shares: resolve the root, run the library, write, finish."""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import dagster as dg
import polars as pl

from hispatial_assets import schema
from hispatial_assets.defs.common import (
    INPUT_VERSION_TAG_PREFIX,
    finish,
    now,
    short_version,
    upstream_data_versions,
)
from hispatial_assets.storage import io
from hispatial_assets.storage.layout import DataRoot
from hispatial_assets.storage.outputs import check_outputs, file_record, streamed_file_record


@dataclass
class StreamedTable:
    """A table the stage already wrote batch by batch (stream_table): what write_outputs needs of it."""
    content_version: str
    file: dict  # lineage file record


@dataclass
class StageOutput:
    tables: dict[tuple[str, tuple], pl.DataFrame | StreamedTable]  # (table, sub-partition items) -> frame
    rows: int
    metadata: dict


# Provenance, not content: which backend ran and which input versions it saw. Left out of data
# versions so that a new model that produces the same objects does not make anything downstream stale.
PROVENANCE_COLUMNS = ("backend", "input_versions")


def content_version(frame: pl.DataFrame) -> str:
    return io.frame_hash(frame.drop([c for c in PROVENANCE_COLUMNS if c in frame.columns]))


# Tables computed from the other tables a stage writes (qa_summary from qa): they add nothing to the
# content, so they stay out of data versions and adding one does not make anything downstream stale.
DERIVED_TABLES = ("qa_summary",)


def stream_table(root: DataRoot, drop_id: str, table: str, sub: tuple, frames: Iterable[pl.DataFrame]) -> StreamedTable:
    """Write a table batch by batch, one row group per batch, so that a stage holds one batch and never
    the drop's rows. Its content version is the hash of the batches' content versions, in order."""
    digests = []

    def conformed() -> Iterator[pl.DataFrame]:
        for frame in frames:
            frame = schema.conform(frame, table)
            digests.append(content_version(frame))
            yield frame
        if not digests:  # no batch: an empty table, as a frame-at-once write would give
            digests.append(content_version(schema.empty(table)))
            yield schema.empty(table)

    uri = root.table_uri(table, drop_id, **dict(sub))
    size, sha256 = io.write_parquet_batches(uri, conformed())
    return StreamedTable(io.sha256_bytes("\n".join(digests).encode()), streamed_file_record(table, uri, size, sha256))


def write_outputs(root: DataRoot, drop_id: str, out: StageOutput) -> tuple[str, list[dict]]:
    """Write every table (atomically; streamed ones are written already); returns the content data
    version over all of them and the files written (uri, size, hash) for the lineage record."""
    digests, files = [], []
    for (table, sub), frame in sorted(out.tables.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        if isinstance(frame, StreamedTable):
            version, record = frame.content_version, frame.file
        else:
            frame = schema.conform(frame, table)
            data, uri = io.parquet_bytes(frame), root.table_uri(table, drop_id, **dict(sub))
            io.write_bytes(uri, data)
            version, record = content_version(frame), file_record(table, uri, data)
        files.append(record)
        if table not in DERIVED_TABLES:
            digests.append(f"{table}{sub}:{version}")
    return io.sha256_bytes("\n".join(digests).encode()), files


SKIP_UNCHANGED_TAG = "hispatial/skip_unchanged"
DEEP_CHECK_TAG = "hispatial/deep_check"  # with skip_unchanged: rehash the outputs before calling them intact


def up_to_date(context: dg.AssetExecutionContext) -> bool:
    """The last materialization of this partition had this code version and these input data
    versions, and its lineage record and output files are still there as written."""
    flt = dg.AssetRecordsFilter(asset_key=context.asset_key, asset_partitions=[context.partition_key])
    records = context.instance.fetch_materializations(flt, limit=1).records
    if not records or records[0].asset_materialization is None:
        return False
    mat = records[0].asset_materialization
    tags = mat.tags or {}
    if tags.get("dagster/code_version") != context.assets_def.code_versions_by_key.get(context.asset_key):
        return False
    if not all(tags.get(f"{INPUT_VERSION_TAG_PREFIX}{key}") == short_version(version)
               for key, version in upstream_data_versions(context).items()):
        return False
    lineage = mat.metadata.get("lineage")
    if lineage is None or not io.exists(str(lineage.value)):
        return False
    deep = context.run.tags.get(DEEP_CHECK_TAG) == "true"
    return not check_outputs(io.read_parquet(str(lineage.value))["outputs"][0], deep=deep)


def run_stage(context: dg.AssetExecutionContext, root: DataRoot, compute, *, backend: str = ""):
    """Yields the materialization; yields nothing in a refresh run (tag ``hispatial/skip_unchanged``)
    when the partition is already up to date, so Dagster skips what depends on it in the same run."""
    if context.run.tags.get(SKIP_UNCHANGED_TAG) == "true" and up_to_date(context):
        context.log.info(f"{context.asset_key.to_user_string()}[{context.partition_key}]: code and inputs unchanged, skipped")
        return
    started, drop_id = now(), context.partition_key
    out: StageOutput = compute(drop_id)
    version, files = write_outputs(root, drop_id, out)
    yield finish(context, root, data_version=version, rows=out.rows, started_at=started, backend=backend,
                 metadata=out.metadata, outputs=files)
