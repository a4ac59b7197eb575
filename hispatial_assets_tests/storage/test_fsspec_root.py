"""Any fsspec URL works as a data root: drops, tables and catalog views over memory://."""

import uuid

import dagster as dg
import numpy as np
import polars as pl

from hispatial_assets import schema
from hispatial_assets.catalog.duckdb import query
from hispatial_assets.definitions import build_definitions
from hispatial_assets.defs.resources import DataRootResource
from hispatial_assets.storage import io
from hispatial_assets.storage.layout import DataRoot


def test_sensor_and_catalog_work_on_an_in_memory_root(tmp_path, monkeypatch, instance):
    monkeypatch.setenv("HISPATIAL_CATALOG_DIR", str(tmp_path / "catalog"))
    root = DataRoot.resolve(f"memory://root-{uuid.uuid4().hex[:8]}")
    io.write_bytes(io.join(root.drop_uri("m1"), "a.png"), io.encode_png(np.zeros((16, 16, 3), np.uint8)))
    io.write_bytes(io.join(root.drop_uri("m1"), "_READY"), b"")

    sensor = build_definitions(root=root.root).resolve_sensor_def("drop_sensor")
    result = sensor(dg.build_sensor_context(instance=instance, resources={"data_root": DataRootResource(root=root.root)}))
    assert [r.partition_key for r in result.run_requests] == ["m1"]

    images = schema.conform(pl.DataFrame([{"drop_id": "m1", "image_id": "a", "uri": "x", "width": 16, "height": 16}]), "images")
    io.write_parquet(root.table_uri("images", "m1"), images)
    assert query(root, "select drop_id, width from images").rows() == [("m1", 16)]
