"""What already held, kept under test: kill -9 at any stage, rerun, and the outputs are byte for
byte those of an uninterrupted run; runs at the same time lose and duplicate nothing."""

import shutil

import pytest

from hispatial_assets.catalog.duckdb import query
from hispatial_assets.storage.layout import DataRoot
from hispatial_assets_tests.faults.conftest import scene_drop
from hispatial_assets_tests.faults.harness import CliEnv, files_under, gpu_pool, kill9, run_of, started_steps, wait_until

OUTPUTS = ("tables", "arrays")


def wipe_outputs(root) -> None:
    for folder in ("tables", "arrays", "lineage", "catalog"):
        shutil.rmtree(root / folder, ignore_errors=True)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """One drop run start to finish; every test of this module reruns it in the same root."""
    base = tmp_path_factory.mktemp("rerun")
    root = base / "root"
    drop = scene_drop(str(root), "k1", seed=7)
    cli = CliEnv(base / "reference", root=root)
    done = cli.run("add-drop", drop, "--run")
    assert done.returncode == 0, done.stdout
    expected = files_under(str(root), *OUTPUTS)
    assert any("/arrays/" in f or f.startswith("arrays/") for f in expected) and any("qa/" in f for f in expected)
    return root, drop, expected


@pytest.mark.parametrize("stage", ["point_maps", "objects", "qa_l2"])
def test_a_run_killed_at_a_stage_and_rerun_writes_exactly_what_an_uninterrupted_run_writes(uninterrupted, stage, tmp_path):
    root, drop, expected = uninterrupted
    wipe_outputs(root)
    cli = CliEnv(tmp_path, root=root)  # and a fresh Dagster instance
    gate = tmp_path / "gate"
    gate.mkdir()
    if stage != "point_maps":
        (gate / "open").touch()
    try:
        proc = cli.spawn("add-drop", drop, "--run", gate=gate)
        with cli.instance() as instance:
            if stage == "point_maps":  # held inside the step, its gpu slot claimed
                wait_until("point_maps to be running", lambda: list(gate.glob("entered-*")))
            else:
                wait_until(f"{stage} to start", lambda: (run := run_of(instance, "k1")) is not None
                           and stage in started_steps(instance, run.run_id))
            kill9(proc)
            rerun = cli.run("add-drop", drop, "--run")
            assert rerun.returncode == 0, rerun.stdout
            assert gpu_pool(instance).claimed_slots == []
    finally:
        cli.stop_all()
    assert files_under(str(root), *OUTPUTS) == expected  # same files, same bytes, no temp file left


def test_two_drops_at_once_and_then_the_same_drop_twice_at_once_lose_and_duplicate_nothing(cli):
    drops = {d: scene_drop(cli.root, d, seed=20 + i) for i, d in enumerate(["c1", "c2"])}
    root = DataRoot(cli.root)

    def run_together(*drop_ids):
        procs = [cli.spawn("add-drop", drops[d], "--run") for d in drop_ids]
        for p in procs:
            assert p.wait(timeout=600) == 0, cli.output(p)

    run_together("c1", "c2")
    qa_files = files_under(cli.root, "tables/qa", "tables/objects", "tables/images", "arrays")
    counts = query(root, "select drop_id, count(*) as n, count(distinct qa_id) as ids from qa group by all order by 1")
    assert counts["n"].to_list() == counts["ids"].to_list() and counts["n"].min() > 0

    run_together("c1", "c1")

    assert files_under(cli.root, "tables/qa", "tables/objects", "tables/images", "arrays") == qa_files
    assert query(root, "select count(*) as n, count(distinct qa_id) as ids from qa").row(0) == (
        counts["n"].sum(), counts["n"].sum())
    lineage = query(root, "select partition, count(*) as n, count(distinct (asset, run_id)) as distinct_rows, "
                          "count(distinct run_id) as runs from lineage group by all order by 1")
    # 9 drop assets per run, one record each; every run ends with qa_stats, which is no drop's (partition "")
    assert lineage.rows() == [("", 4, 4, 4), ("c1", 27, 27, 3), ("c2", 9, 9, 1)]
