"""`hispatial add-drop --run` while a daemon runs the drop_sensor: exactly one run of the drop (the
sensor's, which the command follows and reports), not one from the command line and one from the sensor."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hispatial_assets_tests.e2e.conftest import tags_of, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(480)]
REPO = Path(__file__).resolve().parents[2]
DAEMONS = "{ instance { daemonHealth { allDaemonStatuses { daemonType healthy } } } }"


def sensor_daemon_healthy(dev) -> bool:
    statuses = dev.graphql(DAEMONS)["instance"]["daemonHealth"]["allDaemonStatuses"]
    return any(s["daemonType"] == "SENSOR" and s["healthy"] for s in statuses)


def test_add_drop_run_with_a_daemon_running_makes_exactly_one_run(dev, tmp_path):
    from hispatial_assets.scenes import write_drop

    wait_for("the sensor daemon's heartbeat", lambda: sensor_daemon_healthy(dev), 120)
    write_drop(str(tmp_path / "src"), "cli_run", n_images=1, seed=11, width=160, height=120)
    env = {**dev.env(), "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-m", "hispatial_assets.cli", "add-drop", str(tmp_path / "src" / "drops" / "cli_run"),
                           "--id", "cli_run", "--run"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=420)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "waiting for its drop_sensor's run" in done.stdout

    time.sleep(5)  # a few more sensor ticks (one per second here): none may request the drop again
    runs = dev.runs_for_partition("cli_run")
    assert len(runs) == 1, runs
    assert runs[0]["status"] == "SUCCESS" and tags_of(runs[0]).get("dagster/sensor_name") == "drop_sensor"
    assert f"run {runs[0]['runId']}: success" in done.stdout
