"""The QA levels write their rows batch by batch (one Parquet row group per batch, issue 14): the table
read back is the rows of the batches in order, and the summary and lineage record match the file."""

import json

import polars as pl
import pyarrow.parquet as pq
from polars.testing import assert_frame_equal

from hispatial_assets import schema
from hispatial_assets.cli import orchestrate
from hispatial_assets.config import PipelineConfig
from hispatial_assets.defs import qa as qa_defs
from hispatial_assets.qa import QAConfig
from hispatial_assets.qa.summary import summarize_qa
from hispatial_assets.scenes import write_drop
from hispatial_assets.storage import io
from hispatial_assets.storage.tables import read_table


def lineage_outputs(result, asset: str) -> list[dict]:
    """The files the run's materialization of ``asset`` recorded in its lineage record."""
    mat = next(e.materialization for e in result.get_asset_materialization_events()
               if e.materialization.asset_key.to_user_string() == asset)
    return json.loads(io.read_parquet(str(mat.metadata["lineage"].value))["outputs"][0])


def test_streamed_qa_is_the_batches_in_order_with_one_row_group_each(data_root, instance, monkeypatch):
    monkeypatch.setattr(qa_defs, "QA_BATCH_IMAGES", 2)
    write_drop(data_root.root, "s0", n_images=5, seed=11, width=192, height=144)
    orchestrate.register_drops(instance, ["s0"])
    config = PipelineConfig.exact()
    result = orchestrate.materialize_drop(orchestrate.load_definitions(data_root, config), instance, "s0")
    assert result.success

    for level in range(4):
        stored = read_table(data_root, "qa", "s0", level=level)
        versions = json.loads(stored["input_versions"][0])
        batches = list(qa_defs.synthesize_level(data_root, "s0", level, QAConfig(**config.qa), versions))
        assert len(batches) == 3  # 5 images, 2 per batch
        assert_frame_equal(stored, schema.conform(pl.concat(batches), "qa"))
        assert stored["image_id"].n_unique() == 5

        uri = data_root.table_uri("qa", "s0", level=level)
        assert pq.ParquetFile(io.fs_and_path(uri)[1]).num_row_groups == 3
        assert_frame_equal(read_table(data_root, "qa_summary", "s0", level=level), summarize_qa(stored))

        data = io.read_bytes(uri)
        record = next(r for r in lineage_outputs(result, f"qa_l{level}") if r["table"] == "qa")
        assert (record["uri"], record["bytes"], record["sha256"]) == (uri, len(data), io.sha256_bytes(data))
