"""A data root in an S3-compatible object store, end to end: the sensor watches the s3:// prefix,
every stage writes there in single PUTs, the catalog and `export` read the Parquet from there, and
the credentials stay in the environment."""

import os

import dagster as dg
import numpy as np
import polars as pl

from hispatial_assets.cli import commands as cli
from hispatial_assets.cli import orchestrate
from hispatial_assets.catalog.duckdb import query
from hispatial_assets.definitions import build_definitions
from hispatial_assets.defs.resources import DataRootResource
from hispatial_assets.scenes import write_drop
from hispatial_assets.storage import io
from hispatial_assets_tests.scale.conftest import BUCKET


def test_a_drop_in_a_bucket_is_sensed_materialized_queried_and_exported_without_leaking_the_secret(
        s3_root, tmp_path, instance, capsys, caplog):
    root = s3_root.root
    write_drop(root.root, "s3_a", n_images=2, seed=5, width=160, height=120)
    defs = build_definitions(root=root.root)
    sensor = defs.resolve_sensor_def("drop_sensor")
    resources = {"data_root": DataRootResource(root=root.root)}

    first = sensor(dg.build_sensor_context(instance=instance, resources=resources))
    assert [r.partition_key for r in first.run_requests] == ["s3_a"]
    orchestrate.register_drops(instance, ["s3_a"])

    # Another machine uploads a drop: nothing until its _READY lands, then exactly that drop. The
    # sensor's cached listing of the prefix must not hide it.
    client = s3_root.client()
    client.put_object(Bucket=BUCKET, Key="root/drops/s3_b/x.png", Body=io.encode_png(np.zeros((16, 16, 3), np.uint8)))
    half = sensor(dg.build_sensor_context(instance=instance, resources=resources, cursor=first.cursor))
    assert half.run_requests == []
    client.put_object(Bucket=BUCKET, Key="root/drops/s3_b/_READY", Body=b"")
    second = sensor(dg.build_sensor_context(instance=instance, resources=resources, cursor=half.cursor))
    assert [r.partition_key for r in second.run_requests] == ["s3_b"]

    result = orchestrate.materialize_drop(defs, instance, "s3_a")
    assert result.success
    keys = s3_root.keys()
    for level in range(4):
        assert f"root/tables/qa/drop_id=s3_a/level={level}/part.parquet" in keys
    assert any(k.startswith("root/arrays/point_maps/drop_id=s3_a/") for k in keys)
    assert any(k.startswith("root/lineage/asset=qa_l3/s3_a/") for k in keys)
    assert not [k for k in keys if io.TEMP_MARK in k]  # one PUT per file: no temp objects, ever

    # the catalog reads the Parquet in the bucket: same rows as the files hold
    fs, _ = io.fs_and_path(root.root)
    in_files = sum(len(io.read_parquet(f"s3://{k}")) for k in fs.find(f"{BUCKET}/root/tables/qa") if k.endswith("part.parquet"))
    assert in_files > 0
    assert query(root, "select count(*) as n from qa")["n"][0] == in_files
    assert query(root, "select count(*) as n from images where drop_id = 's3_a'")["n"][0] == 2

    # ... and only reads: the query connection reaches the bucket through the read-only root alone
    before = set(s3_root.keys())
    for text in [f"copy (select * from qa) to 's3://{BUCKET}/root/tables/qa/x.parquet'",
                 "explain analyze copy (select * from qa) to 'hispatial://tables/qa/x.parquet'",
                 f"select count(*) from read_parquet('s3://{BUCKET}/root/tables/qa/**/*.parquet')"]:
        assert cli.main(["sql", text, "--root", root.root]) == 2
    assert set(s3_root.keys()) == before

    # qa_stats compacts the bucket's per-drop summaries (object versions are ETags) and counts every row
    assert orchestrate.materialize_unpartitioned(defs, instance)
    counts = io.read_parquet(f"{root.root}/tables/qa_stats/counts.parquet")
    assert int(counts["n"].sum()) == in_files

    out = tmp_path / "qa.parquet"
    assert cli.main(["export", "--root", root.root, "--out", str(out), "--format", "hf"]) == 0
    assert len(pl.read_parquet(out)) == in_files

    # the secret is nowhere: not printed, not logged, not in Dagster's storage (events, metadata,
    # run config), not in any object the pipeline wrote (lineage, tables), not in the catalog file
    printed = capsys.readouterr()
    assert s3_root.secret not in printed.out + printed.err + caplog.text
    read_run_records = False
    for base in (instance.root_directory, os.environ["HISPATIAL_CATALOG_DIR"]):
        for dirpath, _, files in os.walk(base):
            for name in files:
                with open(os.path.join(dirpath, name), "rb") as f:
                    data = f.read()
                assert s3_root.secret.encode() not in data, os.path.join(dirpath, name)
                read_run_records |= result.run_id.encode() in data
    assert read_run_records  # the search did read Dagster's storage, where the run's records are
    for key in s3_root.keys():  # everything written, qa_stats included
        assert s3_root.secret.encode() not in client.get_object(Bucket=BUCKET, Key=key)["Body"].read(), key
