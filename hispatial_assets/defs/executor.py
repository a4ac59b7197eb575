"""Where the steps of a run execute: the one place to choose it (``definitions.py`` uses it for every job).

By default a run's steps run one after another inside the run's own process (``in_process``). A drop
run is a chain (manifest → point maps → gravity → objects → referrals → QA) with little to run side
by side, and the multiprocess executor starts a Python interpreter per step, each importing Dagster,
torch and the project: on a 2-core machine that made a daemon-launched 8-image drop 30-60× slower
than the same run from the CLI (minutes instead of seconds). Drops run in parallel as separate runs
instead, two at a time (``concurrency.runs`` in ``dagster_home/dagster.yaml``); the ``gpu`` pool
still limits model steps across runs.

``multiprocess`` stays available per run, from the run config (the Launchpad, or ``run_config``):

    execution:
      config:
        multiprocess:
          max_concurrent: 2
"""

import dagster as dg

_IN_PROCESS_OR_MULTIPROCESS = dg.multi_or_in_process_executor.config_schema.as_field().config_type


@dg.executor(
    name="in_process_by_default",
    config_schema=dg.Field(_IN_PROCESS_OR_MULTIPROCESS, default_value={"in_process": {}}),
    requirements=lambda config: dg.multiple_process_executor_requirements() if "multiprocess" in config else [],
)
def run_executor(init_context: dg.InitExecutorContext) -> dg.Executor:
    """Dagster's own in-process / multiprocess executor, with in-process as the default."""
    return dg.multi_or_in_process_executor.executor_creation_fn(init_context)
