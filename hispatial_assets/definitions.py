"""The one Definitions object: assets, checks, sensors, jobs, resources, executor.

Backends come from `PipelineConfig` (``$HISPATIAL_CONFIG`` / ``HISPATIAL_<STAGE>_BACKEND``);
their identities are part of each asset's code version.
"""

from __future__ import annotations

import dagster as dg

from hispatial_assets.config import PipelineConfig
from hispatial_assets.defs.drops import drop_manifest
from hispatial_assets.defs.partitions import drops
from hispatial_assets.defs.point_maps import POINT_MAPS_VERSION, build_point_maps_asset
from hispatial_assets.defs.resources import DataRootResource, backend_resource
from hispatial_assets.defs.sensors import build_drop_sensor

DROP_JOB = "drop_pipeline"


def code_version(logic_version: str, *identities: str) -> str:
    return "|".join([logic_version, *identities])


def build_definitions(config: PipelineConfig | None = None, *, root: str = "") -> dg.Definitions:
    config = config or PipelineConfig.from_env()
    point_maps = build_point_maps_asset(code_version(POINT_MAPS_VERSION, config.identity("point_maps")))
    assets = [drop_manifest, point_maps]
    drop_job = dg.define_asset_job(
        DROP_JOB, selection=dg.AssetSelection.assets(*assets),
        description="Everything partitioned by drop, for one drop.",
    )
    return dg.Definitions(
        assets=assets,
        jobs=[drop_job],
        sensors=[build_drop_sensor(drop_job)],
        resources={
            "data_root": DataRootResource(root=root),
            "point_map_backend": backend_resource("point_maps", config.stages["point_maps"]),
        },
        executor=dg.multiprocess_executor.configured({"max_concurrent": 2}),
    )


defs = build_definitions()
