"""A drop folder written under ROOT/drops/ becomes a partition and one successful run in a real `dagster dev`.

Everything is observed through the webserver's GraphQL API: the sensor's ticks, the `drops` partition keys
of the assets, the run the sensor requested (tags, status) and the materializations of drop_manifest and
point_maps for that partition. Only drop_manifest and point_maps are assumed to exist in the graph.
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import pytest

from hispatial_assets_tests.e2e.conftest import (FINISHED_TICK, metadata_of, sensor_ticks, tags_of, wait_for,
                                                 wait_for_tick_after)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]  # backstop (with the session's demo and dev start)

RUN_DEADLINE_S = 180  # the whole drop_pipeline job (every drop-partitioned asset) on 2 busy cores


def stage_drop(dev, drop_id: str, n_images: int = 2) -> Path:
    """Render a tiny scene-engine drop outside drops/, drop its _READY, move it in atomically (a copy in progress)."""
    from hispatial_assets.scenes import write_drop

    staging = dev.root.parent / "staging"
    write_drop(str(staging), drop_id, n_images=n_images, seed=7, width=160, height=120)
    (staging / "drops" / drop_id / "_READY").unlink()
    target = dev.root / "drops" / drop_id
    target.parent.mkdir(parents=True, exist_ok=True)
    os.rename(staging / "drops" / drop_id, target)
    return target


def test_sensor_registers_a_ready_drop_and_its_run_materializes_the_graph(dev):
    t_start = time.monotonic()
    status, _ = sensor_ticks(dev)
    assert status == "RUNNING", f"drop_sensor should be running by default, is {status}"

    drop_id = f"e2e-sensor-{uuid.uuid4().hex[:8]}"
    drop_dir = stage_drop(dev, drop_id)
    t_incomplete = time.time()

    # A folder without _READY is left alone: after a full tick it is still no partition and has no run.
    wait_for_tick_after(dev, t_incomplete, timeout_s=45)
    assert drop_id not in dev.partition_keys("drop_manifest")
    assert dev.runs_for_partition(drop_id) == []

    (drop_dir / "_READY").write_bytes(b"")
    t_ready = time.time()

    # The sensor registers the partition (visible on every drop-partitioned asset) ...
    wait_for(f"partition {drop_id} to be registered", lambda: drop_id in dev.partition_keys("drop_manifest"),
             timeout_s=60, on_timeout=lambda: "\n" + dev.log_tail())
    assert drop_id in dev.partition_keys("point_maps")
    t_registered = time.time()

    # ... in one tick that added the partition and requested exactly one run for it ...
    def adding_ticks():
        _, ticks = sensor_ticks(dev, after=t_ready - 1)
        adding = [k for k in ticks if any(drop_id in (r["partitionKeys"] or []) and r["type"] == "ADD_PARTITIONS"
                                          for r in k["dynamicPartitionsRequestResults"])]
        return adding if adding and all(k["status"] in FINISHED_TICK for k in adding) else None

    adding = wait_for("the tick that added the partition to finish", adding_ticks, timeout_s=30)
    assert len(adding) == 1, f"expected one tick adding {drop_id}, got {adding}"
    assert adding[0]["status"] == "SUCCESS" and len(adding[0]["runIds"]) == 1, adding[0]
    run_id = adding[0]["runIds"][0]

    # ... and that run (job drop_pipeline, partition = drop id, from drop_sensor) succeeds.
    run = dev.wait_run_finished(run_id, timeout_s=RUN_DEADLINE_S)
    assert run["status"] == "SUCCESS", f"run {run_id} ended {run['status']}\n{dev.log_tail()}"
    tags = tags_of(run)
    assert run["jobName"] == "drop_pipeline"
    assert tags["dagster/partition"] == drop_id
    assert tags["dagster/sensor_name"] == "drop_sensor"
    assert tags["dagster/run_key"] == f"drop:{drop_id}"
    t_succeeded = time.time()

    # The graph is materialized for that partition, by that run. (Other automation, e.g. a refresh sensor
    # over downstream assets, may add runs of its own for the partition: only this run's events count.)
    for asset in ("drop_manifest", "point_maps"):
        assert drop_id in dev.partition_status(asset)["materializedPartitions"], asset
        mats = [m for m in dev.materializations(asset, drop_id) if m["runId"] == run_id]
        assert len(mats) == 1, (asset, dev.materializations(asset, drop_id))
        meta = metadata_of(mats[0])
        assert meta["images"] == 2 and meta["rejected"] == 0, (asset, meta)

    # Exactly once: later ticks request nothing more for this drop.
    wait_for_tick_after(dev, time.time(), timeout_s=45)
    from_sensor = [r["runId"] for r in dev.runs_for_partition(drop_id)
                   if tags_of(r).get("dagster/sensor_name") == "drop_sensor"]
    assert from_sensor == [run_id]

    print(f"drop {drop_id}: registered {t_registered - t_ready:.1f}s after _READY, run succeeded "
          f"{t_succeeded - t_ready:.1f}s after _READY; test body {time.monotonic() - t_start:.1f}s; "
          f"dagster dev startup {dev.started_s:.1f}s")
