"""Fault injection: the real `hispatial` command in its own process, killed or held at a gate.

A CLI run executes in the `hispatial` process itself (execute_in_process), so killing that
process is what kill -9 of a run means. In those processes the point-map backend can wait at a gate
(``gated``): while it waits, the `point_maps` step is running and holds its `gpu` pool slot, so the
test knows exactly where the kill lands.
Polls use generous deadlines and short sleeps: a loaded 2-core machine may be slow to start Python.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dagster as dg


REPO = Path(__file__).resolve().parents[2]
GATE_ENV = "HISPATIAL_FAULT_GATE"
STARTUP_S = 180.0  # Python + Dagster start on a busy machine


def wait_at_gate() -> None:
    """With ``$HISPATIAL_FAULT_GATE`` set: say so (``entered-<pid>``) and wait until ``open`` exists."""
    gate = os.environ.get(GATE_ENV)
    if gate:
        Path(gate, f"entered-{os.getpid()}").touch()
        while not Path(gate, "open").exists():
            time.sleep(0.1)


def gated(backend):
    """The configured point-map backend, unchanged (name, version, output) but for the gate before
    each estimate: while it waits, `point_maps` runs and holds its `gpu` slot."""
    for method in ("estimate", "estimate_batch"):
        if hasattr(backend, method):
            inner = getattr(backend, method)

            def waiting(*args, _inner=inner, **kwargs):
                wait_at_gate()
                return _inner(*args, **kwargs)

            setattr(backend, method, waiting)
    return backend


def wait_until(what: str, probe: Callable[[], Any], timeout_s: float = STARTUP_S, interval_s: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {what}")
        time.sleep(interval_s)


class CliEnv:
    """A data root and a Dagster home for `hispatial` processes, and the instance to inspect them."""

    def __init__(self, tmp: Path, root: Path | None = None):
        self.root = str(root or tmp / "root")
        self.home = tmp / "dagster_home"
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / "dagster.yaml").write_text((REPO / "dagster_home" / "dagster.yaml").read_text())
        self.logs = tmp / "logs"
        self.logs.mkdir(exist_ok=True)
        self.processes: list[subprocess.Popen] = []

    def env(self, gate: Path | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HISPATIAL_")}
        env.update(DAGSTER_HOME=str(self.home), PYTHONPATH=os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]))
        if gate is not None:
            env[GATE_ENV] = str(gate)
        return env

    def spawn(self, *args: str, gate: Path | None = None) -> subprocess.Popen:
        """`hispatial ARGS --root ROOT` in a new process (point maps behind the gate, when one is given)."""
        log = open(self.logs / f"{len(self.processes):02d}-{args[0]}.log", "wb")
        proc = subprocess.Popen([sys.executable, "-m", "hispatial_assets_tests.faults.gated_cli", *args, "--root", self.root],
                                cwd=REPO, env=self.env(gate), stdout=log, stderr=subprocess.STDOUT)
        proc.log_path = log.name
        self.processes.append(proc)
        return proc

    def spawn_multiprocess_run(self, drop_id: str) -> subprocess.Popen:
        """A run of ``drop_id`` with the multiprocess executor, as a daemon-launched run worker does it."""
        log = open(self.logs / f"{len(self.processes):02d}-multiprocess.log", "wb")
        env = {**self.env(), "HISPATIAL_ROOT": self.root}
        proc = subprocess.Popen([sys.executable, "-m", "hispatial_assets_tests.faults.multiprocess_run", drop_id],
                                cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
        proc.log_path = log.name
        self.processes.append(proc)
        return proc

    def run(self, *args: str, timeout_s: float = STARTUP_S) -> subprocess.CompletedProcess:
        proc = self.spawn(*args)
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise AssertionError(f"hispatial {' '.join(args)} did not finish in {timeout_s:.0f}s:\n{self.output(proc)}")
        return subprocess.CompletedProcess(proc.args, proc.returncode, self.output(proc))

    def output(self, proc: subprocess.Popen) -> str:
        return Path(proc.log_path).read_text(errors="replace")

    def instance(self) -> dg.DagsterInstance:
        return dg.DagsterInstance.from_config(str(self.home))

    def stop_all(self) -> None:
        """Never leave a process behind, whatever the test did."""
        for proc in self.processes:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def kill9(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_of(instance: dg.DagsterInstance, drop_id: str) -> dg.DagsterRun | None:
    """The latest run of a drop (one run per drop in these tests)."""
    runs = instance.get_runs(dg.RunsFilter(tags={"dagster/partition": drop_id}), limit=1)
    return runs[0] if runs else None


def started_steps(instance: dg.DagsterInstance, run_id: str) -> set[str]:
    return {e.step_key for e in instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_START)}


def gpu_pool(instance: dg.DagsterInstance):
    return instance.event_log_storage.get_concurrency_info("gpu")


# qa_stats' compacted copy of the per-drop summaries (catalog/qa_stats.py): a cache keyed on the summary
# files' modification times, in the order they were reread; it depends on history by design, what it
# holds does not (the summaries and qa_stats' own tables are compared).
QA_STATS_CACHE = ("tables/qa_stats/summary.parquet", "tables/qa_stats/summary_sources.parquet")


def files_under(root: str, *folders: str) -> dict[str, str]:
    """relative path -> sha256 of every file under ``root/<folder>`` (what a run wrote)."""
    import hashlib

    out = {}
    for folder in folders:
        base = Path(root, folder)
        for path in sorted(base.rglob("*")) if base.exists() else []:
            if path.is_file() and str(path.relative_to(root)) not in QA_STATS_CACHE:
                out[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out
