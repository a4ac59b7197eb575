"""Reconstructable entry points for tests that run jobs in other processes (multiprocess executor)."""

import os

import dagster as dg

from hispatial_assets.definitions import DROP_JOB, build_definitions


def drop_job():
    return build_definitions(root=os.environ["HISPATIAL_ROOT"]).resolve_job_def(DROP_JOB)


def run_drop_in_own_process(instance_ref, drop_id: str) -> bool:
    """One run per process, as Dagster's run launcher does: the step workers are its children."""
    with dg.DagsterInstance.from_ref(instance_ref) as instance:
        with dg.execute_job(dg.reconstructable(drop_job), instance=instance, tags={"dagster/partition": drop_id},
                            asset_selection=[dg.AssetKey("drop_manifest"), dg.AssetKey("point_maps")],
                            run_config={"execution": {"config": {"multiprocess": {"max_concurrent": 2}}}}) as result:
            return result.success
