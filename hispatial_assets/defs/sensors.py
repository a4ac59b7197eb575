"""drop_sensor: a complete drop folder becomes a partition and one run, exactly once."""


import json
import os

import dagster as dg

from hispatial_assets.defs.partitions import drops
from hispatial_assets.defs.resources import DataRootResource
from hispatial_assets.storage import io
from hispatial_assets.storage.drops import READY_MARKER
from hispatial_assets.storage.layout import InvalidDropId, check_drop_id


def list_ready_drops(drops_uri: str) -> tuple[list[str], list[str]]:
    """(complete drop ids, folders skipped with a reason) under ``drops_uri``; complete = has _READY."""
    fs, path = io.fs_and_path(drops_uri)
    if not fs.exists(path):
        return [], []
    ready, skipped = [], []
    for entry in sorted(fs.ls(path, detail=True), key=lambda e: e["name"]):
        if entry["type"] != "directory":
            continue
        name = entry["name"].rstrip("/").rsplit("/", 1)[-1]
        if name.startswith("."):
            continue
        try:
            check_drop_id(name)
        except InvalidDropId as e:
            skipped.append(str(e))
            continue
        if fs.exists(f"{entry['name'].rstrip('/')}/{READY_MARKER}"):
            ready.append(name)
    return ready, skipped


SENSOR_INTERVAL_ENV = "HISPATIAL_SENSOR_INTERVAL_S"
DEFAULT_SENSOR_INTERVAL_S = 15


def sensor_interval_s() -> int:
    """Seconds between drop_sensor ticks: ``$HISPATIAL_SENSOR_INTERVAL_S`` (e.g. 1 in tests), default 15."""
    raw = os.environ.get(SENSOR_INTERVAL_ENV, "").strip()
    try:
        return max(1, int(raw)) if raw else DEFAULT_SENSOR_INTERVAL_S
    except ValueError:
        raise ValueError(f"{SENSOR_INTERVAL_ENV} must be a whole number of seconds, got {raw!r}") from None


def build_drop_sensor(job) -> dg.SensorDefinition:
    @dg.sensor(
        name="drop_sensor",
        job=job,
        minimum_interval_seconds=sensor_interval_s(),
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Registers every drop folder under ROOT/drops that holds a _READY marker as a "
        "`drops` partition and requests one run of the drop pipeline for it. A folder still being "
        "copied (no _READY yet) is left for a later tick; the cursor keeps every drop seen.",
    )
    def drop_sensor(context: dg.SensorEvaluationContext, data_root: DataRootResource) -> dg.SensorResult:
        root = data_root.data_root()
        seen = set(json.loads(context.cursor)["seen"]) if context.cursor else set()
        ready, skipped = list_ready_drops(root.drops_uri())
        for reason in skipped:
            context.log.warning(reason)
        new = [d for d in ready if d not in seen]
        known = set(context.instance.get_dynamic_partitions(drops.name))
        to_add = [d for d in new if d not in known]
        return dg.SensorResult(
            run_requests=[dg.RunRequest(partition_key=d, run_key=f"drop:{d}") for d in new],
            dynamic_partitions_requests=[drops.build_add_request(to_add)] if to_add else [],
            cursor=json.dumps({"seen": sorted(seen | set(new))}),
        )

    return drop_sensor
