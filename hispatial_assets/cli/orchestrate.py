"""Driving the Dagster graph from the command line: instance, partitions, runs, staleness.

The CLI and tests use these; the web UI and daemon reach the same Definitions through
workspace.yaml, so a drop materialized here shows up in `dagster dev` with its history.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
import time

import dagster as dg
import polars as pl

from hispatial_assets.bundled import DAGSTER_YAML, default_dagster_home, sql_text
from hispatial_assets.catalog.duckdb import connect
from hispatial_assets.defs.partitions import drops
from hispatial_assets.storage.layout import DataRoot
from hispatial_assets.storage.outputs import check_outputs

# CLI runs print their own progress and one line per failed step (`run_failures`), not Dagster's event log
QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


def dagster_home() -> str:
    """$DAGSTER_HOME, else the checkout's dagster_home/, else ./dagster_home (see bundled.py), seeded
    with the shipped dagster.yaml."""
    home = default_dagster_home()
    os.makedirs(home, exist_ok=True)
    if not os.path.exists(os.path.join(home, "dagster.yaml")):
        shutil.copy(DAGSTER_YAML, os.path.join(home, "dagster.yaml"))
    os.environ["DAGSTER_HOME"] = home
    return home


def get_instance() -> dg.DagsterInstance:
    """The instance of $DAGSTER_HOME. Its sqlite storage is created on first use; two commands
    starting at once on a fresh home would both create the tables, so they take turns."""
    from filelock import FileLock

    with FileLock(os.path.join(dagster_home(), ".instance.lock"), timeout=300):
        return dg.DagsterInstance.get()


def load_definitions(root: DataRoot, config=None) -> dg.Definitions:
    """The Definitions over a root, for ``config`` (a `PipelineConfig`; default: from the environment)."""
    os.environ["HISPATIAL_ROOT"] = root.root  # subprocesses (multiprocess executor) resolve the same root
    from hispatial_assets.definitions import build_definitions

    return build_definitions(config, root=root.root)


def register_drops(instance: dg.DagsterInstance, drop_ids: list[str]) -> list[str]:
    known = set(instance.get_dynamic_partitions(drops.name))
    new = [d for d in drop_ids if d not in known]
    if new:
        instance.add_dynamic_partitions(drops.name, new)
    return new


# Where a CLI run executes (execute_in_process runs in the calling process): lets the next CLI
# command tell a run whose process was killed from one still running.
PID_TAG, PID_START_TAG, HOST_TAG = "hispatial/pid", "hispatial/pid_start", "hispatial/host"


def process_start(pid: int) -> str:
    """The kernel's start time of a process (clock ticks since boot): tells a reused pid apart."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def process_tags() -> dict[str, str]:
    pid = os.getpid()
    return {PID_TAG: str(pid), PID_START_TAG: process_start(pid), HOST_TAG: socket.gethostname()}


def run_process_alive(tags: dict[str, str]) -> bool:
    pid = int(tags[PID_TAG])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    started = tags.get(PID_START_TAG, "")
    return not started or process_start(pid) in ("", started)


def fail_dead_runs(instance: dg.DagsterInstance, log=None) -> list[str]:
    """Mark failed the CLI runs of this host whose process is gone (kill -9) and free their pool slots.

    Such a run stays STARTED forever and keeps the `gpu` slot its step had claimed, so every later
    run waits for it. Runs launched by the daemon are watched by Dagster itself (the code server
    fails a run whose worker died; run monitoring frees the slots of ended runs, dagster.yaml)."""
    runs = instance.get_runs(dg.RunsFilter(
        statuses=[dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED,
                  dg.DagsterRunStatus.CANCELING],
        tags={HOST_TAG: socket.gethostname()}))
    failed = []
    for run in runs:
        if PID_TAG not in run.tags or run_process_alive(run.tags):
            continue
        instance.report_run_failed(run, f"hispatial: the process of this run (pid {run.tags[PID_TAG]}) is gone "
                                        "(killed?); marked failed and its pool slots freed")
        if instance.event_log_storage.supports_global_concurrency_limits:
            instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        failed.append(run.run_id)
        if log:
            log(f"run {run.run_id}: its process {run.tags[PID_TAG]} is gone; marked failed, pool slots freed")
    return failed


STEP_ENDS = (dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE, dg.DagsterEventType.STEP_SKIPPED)


def execute(job: dg.JobDefinition, instance: dg.DagsterInstance, *, tags: dict[str, str] | None = None,
            asset_selection: list[dg.AssetKey] | None = None, **kwargs) -> dg.ExecuteInProcessResult:
    """``execute_in_process`` for CLI runs: first clean up after killed runs, then run with this
    process's pid recorded in the run's tags, a progress bar over its steps on a terminal, and one
    line per failed step on stderr."""
    import uuid

    from hispatial_assets.cli.progress import bar

    fail_dead_runs(instance, log=lambda message: print(message, file=sys.stderr))
    steps = len((job.get_subset(asset_selection=set(asset_selection)) if asset_selection else job).graph.nodes)
    run_id = str(uuid.uuid4())
    partition = kwargs.get("partition_key")
    with bar(steps, f"{job.name}{f'[{partition}]' if partition else ''}", "step") as steps_bar:
        instance.add_event_listener(run_id, lambda entry: steps_bar.update(1) if entry.dagster_event_type in STEP_ENDS
                                    else None)
        result = job.execute_in_process(instance=instance, raise_on_error=False, run_config=QUIET, run_id=run_id,
                                        tags={**(tags or {}), **process_tags()}, asset_selection=asset_selection,
                                        **kwargs)
    for line in run_failures(instance, result.run_id):
        print(line, file=sys.stderr)
    return result


def run_failures(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    """One line per failed step of a run: the step and its root error (e.g. a missing checkpoint)."""
    return [f"step {entry.dagster_event.step_key} failed: {root_error(entry.dagster_event.event_specific_data.error)}"
            for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_FAILURE)]


def root_error(error) -> str:
    """A step's root error (the last cause) in one line, the class by its short name."""
    while error is not None and error.cause is not None:
        error = error.cause
    message = (error.message.strip().splitlines() or [""])[0] if error else "failed"
    if error and error.cls_name and f"{error.cls_name}: " in message:
        message = f"{error.cls_name}: {message.split(f'{error.cls_name}: ', 1)[1]}"
    return message


def materialize_drop(defs: dg.Definitions, instance: dg.DagsterInstance, drop_id: str,
                     job_name: str = "drop_pipeline") -> dg.ExecuteInProcessResult:
    return execute(defs.resolve_job_def(job_name), instance, partition_key=drop_id, tags={"hispatial/source": "cli"})


def check_warnings(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    """Failed WARN-severity checks of a run (e.g. a drop whose every file was rejected), as text."""
    entries = instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
    evaluations = [e.dagster_event.event_specific_data for e in entries if e.dagster_event]
    return [f"{c.asset_key.to_user_string()} {c.check_name}: {c.description or 'failed'}"
            for c in evaluations if not c.passed and c.severity == dg.AssetCheckSeverity.WARN]


SENSOR_TAG, PARTITION_TAG = "dagster/sensor_name", "dagster/partition"
ENDED = (dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED)


def sensor_daemon_alive(instance: dg.DagsterInstance, within_s: float = 90.0) -> bool:
    """Whether a dagster daemon (`dagster dev`, `dagster-daemon run`) evaluates sensors on this
    instance: its sensor heartbeat (every 30 s) is recent."""
    beat = instance.get_daemon_heartbeats().get("SENSOR")
    return beat is not None and time.time() - beat.timestamp <= within_s


def wait_for_sensor_run(instance: dg.DagsterInstance, drop_id: str, *, appear_s: float, poll_s: float = 1.0,
                        log=print) -> tuple[str, bool] | None:
    """(run id, succeeded) of the drop_sensor's run of ``drop_id``, followed until it ends; None when
    none appears within ``appear_s`` (the sensor stopped, or watching another data root)."""
    deadline, announced = time.monotonic() + appear_s, None
    while True:
        runs = instance.get_runs(dg.RunsFilter(tags={SENSOR_TAG: "drop_sensor", PARTITION_TAG: drop_id}), limit=1)
        if runs:
            run = runs[0]
            if announced != run.run_id:
                log(f"run {run.run_id} (drop_sensor): {run.status.value.lower()} ...")
                announced = run.run_id
            if run.status in ENDED:
                return run.run_id, run.status == dg.DagsterRunStatus.SUCCESS
        elif time.monotonic() > deadline:
            return None
        time.sleep(poll_s)


def partitioned_assets(defs: dg.Definitions) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """Current code version of each drop-partitioned asset, and the edges between them."""
    graph = defs.resolve_asset_graph()
    current, edges = {}, []
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        if node.partitions_def is None or getattr(node.partitions_def, "name", None) != drops.name:
            continue
        name = key.to_user_string()
        current[name] = node.code_version or ""
        edges += [(name, p.to_user_string()) for p in node.parent_keys]
    return current, edges


def recorded_materializations(instance: dg.DagsterInstance, assets: list[str]) -> list[tuple[str, str, str]]:
    """(asset, partition, run id) of Dagster's latest materialization of each partition: the truth
    about what exists. A lineage file whose run Dagster never recorded (killed in between) is ignored."""
    rows = []
    for asset in assets:
        key = dg.AssetKey(asset)
        latest = instance.get_latest_storage_id_by_partition(key, dg.DagsterEventType.ASSET_MATERIALIZATION)
        if latest:
            flt = dg.AssetRecordsFilter(asset_key=key, storage_ids=list(latest.values()))
            rows += [(asset, r.partition_key, r.run_id)
                     for r in instance.fetch_materializations(flt, limit=len(latest)).records]
    return rows


def stale_partitions(defs: dg.Definitions, instance: dg.DagsterInstance, root: DataRoot, *,
                     deep: bool = False) -> pl.DataFrame:
    """Per partition: missing / lineage record missing / output missing or damaged / code version
    changed / upstream data changed / upstream stale.

    Dagster's record says which materialization is current, its lineage record says what it read and
    wrote; each file it wrote is checked to exist with its recorded size (``deep``: and hash)."""
    current, edges = partitioned_assets(defs)
    partitions = instance.get_dynamic_partitions(drops.name)
    con = connect(root, "lineage")
    try:
        tables = {"current_assets": ("asset VARCHAR, code_version VARCHAR", list(current.items())),
                  "asset_deps": ("asset VARCHAR, upstream VARCHAR", [e for e in edges if e[1] in current]),
                  "drop_partitions": ("partition VARCHAR", [(p,) for p in partitions]),
                  "recorded": ("asset VARCHAR, partition VARCHAR, run_id VARCHAR",
                               recorded_materializations(instance, sorted(current)))}
        for name, (columns, rows) in tables.items():
            con.execute(f"CREATE TEMP TABLE {name}({columns})")
            if rows:
                con.executemany(f"INSERT INTO {name} VALUES ({', '.join('?' * len(rows[0]))})", rows)
        con.execute(sql_text("recorded_lineage.sql"))
        damaged = []
        for asset, partition, outputs in con.sql("SELECT asset, partition, outputs FROM latest").fetchall():
            problems = check_outputs(outputs, deep=deep)
            if problems:
                more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
                damaged.append((asset, partition, problems[0] + more))
        con.execute("CREATE TEMP TABLE damaged(asset VARCHAR, partition VARCHAR, reason VARCHAR)")
        if damaged:
            con.executemany("INSERT INTO damaged VALUES (?, ?, ?)", damaged)
        return con.sql(sql_text("stale_partitions.sql")).pl()
    finally:
        con.close()


def recipe_stale_partitions(defs: dg.Definitions, root: DataRoot) -> pl.DataFrame:
    """Per recipe: is its `sft_dataset` / `checkpoints` partition stale, and why (model/runs.py)."""
    from hispatial_assets.model.runs import recipe_staleness

    graph = defs.resolve_asset_graph()
    versions = {a: graph.get(dg.AssetKey(a)).code_version or "" for a in ("sft_dataset", "checkpoints")
                if graph.has(dg.AssetKey(a))}
    return recipe_staleness(root, versions)


def refresh_plan(stale: pl.DataFrame) -> dict[str, list[str]]:
    """partition -> every stale asset of it (direct reasons and 'upstream stale' alike)."""
    plan: dict[str, list[str]] = {}
    for partition, asset in stale.select("partition", "asset").iter_rows():
        plan.setdefault(partition, []).append(asset)
    return plan


class StillStale(RuntimeError):
    """Refresh ran its rounds and partitions are still stale: say which and why instead of looping."""


def refresh(defs: dg.Definitions, instance: dg.DagsterInstance, root: DataRoot, *, max_rounds: int = 8,
            dry_run: bool = False, deep: bool = False, log=print) -> list[tuple[str, list[str], bool]]:
    """Rematerialize exactly the stale partitions, one run per partition, until nothing is stale.

    A run selects every stale asset of its partition and carries ``hispatial/skip_unchanged``: an
    asset whose code and input data versions are unchanged once its upstream has run (and whose
    outputs are intact) yields nothing, and Dagster skips what depends on it. So a new detector that
    reproduces a drop's objects byte for byte refreshes nothing below them. Rounds repeat only for
    what a skip left stale (an asset with its own code change below an unchanged one); a round that
    changes nothing, or running out of rounds, raises ``StillStale`` rather than reporting success.
    ``deep``: outputs count as intact only when their content hashes match (see ``stale_partitions``).
    """
    from hispatial_assets.defs.stage import DEEP_CHECK_TAG, SKIP_UNCHANGED_TAG

    tags = {"hispatial/source": "refresh", SKIP_UNCHANGED_TAG: "true", **({DEEP_CHECK_TAG: "true"} if deep else {})}
    runs: list[tuple[str, list[str], bool]] = []
    job = defs.resolve_job_def("drop_pipeline")
    previous = None
    for _ in range(max_rounds):
        stale = stale_partitions(defs, instance, root, deep=deep)
        plan = refresh_plan(stale)
        if not plan:
            if runs:
                materialize_unpartitioned(defs, instance)  # qa_stats over the refreshed QA
            return runs
        if plan == previous:
            raise StillStale(_describe(stale, "a refresh round changed nothing; still stale"))
        previous = plan
        for partition, assets in sorted(plan.items()):
            log(f"refresh {partition}: {', '.join(sorted(assets))}")
            if dry_run:
                runs.append((partition, assets, True))
                continue
            result = execute(job, instance, partition_key=partition, asset_selection=[dg.AssetKey(a) for a in assets],
                             tags=tags)
            runs.append((partition, assets, result.success))
            if not result.success:
                return runs
        if dry_run:
            return runs
    stale = stale_partitions(defs, instance, root, deep=deep)
    if not stale.is_empty():
        raise StillStale(_describe(stale, f"still stale after {max_rounds} refresh rounds"))
    materialize_unpartitioned(defs, instance)
    return runs


def _describe(stale: pl.DataFrame, headline: str) -> str:
    lines = [f"{a}[{p}]: {r}" for a, p, r in stale.select("asset", "partition", "reason").head(20).iter_rows()]
    return headline + ":\n  " + "\n  ".join(lines)


def backfill(defs: dg.Definitions, instance: dg.DagsterInstance, assets: list[str], partitions: list[str],
             *, downstream: bool = False, log=print) -> list[tuple[str, bool]]:
    """Materialize ``assets`` (and, with ``downstream``, everything below them) for ``partitions``."""
    graph = defs.resolve_asset_graph()
    keys = [dg.AssetKey(a) for a in assets]
    unknown = [a for a, k in zip(assets, keys) if not graph.has(k)]
    if unknown:
        valid = sorted(k.to_user_string() for k in graph.get_all_asset_keys() if graph.get(k).partitions_def is not None
                       and getattr(graph.get(k).partitions_def, "name", None) == drops.name)
        raise ValueError(f"unknown asset(s): {', '.join(unknown)}; drop-partitioned assets: {', '.join(valid)}")
    selection = dg.AssetSelection.assets(*keys)
    if downstream:
        selection = selection.downstream()
    known = set(instance.get_dynamic_partitions(drops.name))
    missing = [p for p in partitions if p not in known]
    if missing:
        raise ValueError(f"unknown partition(s): {', '.join(missing)}; known: {', '.join(sorted(known))}")
    partitioned = [k for k in selection.resolve(graph) if graph.get(k).partitions_def is not None]
    job = defs.resolve_job_def("drop_pipeline")
    results = []
    for partition in partitions:
        log(f"backfill {partition}: {', '.join(sorted(k.to_user_string() for k in partitioned))}")
        r = execute(job, instance, partition_key=partition, asset_selection=partitioned,
                    tags={"hispatial/source": "backfill"})
        results.append((partition, r.success))
    if any(ok for _, ok in results) and any(k.to_user_string().startswith("qa_l") for k in partitioned):
        materialize_unpartitioned(defs, instance)  # qa_stats over the new QA
    return results


def materialize_unpartitioned(defs: dg.Definitions, instance: dg.DagsterInstance, job_name: str = "stats_job") -> bool:
    """Run an unpartitioned job (qa_stats) with the definitions' resources."""
    return execute(defs.resolve_job_def(job_name), instance).success
