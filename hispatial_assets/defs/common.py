"""What every partitioned asset does after its library call: record lineage, return versions."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import dagster as dg

from hispatial_assets.catalog.lineage import LineageRecord, write_lineage
from hispatial_assets.storage.layout import DataRoot

DATA_VERSION_TAG = "dagster/data_version"
# The upstream data versions a materialization read, as we define them (content hashes). Dagster's own
# dagster/input_data_version tags do not match the user-provided data versions for `deps=` edges.
INPUT_VERSION_TAG_PREFIX = "hispatial/input_version."


def asset_partition(context: dg.AssetExecutionContext) -> str:
    """This asset's partition, "" when it has none: an unpartitioned asset (qa_stats) at the end of a
    drop's run sees the run's partition key, but its record is not that drop's."""
    partitioned = context.has_partition_key and context.assets_def.partitions_def is not None
    return context.partition_key if partitioned else ""


def upstream_data_versions(context: dg.AssetExecutionContext) -> dict[str, str]:
    """The data version of each upstream partition this materialization read (same drop)."""
    versions: dict[str, str] = {}
    deps = context.assets_def.asset_deps.get(context.asset_key, set())
    for key in sorted(deps, key=lambda k: k.to_user_string()):
        partition = asset_partition(context)
        flt = dg.AssetRecordsFilter(asset_key=key, asset_partitions=[partition] if partition else None)
        records = context.instance.fetch_materializations(flt, limit=1).records
        if records:
            mat = records[0].asset_materialization
            versions[key.to_user_string()] = (mat.tags or {}).get(DATA_VERSION_TAG, "") if mat else ""
        else:
            versions[key.to_user_string()] = ""
    return versions


def short_version(version: str) -> str:
    """Tag values are limited to 63 characters: 40 hex digits of a content hash are plenty."""
    return (version or "none")[:40]


def finish(
    context: dg.AssetExecutionContext,
    root: DataRoot,
    *,
    data_version: str,
    rows: int,
    started_at: datetime,
    backend: str = "",
    metadata: dict[str, Any] | None = None,
    input_versions: dict[str, str] | None = None,
    outputs: list[dict] | None = None,
) -> dg.MaterializeResult:
    """Write the lineage record (with the files written, ``outputs``) and return the materialization
    with its content data version.

    ``input_versions`` defaults to the same-partition upstream versions; an asset that reads many
    partitions of its inputs (``sft_dataset``) passes what it read instead.
    """
    partition = asset_partition(context)
    input_versions = upstream_data_versions(context) if input_versions is None else input_versions
    code_version = context.assets_def.code_versions_by_key.get(context.asset_key) or ""
    uri = write_lineage(root, LineageRecord(
        asset=context.asset_key.to_user_string(), partition=partition, run_id=context.run_id,
        code_version=code_version, data_version=data_version, rows=rows, started_at=started_at,
        finished_at=datetime.now(timezone.utc), backend=backend, input_versions=input_versions,
        outputs=outputs or [],
    ))
    meta = {"rows": rows, "data_version": data_version, "lineage": uri, **(metadata or {})}
    if backend:
        meta["backend"] = backend
    tags = {f"{INPUT_VERSION_TAG_PREFIX}{k}": short_version(v) for k, v in input_versions.items()}
    return dg.MaterializeResult(data_version=dg.DataVersion(data_version), metadata=meta, tags=tags)


def now() -> datetime:
    return datetime.now(timezone.utc)
