"""Where a run's steps execute: one machine or an existing cluster, chosen by configuration (DESIGN §7).

The one place the executor is decided. ``{"executor": {"name": "dask", "cluster": {"existing":
{"address": "tcp://scheduler:8786"}}}}`` in ``$HISPATIAL_CONFIG``, or ``HISPATIAL_EXECUTOR=<name>``
(settings besides ``name`` are the Dagster executor's own config, validated by Dagster when the
definitions load). Every job runs on it; nothing else in the code names an executor.

- ``default`` (when nothing is configured): each run's steps one after another in the run's own
  process; ``multiprocess`` for one run from its run config (``execution: config: multiprocess: {}``).
  A drop run is a chain with little to run side by side, and the multiprocess executor starts an
  interpreter per step importing Dagster, torch and the project: on a 2-core machine that made a
  daemon-launched 8-image drop 30-60x slower than the CLI. Drops run side by side as separate runs
  instead (``concurrency.runs`` in ``dagster_home/dagster.yaml``); the ``gpu`` pool still limits
  model steps across runs.
- ``multiprocess``: one process per step on this machine, ``max_concurrent`` at a time.
- ``in_process``: every step in the run's own process (what the CLI's ``execute_in_process`` does).
- ``dask``: each step a task on a ``dask.distributed`` cluster (``pip install 'hispatial-assets[dask]'``);
  with no ``cluster`` setting, the scheduler at ``$DASK_SCHEDULER_ADDRESS``.
- ``k8s``: each step a Kubernetes job (``pip install 'hispatial-assets[k8s]'``); see deploy/k8s/.

Outputs do not depend on the executor (every write is content-addressed and deterministic), so the
same drop gives the same bytes wherever its steps ran.
"""

from __future__ import annotations

import functools
import importlib
import os
from typing import Any

import dagster as dg
from dagster._config import process_config

from hispatial_assets.config import ConfigError

# name -> (module, attribute, pip extra that provides it)
EXECUTORS: dict[str, tuple[str, str, str]] = {
    "default": ("hispatial_assets.defs.executors", "run_executor", ""),
    "in_process": ("dagster", "in_process_executor", ""),
    "multiprocess": ("dagster", "multiprocess_executor", ""),
    "dask": ("dagster_dask", "dask_executor", "dask"),
    "k8s": ("dagster_k8s", "k8s_job_executor", "k8s"),
}
DEFAULT_EXECUTOR: dict[str, Any] = {"name": "default"}
EXECUTOR_ENV = "HISPATIAL_EXECUTOR"


_IN_PROCESS_OR_MULTIPROCESS = dg.multi_or_in_process_executor.config_schema.as_field().config_type


@dg.executor(
    name="in_process_by_default",
    config_schema=dg.Field(_IN_PROCESS_OR_MULTIPROCESS, default_value={"in_process": {}}),
    requirements=lambda config: dg.multiple_process_executor_requirements() if "multiprocess" in config else [],
)
def run_executor(init_context: dg.InitExecutorContext) -> dg.Executor:
    """Dagster's own in-process / multiprocess executor, with in-process as the default."""
    return dg.multi_or_in_process_executor.executor_creation_fn(init_context)


class ExecutorConfigError(ConfigError):
    """A bad executor setting: one line, like every configuration mistake."""


def executor_spec(raw: dict[str, Any] | None) -> dict[str, Any]:
    """The executor block of the config file (flat, or one block of settings per executor name, like
    the stages), with ``$HISPATIAL_EXECUTOR`` choosing the name: ``{"name": ..., **settings}``."""
    raw = dict(raw or DEFAULT_EXECUTOR)
    name = os.environ.get(EXECUTOR_ENV, "").strip() or raw.get("name") or DEFAULT_EXECUTOR["name"]
    if name not in EXECUTORS:
        raise ExecutorConfigError(f"unknown executor {name!r} (${EXECUTOR_ENV} or \"executor\".\"name\"); "
                                  f"known: {', '.join(EXECUTORS)}")
    if name != raw.get("name"):  # switched by the variable: only that executor's own block carries over
        return {"name": name, **raw.get(name, {})}
    return {"name": name, **{k: v for k, v in raw.items() if k != "name" and k not in EXECUTORS},
            **raw.get(name, {})}


def build_executor(spec: dict[str, Any]) -> dg.ExecutorDefinition:
    """The configured Dagster executor; a missing package or bad setting fails here, at load."""
    name = spec["name"]
    module, attribute, extra = EXECUTORS[name]
    try:
        executor: dg.ExecutorDefinition = getattr(importlib.import_module(module), attribute)
    except ImportError as e:
        raise ExecutorConfigError(f"executor {name!r} needs {module} ({e}); install it with "
                                  f"pip install 'hispatial-assets[{extra}]'") from None
    settings = {k: v for k, v in spec.items() if k != "name"}
    if name == "dask":
        dask_passes_dagster_records()
    if name == "dask" and "cluster" not in settings:
        address = os.environ.get("DASK_SCHEDULER_ADDRESS")
        if not address:
            raise ExecutorConfigError("executor 'dask' needs a scheduler: set \"executor\".\"cluster\" "
                                      "(e.g. {\"existing\": {\"address\": \"tcp://host:8786\"}}) or $DASK_SCHEDULER_ADDRESS")
        settings["cluster"] = {"existing": {"address": address}}
    if not settings:  # the executor's own defaults (the default executor's come from the run config)
        return executor
    checked = process_config(executor.config_schema.config_type, settings)  # .configured checks only at run time
    if not checked.success:
        problems = "; ".join(error.message for error in checked.errors)
        raise ExecutorConfigError(f"executor {name!r}: invalid settings {sorted(settings)}: {problems}")
    return executor.configured(settings, name=f"{name}_executor")


_MARK = "_hispatial_passes_dagster_records"


def dask_passes_dagster_records() -> None:
    """dask (2025+) parses every argument of a submitted task, descending into tuples to find futures.
    Dagster's ``@record`` classes are tuples that forbid iteration, so dagster-dask 0.29.27 fails to
    submit any step of a run whose assets use pools ("Iteration is not allowed on `@record`
    RunOpConcurrency"). A record holds no dask futures: hand it over whole. Idempotent."""
    import dask._task_spec as task_spec
    import distributed.client
    from dagster_shared.check.record import is_record

    if getattr(task_spec.parse_input, _MARK, False):
        return
    parse_input = task_spec.parse_input

    @functools.wraps(parse_input)
    def parse_input_keeping_records(obj):
        return obj if is_record(obj) else parse_input(obj)

    setattr(parse_input_keeping_records, _MARK, True)
    task_spec.parse_input = distributed.client.parse_input = parse_input_keeping_records
