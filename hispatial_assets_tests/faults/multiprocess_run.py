"""A drop run as the daemon's run worker does it (multiprocess executor, steps in child processes).

    python -m hispatial_assets_tests.faults.multiprocess_run DROP_ID     (HISPATIAL_ROOT, DAGSTER_HOME set)
"""

import sys

import dagster as dg

from hispatial_assets.cli import orchestrate
from hispatial_assets_tests.defs.jobs import drop_job

if __name__ == "__main__":
    drop_id = sys.argv[1]
    with orchestrate.get_instance() as instance:
        orchestrate.register_drops(instance, [drop_id])
        with dg.execute_job(dg.reconstructable(drop_job), instance=instance, tags={"dagster/partition": drop_id},
                            run_config={"execution": {"config": {"multiprocess": {"max_concurrent": 2}}}}) as result:
            sys.exit(0 if result.success else 1)
