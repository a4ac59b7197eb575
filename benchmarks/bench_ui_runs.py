"""A drop run launched by the daemon (drop sensor) or from the UI, against the same drop run from the CLI.

Target (issue 15, item 2): a sensor- or UI-launched run of an 8-image drop within 1.5x the CLI's time for
the same drop. Starts `dagster dev` on a temporary home (the repository's dagster_home/dagster.yaml) and
root, renders one 8-image scene-engine drop (the demo's size) and, ``--repeat`` times, runs it as:

- cli:    `hispatial add-drop DROP --run` on a second home and root (the command's wall time: start,
          imports, copy, run);
- sensor: `hispatial add-drop DROP` into the dev root; the drop sensor's run, from its creation to its end
          (queue, launch, run worker start, every step, qa_stats);
- ui:     a registered drop launched through the webserver's GraphQL ``launchRun`` (what the Launchpad
          and "Materialize" send), creation to end;
- ui_multiprocess (``--baseline``): the same with the multiprocess executor picked in the run config,
          the default before issue 15 (one process per step).

Prints each time, the medians and their ratios to the CLI. The machine is shared: figures are noisy.

    .venv/bin/python benchmarks/bench_ui_runs.py [--repeat 3] [--images 8] [--baseline]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hispatial_assets.scenes import write_drop  # noqa: E402
from hispatial_assets_tests.e2e.conftest import REPO, DagsterDev, E2EError, tags_of, wait_for  # noqa: E402

TARGET = 1.5
LAUNCH = """mutation($params: ExecutionParams!) { launchRun(executionParams: $params) { __typename
  ... on LaunchRunSuccess { run { runId } } ... on PythonError { message }
  ... on RunConfigValidationInvalid { errors { message } } } }"""
MULTIPROCESS = {"execution": {"config": {"multiprocess": {"max_concurrent": 2}}}}


def hispatial(dev: DagsterDev, *args: str, home: Path, root: Path) -> float:
    env = {**dev.env(), "DAGSTER_HOME": str(home), "HISPATIAL_ROOT": str(root)}
    t0 = time.monotonic()
    done = subprocess.run([dev.exe("hispatial"), *args, "--root", str(root)], cwd=REPO, env=env,
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise E2EError(f"hispatial {' '.join(args)}: {done.stdout}\n{done.stderr}")
    return time.monotonic() - t0


def run_seconds(dev: DagsterDev, run_id: str, timeout_s: float) -> float:
    run = dev.wait_run_finished(run_id, timeout_s)
    if run["status"] != "SUCCESS":
        raise E2EError(f"run {run_id}: {run['status']}\n{dev.log_tail()}")
    (record,) = [r for r in dev.runs_for_partition(tags_of(run)["dagster/partition"]) if r["runId"] == run_id]
    return record["endTime"] - record["creationTime"]


def sensor_run(dev: DagsterDev, source: Path, drop_id: str, timeout_s: float) -> float:
    hispatial(dev, "add-drop", str(source), "--id", drop_id, home=dev.home, root=dev.root)
    (run,) = wait_for(f"the sensor's run of {drop_id}", lambda: [
        r for r in dev.runs_for_partition(drop_id) if tags_of(r).get("dagster/sensor_name") == "drop_sensor"], 120)
    return run_seconds(dev, run["runId"], timeout_s)


def ui_run(dev: DagsterDev, source: Path, drop_id: str, timeout_s: float, run_config: dict | None = None) -> float:
    shutil.copytree(source, dev.root / "drops" / drop_id, ignore=shutil.ignore_patterns("_READY"))  # no sensor run
    dev.add_partition("drops", drop_id)
    params = {"selector": {**dev.repository_selector(), "jobName": "drop_pipeline"}, "runConfigData": run_config or {},
              "executionMetadata": {"tags": [{"key": "dagster/partition", "value": drop_id}]}}
    launched = dev.graphql(LAUNCH, {"params": params})["launchRun"]
    if launched["__typename"] != "LaunchRunSuccess":
        raise E2EError(f"launchRun: {launched}")
    return run_seconds(dev, launched["run"]["runId"], timeout_s)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--baseline", action="store_true", help="also time the multiprocess executor once")
    parser.add_argument("--timeout", type=float, default=900, help="seconds a run may take")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-ui-runs-"))
    dev = DagsterDev(work)
    write_drop(str(work / "staging"), "src", n_images=args.images, seed=77)
    source = work / "staging" / "drops" / "src"
    dev.seed_home()
    dev.cli_home.mkdir()
    shutil.copy(dev.home / "dagster.yaml", dev.cli_home / "dagster.yaml")
    times: dict[str, list[float]] = {"cli": [], "sensor": [], "ui": []}
    try:
        dev.start()
        print(f"dagster dev up in {dev.started_s:.1f}s; {args.images}-image drop; load {os.getloadavg()[0]:.1f}")
        for i in range(args.repeat):
            times["cli"].append(hispatial(dev, "add-drop", str(source), "--id", f"cli_{i}", "--run",
                                          home=dev.cli_home, root=dev.cli_root))
            times["sensor"].append(sensor_run(dev, source, f"sensor_{i}", args.timeout))
            times["ui"].append(ui_run(dev, source, f"ui_{i}", args.timeout))
            print("  " + "  ".join(f"{k} {v[-1]:.1f}s" for k, v in times.items()), flush=True)
        if args.baseline:
            times["ui_multiprocess"] = [ui_run(dev, source, "ui_multiprocess", args.timeout, MULTIPROCESS)]
    finally:
        dev.stop()
        shutil.rmtree(work, ignore_errors=True)
    cli = statistics.median(times["cli"])
    for name, values in times.items():
        median = statistics.median(values)
        verdict = "" if name == "cli" else f"  {median / cli:.2f}x cli" + (
            f" (target <= {TARGET}x: {'met' if median <= TARGET * cli else 'MISSED'})" if name in ("sensor", "ui") else "")
        print(f"{name:16s} median {median:6.1f}s  [{', '.join(f'{v:.1f}' for v in values)}]{verdict}")


if __name__ == "__main__":
    main()
