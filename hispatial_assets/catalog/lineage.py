"""Lineage records: one Parquet file per materialization, append-only, never contended."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone

import polars as pl

from hispatial_assets import schema
from hispatial_assets.storage import io
from hispatial_assets.storage.layout import DataRoot


@dataclass
class LineageRecord:
    asset: str
    partition: str
    run_id: str
    code_version: str
    data_version: str
    rows: int
    started_at: datetime
    finished_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    backend: str = ""
    input_versions: dict[str, str] = field(default_factory=dict)
    outputs: list[dict] = field(default_factory=list)  # files written: {table, uri, bytes, sha256}


def _safe(s: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in s)


def write_lineage(root: DataRoot, rec: LineageRecord) -> str:
    row = {
        "asset": rec.asset, "partition": rec.partition, "run_id": rec.run_id,
        "code_version": rec.code_version, "backend": rec.backend,
        "input_versions": json.dumps(rec.input_versions, sort_keys=True),
        "data_version": rec.data_version, "rows": rec.rows,
        "started_at": rec.started_at, "finished_at": rec.finished_at,
        "outputs": json.dumps(rec.outputs, sort_keys=True),
    }
    df = schema.conform(pl.DataFrame([row]), "lineage")
    stamp = rec.finished_at.strftime("%Y%m%dT%H%M%S%f")
    uri = io.join(root.lineage_dir(), f"asset={_safe(rec.asset)}", _safe(rec.partition or "__all__"),
                  f"{stamp}-{_safe(rec.run_id)[:36]}-{uuid.uuid4().hex[:6]}.parquet")
    return io.write_parquet(uri, df)


def latest_data_versions(root: DataRoot, assets: list[str] | tuple[str, ...]) -> pl.DataFrame:
    """(asset, partition, data_version, code_version, input_versions, finished_at) of the newest record
    per partition of each asset."""
    from hispatial_assets.catalog.duckdb import query

    names = ", ".join(f"'{a}'" for a in assets if a.replace("_", "").isalnum())
    if not names:
        return pl.DataFrame(schema={"asset": pl.String, "partition": pl.String, "data_version": pl.String})
    return query(root, f"""
        SELECT asset, partition, data_version, code_version, input_versions, finished_at FROM lineage
        WHERE asset IN ({names})
        QUALIFY row_number() OVER (PARTITION BY asset, partition ORDER BY finished_at DESC) = 1
        ORDER BY asset, partition""")
