"""Issue 13, items 5, 6, 8 and 10 (temp files): damaged outputs, orphan lineage, a corrupt catalog."""

import json
import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pytest

from hispatial_assets.cli import orchestrate
from hispatial_assets.catalog.lineage import LineageRecord, write_lineage
from hispatial_assets.cli.commands import main
from hispatial_assets.storage import io
from hispatial_assets.storage.layout import DataRoot
from hispatial_assets_tests.faults.conftest import scene_drop
from hispatial_assets_tests.faults.harness import files_under, wait_until

OUTPUTS = ("tables", "arrays")


@pytest.fixture
def drop_done(tmp_path, monkeypatch, capsys):
    """One scene-engine drop `d1`, materialized through the CLI."""
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    monkeypatch.delenv("HISPATIAL_ROOT", raising=False)
    root = DataRoot.resolve(str(tmp_path / "root"))
    assert main(["add-drop", scene_drop(root.root, "d1", seed=5), "--id", "d1", "--root", root.root, "--run"]) == 0
    capsys.readouterr()
    return root


def status(root, capsys, *extra) -> dict[str, str]:
    """asset -> reason for the stale (asset, partition) pairs of d1 ({} when up to date)."""
    assert main(["status", "--root", root.root, "--format", "json", *extra]) == 0
    out = capsys.readouterr().out
    if "everything is up to date" in out:
        return {}
    rows, _ = json.JSONDecoder().raw_decode(out, out.index("["))  # the drops' table (recipes may follow)
    return {r["asset"]: r["reason"] for r in rows if r["partition"] == "d1"}


def refresh(root, capsys, *extra) -> str:
    code = main(["refresh", "--root", root.root, *extra])
    out = capsys.readouterr()
    assert code == 0, out
    return out.out


def count(root, table, capsys) -> int:
    assert main(["sql", f"select count(*) as n from {table}", "--root", root.root, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)[0]["n"]


def test_deleted_truncated_and_missing_outputs_make_their_partition_stale_and_refresh_repairs_them(drop_done, capsys):
    root = drop_done
    written = files_under(root.root, *OUTPUTS)
    objects = count(root, "objects", capsys)
    os.remove(root.table_uri("objects", "d1"))
    referrals = root.table_uri("referrals", "d1")
    os.truncate(referrals, os.path.getsize(referrals) // 2)
    point_map = sorted(Path(root.root, "arrays").rglob("*.npz"))[0]
    os.remove(point_map)

    stale = status(root, capsys)

    assert stale["objects"].startswith("output missing:") and "objects/drop_id=d1" in stale["objects"]
    assert stale["referrals"].startswith("output damaged:") and "bytes" in stale["referrals"]
    assert stale["point_maps"] == f"output missing: {point_map}"
    assert {stale[a] for a in ("qa_l0", "qa_l1", "gravity")} <= {f"upstream stale: {a}" for a in ("point_maps", "referrals", "objects", "gravity")}
    refresh(root, capsys)
    assert files_under(root.root, *OUTPUTS) == written  # repaired byte for byte
    assert status(root, capsys) == {}
    assert count(root, "objects", capsys) == objects


def test_a_same_size_change_is_found_by_deep_status_and_repaired_by_deep_refresh(drop_done, capsys):
    root = drop_done
    written = files_under(root.root, *OUTPUTS)
    qa = root.table_uri("qa", "d1", level=2)
    data = bytearray(Path(qa).read_bytes())
    data[len(data) // 2] ^= 0xFF
    Path(qa).write_bytes(bytes(data))

    assert status(root, capsys) == {}  # cheap: existence and size only
    deep = status(root, capsys, "--deep")
    assert deep == {"qa_l2": f"output damaged: {qa} content differs from what was written (sha256)"}
    refresh(root, capsys, "--deep")
    assert files_under(root.root, *OUTPUTS) == written
    assert status(root, capsys, "--deep") == {}


def test_a_lineage_record_dagster_never_recorded_does_not_make_refresh_loop(tmp_path, monkeypatch, capsys):
    """A run killed between writing `referrals`' lineage file and storing Dagster's event leaves an
    orphan lineage record: written here as that run would have, then refresh must settle."""
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    root = DataRoot.resolve(str(tmp_path / "root"))
    drop = scene_drop(root.root, "d1", seed=6)
    assert main(["add-drop", drop, "--id", "d1", "--root", root.root]) == 0
    assert main(["backfill", "--asset", "drop_manifest", "--asset", "point_maps", "--asset", "gravity", "--asset", "objects",
                 "--partitions", "d1", "--root", root.root]) == 0
    current, _ = orchestrate.partitioned_assets(orchestrate.load_definitions(root))
    capsys.readouterr()
    assert main(["sql", "select data_version from lineage where asset = 'objects'", "--root", root.root, "--format", "json"]) == 0
    objects_version = json.loads(capsys.readouterr().out)[0]["data_version"]
    write_lineage(root, LineageRecord(  # what the killed run wrote: the right versions, no Dagster event
        asset="referrals", partition="d1", run_id="killed-before-its-event", code_version=current["referrals"],
        data_version="f" * 64, rows=3, started_at=datetime.now(timezone.utc), input_versions={"objects": objects_version}))
    capsys.readouterr()

    out = refresh(root, capsys)

    assert "0 failed" in out and out.count("refresh d1:") == 1, out  # one run, not eight rounds
    assert status(root, capsys) == {}
    assert main(["sql", "select json_extract_string(input_versions, '$.referrals') as v from lineage "
                        "where asset = 'qa_l1'", "--root", root.root, "--format", "json"]) == 0
    referrals_version = json.loads(capsys.readouterr().out)[0]["v"]
    assert len(referrals_version) == 64 and referrals_version != "f" * 64


@pytest.mark.parametrize("content", [b"", b"not a database " * 500], ids=["empty", "garbage"])
def test_a_corrupt_catalog_file_is_rebuilt_and_nothing_waits(drop_done, capsys, content):
    root = drop_done
    catalog = Path(root.root, "catalog", "hispatial.duckdb")
    catalog.write_bytes(content)

    assert status(root, capsys) == {}
    assert count(root, "qa", capsys) > 0
    con = duckdb.connect(str(catalog), read_only=True)
    try:
        views = {r[0] for r in con.sql("select view_name from duckdb_views() where not internal").fetchall()}
    finally:
        con.close()
    assert {"images", "qa", "lineage", "rejected"} <= views


SLOW_DISK = """
import os, sys, time
from hispatial_assets.storage import io
os.fsync = lambda fd: time.sleep(3600)  # a disk that never confirms: the writer hangs mid-write
io.write_bytes(sys.argv[1], b"partial table " * 1000)
"""


def test_a_temp_file_left_by_a_killed_writer_is_removed_by_the_next_write_but_a_live_writers_is_kept(tmp_path):
    target = tmp_path / "tables" / "objects" / "drop_id=d1" / "part.parquet"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[2]), os.environ.get("PYTHONPATH", "")])}

    def hung_writer() -> tuple[subprocess.Popen, Path]:
        before = set(target.parent.glob("*.tmp-*")) if target.parent.exists() else set()
        proc = subprocess.Popen([sys.executable, "-c", SLOW_DISK, str(target)], env=env)
        temp = wait_until("the writer's temp file", lambda: (set(target.parent.glob("*.tmp-*")) - before
                                                               if target.parent.exists() else set()))
        return proc, temp.pop()

    killed, stale = hung_writer()
    killed.kill()
    killed.wait()
    alive, live = hung_writer()
    try:
        io.write_bytes(str(target), b"complete")

        assert target.read_bytes() == b"complete"
        assert not stale.exists()  # a killed writer's leftover
        assert live.exists()  # still being written by a live process
    finally:
        alive.kill()
        alive.wait()
    assert io.remove_stale_temps(str(target.parent)) == [str(live)]
    assert sorted(p.name for p in target.parent.iterdir()) == ["part.parquet"]
