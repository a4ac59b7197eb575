"""qa_stats is the last step of every drop run: once a drop's run has succeeded, the stats count its QA."""

import polars as pl

from hispatial_assets.cli import orchestrate
from hispatial_assets.catalog.duckdb import query
from hispatial_assets.scenes import write_drop
from hispatial_assets.storage import io


def test_each_drop_run_ends_with_qa_stats_over_every_drop_so_far(data_root, instance):
    defs = orchestrate.load_definitions(data_root)
    totals = []
    for i, drop_id in enumerate(("first", "second")):
        write_drop(data_root.root, drop_id, n_images=1, seed=20 + i, width=192, height=144)
        orchestrate.register_drops(instance, [drop_id])
        result = orchestrate.materialize_drop(defs, instance, drop_id)
        assert result.success
        (stats,) = [e for e in result.get_asset_materialization_events() if e.asset_key.to_user_string() == "qa_stats"]
        rows_by_drop = dict(query(data_root, "SELECT drop_id, count(*) FROM qa GROUP BY ALL").iter_rows())
        assert sorted(rows_by_drop) == ["first", "second"][: i + 1]
        assert stats.materialization.metadata["total_rows"].value == sum(rows_by_drop.values())
        counts = pl.read_parquet(io.join(data_root.root, "tables", "qa_stats", "counts.parquet"))
        assert counts["n"].sum() == sum(rows_by_drop.values()) and counts["drops"].max() == i + 1
        totals.append(sum(rows_by_drop.values()))
    assert totals[1] > totals[0] > 0
    # qa_stats is not partitioned: its records in the drops' runs are no drop's (partition "")
    stats_lineage = query(data_root, "SELECT partition, count(*) AS n FROM lineage WHERE asset = 'qa_stats' GROUP BY ALL")
    assert stats_lineage.rows() == [("", 2)]
