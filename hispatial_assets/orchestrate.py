"""Driving the Dagster graph from the command line: instance, partitions, runs, staleness.

The CLI and tests use these; the web UI and daemon reach the same Definitions through
workspace.yaml, so a drop materialized here shows up in `dagster dev` with its history.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import dagster as dg
import polars as pl

from hispatial_assets.catalog.duckdb import connect
from hispatial_assets.defs.partitions import drops
from hispatial_assets.storage.layout import DataRoot

PROJECT_DIR = Path(__file__).resolve().parents[1]
SQL_DIR = PROJECT_DIR / "sql"
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}  # CLI runs print progress, not events


def dagster_home() -> str:
    """$DAGSTER_HOME, else the project's dagster_home/ (what `dagster dev` uses per the README)."""
    home = os.environ.get("DAGSTER_HOME") or str(PROJECT_DIR / "dagster_home")
    os.makedirs(home, exist_ok=True)
    if not os.path.exists(os.path.join(home, "dagster.yaml")):
        shutil.copy(PROJECT_DIR / "dagster_home" / "dagster.yaml", os.path.join(home, "dagster.yaml"))
    os.environ["DAGSTER_HOME"] = home
    return home


def get_instance() -> dg.DagsterInstance:
    dagster_home()
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


def materialize_drop(defs: dg.Definitions, instance: dg.DagsterInstance, drop_id: str,
                     job_name: str = "drop_pipeline") -> dg.ExecuteInProcessResult:
    job = defs.resolve_job_def(job_name)
    return job.execute_in_process(partition_key=drop_id, instance=instance, raise_on_error=False,
                                  run_config=QUIET, tags={"hispatial/source": "cli"})


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


def stale_partitions(defs: dg.Definitions, instance: dg.DagsterInstance, root: DataRoot) -> pl.DataFrame:
    """Per partition: missing / code version changed / upstream data changed / upstream stale."""
    current, edges = partitioned_assets(defs)
    partitions = instance.get_dynamic_partitions(drops.name)
    con = connect(root, read_only=True)
    try:
        con.execute("CREATE TEMP TABLE current_assets(asset VARCHAR, code_version VARCHAR)")
        con.execute("CREATE TEMP TABLE asset_deps(asset VARCHAR, upstream VARCHAR)")
        con.execute("CREATE TEMP TABLE drop_partitions(partition VARCHAR)")
        if current:
            con.executemany("INSERT INTO current_assets VALUES (?, ?)", list(current.items()))
        if edges:
            con.executemany("INSERT INTO asset_deps VALUES (?, ?)", [e for e in edges if e[1] in current])
        if partitions:
            con.executemany("INSERT INTO drop_partitions VALUES (?)", [(p,) for p in partitions])
        return con.sql((SQL_DIR / "stale_partitions.sql").read_text()).pl()
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


def refresh(defs: dg.Definitions, instance: dg.DagsterInstance, root: DataRoot, *, max_rounds: int = 8,
            dry_run: bool = False, log=print) -> list[tuple[str, list[str], bool]]:
    """Rematerialize exactly the stale partitions, one run per partition, until nothing is stale.

    A run selects every stale asset of its partition and carries ``hispatial/skip_unchanged``: an
    asset whose code and input data versions are unchanged once its upstream has run yields
    nothing, and Dagster skips what depends on it. So a new detector that reproduces a drop's
    objects byte for byte refreshes nothing below them. Rounds repeat only for what a skip left
    stale (an asset with its own code change below an unchanged one).
    """
    from hispatial_assets.defs.stage import SKIP_UNCHANGED_TAG

    runs: list[tuple[str, list[str], bool]] = []
    job = defs.resolve_job_def("drop_pipeline")
    for _ in range(max_rounds):
        plan = refresh_plan(stale_partitions(defs, instance, root))
        if not plan:
            break
        for partition, assets in sorted(plan.items()):
            log(f"refresh {partition}: {', '.join(sorted(assets))}")
            if dry_run:
                runs.append((partition, assets, True))
                continue
            result = job.execute_in_process(partition_key=partition, instance=instance, raise_on_error=False,
                                            asset_selection=[dg.AssetKey(a) for a in assets], run_config=QUIET,
                                            tags={"hispatial/source": "refresh", SKIP_UNCHANGED_TAG: "true"})
            runs.append((partition, assets, result.success))
            if not result.success:
                return runs
        if dry_run:
            break
    return runs


def backfill(defs: dg.Definitions, instance: dg.DagsterInstance, assets: list[str], partitions: list[str],
             *, downstream: bool = False, log=print) -> list[tuple[str, bool]]:
    """Materialize ``assets`` (and, with ``downstream``, everything below them) for ``partitions``."""
    graph = defs.resolve_asset_graph()
    keys = [dg.AssetKey(a) for a in assets]
    unknown = [a for a, k in zip(assets, keys) if not graph.has(k)]
    if unknown:
        raise ValueError(f"unknown asset(s): {', '.join(unknown)}")
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
        r = job.execute_in_process(partition_key=partition, instance=instance, raise_on_error=False,
                                   asset_selection=partitioned, run_config=QUIET, tags={"hispatial/source": "backfill"})
        results.append((partition, r.success))
    return results


def materialize_unpartitioned(defs: dg.Definitions, instance: dg.DagsterInstance, job_name: str = "stats_job") -> bool:
    """Run an unpartitioned job (qa_stats) with the definitions' resources."""
    return defs.resolve_job_def(job_name).execute_in_process(instance=instance, run_config=QUIET,
                                                             raise_on_error=False).success
