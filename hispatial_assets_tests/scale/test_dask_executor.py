"""The drop pipeline on a dask.distributed cluster (the `dask` executor) writes the same bytes as
the same drop run locally: execution is configuration, not code."""

import hashlib
import os
import shutil

import dagster as dg
import pytest

from hispatial_assets.cli import orchestrate
from hispatial_assets.scenes import write_drop
from hispatial_assets_tests.defs import jobs

distributed = pytest.importorskip("distributed", reason="the dask extra: pip install '.[dask]'")

DROP = "cluster_01"


def fresh_home(path) -> str:
    path.mkdir()
    return str(path)


def output_hashes(root: str) -> dict[str, str]:
    """sha256 of every file the pipeline wrote (tables and point maps), by path under the root;
    lineage records are left out (they hold run ids and times), and so is qa_stats' list of the summary
    files it compacted (their modification times: qa_stats ends every drop run)."""
    hashes = {}
    for top in ("tables", "arrays"):
        for dirpath, _, files in os.walk(os.path.join(root, top)):
            for name in files:
                if name == "summary_sources.parquet":
                    continue
                path = os.path.join(dirpath, name)
                with open(path, "rb") as f:
                    hashes[os.path.relpath(path, root)] = hashlib.sha256(f.read()).hexdigest()
    return hashes


@pytest.fixture
def cluster(data_root, monkeypatch):
    # Two worker processes, one thread each (Dagster steps are not thread-safe), on 127.0.0.1 only.
    # Workers load the definitions as any process does: the data root comes from their environment.
    monkeypatch.setenv("HISPATIAL_ROOT", data_root.root)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as local:
        yield local


def test_a_drop_materialized_on_a_dask_cluster_is_byte_identical_to_a_local_run(
        data_root, tmp_path, monkeypatch, cluster):
    write_drop(data_root.root, DROP, n_images=2, seed=3, width=160, height=120)

    with dg.instance_for_test(temp_dir=fresh_home(tmp_path / "local_home")) as instance:
        orchestrate.register_drops(instance, [DROP])
        local = orchestrate.materialize_drop(orchestrate.load_definitions(data_root), instance, DROP)
        assert local.success
    local_outputs = output_hashes(data_root.root)
    assert any(p.startswith("tables/qa/") for p in local_outputs) and any(p.startswith("arrays/") for p in local_outputs)
    for top in os.listdir(data_root.root):  # back to the drop alone
        if top != "drops":
            shutil.rmtree(os.path.join(data_root.root, top))

    monkeypatch.setenv("HISPATIAL_EXECUTOR", "dask")
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", cluster.scheduler_address)
    with dg.instance_for_test(temp_dir=fresh_home(tmp_path / "cluster_home")) as instance:
        orchestrate.register_drops(instance, [DROP])
        with dg.execute_job(dg.reconstructable(jobs.drop_job), instance=instance,
                            tags={"dagster/partition": DROP}) as result:
            assert result.success
            step_pids = {e.pid for e in result.all_events if e.is_step_success}
            materialized = {e.asset_key.to_user_string() for e in result.all_events if e.is_step_materialization}
    with distributed.Client(cluster) as client:
        worker_pids = set(client.run(os.getpid).values())
    assert step_pids and step_pids <= worker_pids  # every step ran on a dask worker, none in this process
    assert materialized >= {"drop_manifest", "point_maps", "gravity", "objects", "referrals",
                            "qa_l0", "qa_l1", "qa_l2", "qa_l3"}
    assert output_hashes(data_root.root) == local_outputs
