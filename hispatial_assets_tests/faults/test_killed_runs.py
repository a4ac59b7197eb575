"""Issue 13, item 1: a run killed while it holds a `gpu` pool slot, and the runs that come after it."""

import signal
import time

import dagster as dg
import pytest

from hispatial_assets_tests.faults.conftest import scene_drop
from hispatial_assets_tests.faults.harness import REPO, cpu_seconds, gpu_pool, kill9, run_of, wait_until

CPU_WINDOW_S = 6.0


def hold_gpu_slot(cli, instance, tmp_path, drop_id: str):
    """Limit the gpu pool to one slot (one large GPU, as the README suggests) and start a run that
    sits in `point_maps` holding it."""
    instance.event_log_storage.set_concurrency_slots("gpu", 1)
    gate = tmp_path / f"gate-{drop_id}"
    gate.mkdir()
    holder = cli.spawn("add-drop", scene_drop(cli.root, drop_id, seed=1), "--run", gate=gate)
    wait_until("the holder's point_maps step to start", lambda: list(gate.glob("entered-*")))
    run = run_of(instance, drop_id)
    assert gpu_pool(instance).active_run_ids == {run.run_id}
    return holder, run, gate


def test_a_run_killed_while_holding_the_gpu_slot_is_failed_and_the_next_run_gets_the_slot(cli, tmp_path):
    with cli.instance() as instance:
        holder, holder_run, _ = hold_gpu_slot(cli, instance, tmp_path, "holder")
        kill9(holder)
        assert instance.get_run_by_id(holder_run.run_id).status == dg.DagsterRunStatus.STARTED  # what the kill leaves

        after = cli.run("add-drop", scene_drop(cli.root, "after", seed=2), "--run", timeout_s=300)

        assert after.returncode == 0, after.stdout
        assert instance.get_run_by_id(holder_run.run_id).status == dg.DagsterRunStatus.FAILURE
        assert "is gone" in "".join(e.message for e in instance.all_logs(holder_run.run_id))
        assert run_of(instance, "after").status == dg.DagsterRunStatus.SUCCESS
        assert gpu_pool(instance).claimed_slots == [] and gpu_pool(instance).pending_steps == []


@pytest.mark.parametrize("executor", ["in_process", "multiprocess"])
def test_a_run_blocked_on_the_gpu_pool_waits_without_spinning_and_stops_on_sigterm(cli, tmp_path, executor):
    """in_process: a CLI run; multiprocess: a run as the daemon's run worker executes it."""
    with cli.instance() as instance:
        holder, _, gate = hold_gpu_slot(cli, instance, tmp_path, "holder")
        drop = scene_drop(cli.root, "waiter", seed=3)
        waiter = (cli.spawn("add-drop", drop, "--run") if executor == "in_process"
                  else cli.spawn_multiprocess_run("waiter"))
        waiter_run = wait_until("the waiter to be blocked on the gpu pool", lambda: (
            (run := run_of(instance, "waiter")) is not None and run.run_id in gpu_pool(instance).pending_run_ids and run))

        before = cpu_seconds(waiter.pid)
        time.sleep(CPU_WINDOW_S)  # a measurement window, not a synchronisation
        used = cpu_seconds(waiter.pid) - before
        assert used < 0.1 * CPU_WINDOW_S, f"a blocked run used {used:.2f}s of CPU in {CPU_WINDOW_S:.0f}s"

        waiter.send_signal(signal.SIGTERM)
        waiter.wait(timeout=120)
        assert instance.get_run_by_id(waiter_run.run_id).status in (dg.DagsterRunStatus.FAILURE,
                                                                    dg.DagsterRunStatus.CANCELED)
        assert waiter_run.run_id not in gpu_pool(instance).pending_run_ids

        (gate / "open").touch()
        assert holder.wait(timeout=300) == 0, cli.output(holder)
        assert gpu_pool(instance).claimed_slots == []


def test_the_daemon_fails_runs_whose_worker_died_and_frees_the_slots_of_ended_runs():
    """The daemon path uses Dagster's own mechanisms: the code server fails a run whose worker process
    died; run monitoring frees the slots a failed run still holds, `free_slots_after_run_end_seconds`
    after it ended. This checks the instance config actually turns those on."""
    import tempfile

    with tempfile.TemporaryDirectory() as home:
        with open(f"{home}/dagster.yaml", "w") as f:
            f.write((REPO / "dagster_home" / "dagster.yaml").read_text())
        with dg.DagsterInstance.from_config(home) as instance:
            assert instance.run_monitoring_enabled
            assert 0 < instance.run_monitoring_settings["free_slots_after_run_end_seconds"] <= 120
            assert instance.event_log_storage.get_pool_config().default_pool_limit == 2
