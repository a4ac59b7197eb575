"""drop_sensor: a complete drop folder becomes a partition and one run, exactly once; none for a drop
already materialized."""


import json
import os
from collections.abc import Sequence

import dagster as dg

from hispatial_assets.defs.partitions import drops
from hispatial_assets.defs.resources import DataRootResource
from hispatial_assets.storage import io
from hispatial_assets.storage.drop_scan import READY_MARKER
from hispatial_assets.storage.layout import InvalidDropId, check_drop_id


def list_ready_drops(drops_uri: str, known_ready: frozenset[str] | set[str] = frozenset()) -> tuple[list[str], list[str]]:
    """(complete drop ids, folders skipped with a reason) under ``drops_uri``; complete = has _READY.

    One listing of the folder per call, fresh (object-store filesystems cache listings for the life
    of the process, which would hide drops uploaded since), and one _READY check per folder not in
    ``known_ready``: on an object store that is a request each, so the drops seen before cost nothing."""
    fs, path = io.fs_and_path(drops_uri)
    fs.invalidate_cache(path)
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
        if name in known_ready or fs.exists(f"{entry['name'].rstrip('/')}/{READY_MARKER}"):
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


PARTITION_TAG = "dagster/partition"
IN_FLIGHT = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING,
             dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING]


def materialized_drops(instance: dg.DagsterInstance, assets: Sequence[dg.AssetKey], drop_ids: list[str]) -> set[str]:
    """The drops of ``drop_ids`` that every asset of the drop pipeline has a materialization of (Dagster's
    record: a drop that ``hispatial demo`` or ``add-drop --run`` ran is done, merely registered is not)."""
    done = set(drop_ids)
    for key in assets:
        if not done:
            break
        done &= set(instance.get_latest_storage_id_by_partition(
            key, dg.DagsterEventType.ASSET_MATERIALIZATION, partitions=done))
    return done


def drops_in_flight(instance: dg.DagsterInstance, drop_ids: list[str]) -> set[str]:
    """The drops of ``drop_ids`` that a queued or running run (any job: a CLI run, a UI launch) is working on."""
    runs = instance.get_runs(dg.RunsFilter(statuses=IN_FLIGHT))
    return {r.tags.get(PARTITION_TAG) for r in runs} & set(drop_ids)


def drops_already_run(instance: dg.DagsterInstance, job_name: str, drop_ids: list[str]) -> set[str]:
    """The drops of ``drop_ids`` whose drop pipeline run has ended without materializing everything (failed,
    canceled): the UI shows them failed and re-executing is the user's call, not a new run per restart."""
    ended = [dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED]
    return {d for d in drop_ids if instance.get_runs(
        dg.RunsFilter(job_name=job_name, statuses=ended, tags={PARTITION_TAG: d}), limit=1)}


def build_drop_sensor(job, pipeline_assets: Sequence[dg.AssetKey]) -> dg.SensorDefinition:
    """``pipeline_assets``: the drop-partitioned assets of ``job``; a drop they all hold is not run again."""

    @dg.sensor(
        name="drop_sensor",
        job=job,
        minimum_interval_seconds=sensor_interval_s(),
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Registers every drop folder under ROOT/drops that holds a _READY marker as a "
        "`drops` partition and requests one run of the drop pipeline for it. A folder still being "
        "copied (no _READY yet) is left for a later tick; a drop already materialized (e.g. by "
        "`hispatial demo`) or whose drop pipeline run has ended (failed: re-execute it from the UI) gets "
        "no run; one with a run in flight is looked at again once it ends. The cursor keeps every drop handled.",
    )
    def drop_sensor(context: dg.SensorEvaluationContext, data_root: DataRootResource) -> dg.SensorResult:
        root = data_root.data_root()
        seen = set(json.loads(context.cursor)["seen"]) if context.cursor else set()
        ready, skipped = list_ready_drops(root.drops_uri(), known_ready=seen)
        for reason in skipped:
            context.log.warning(reason)
        unseen = [d for d in ready if d not in seen]
        known = set(context.instance.get_dynamic_partitions(drops.name))
        to_add = [d for d in unseen if d not in known]
        done = materialized_drops(context.instance, pipeline_assets, [d for d in unseen if d in known])
        busy = drops_in_flight(context.instance, unseen) - done
        tried = drops_already_run(context.instance, job.name, [d for d in unseen if d in known and d not in done | busy])
        new = [d for d in unseen if d not in done | busy | tried]
        for group, why in ((done, "already materialized, no run"), (tried, "its drop pipeline run ended, no new run"),
                           (busy, "a run is in flight, looked at again later")):
            if group:
                context.log.info(f"{why}: {', '.join(sorted(group))}")
        return dg.SensorResult(
            run_requests=[dg.RunRequest(partition_key=d, run_key=f"drop:{d}") for d in new],
            dynamic_partitions_requests=[drops.build_add_request(to_add)] if to_add else [],
            cursor=json.dumps({"seen": sorted(seen | done | tried | set(new))}),
        )

    return drop_sensor
