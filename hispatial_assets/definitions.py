"""The one Definitions object: assets, checks, sensors, jobs, resources, executor.

Backends come from `PipelineConfig` (``$HISPATIAL_CONFIG`` / ``HISPATIAL_<STAGE>_BACKEND``);
their identities are part of each asset's code version, so changing the detector changes the code
version of `objects` only, and the data versions decide what else goes stale.
"""

from __future__ import annotations

import hashlib

import dagster as dg

from hispatial_assets.config import PipelineConfig
from hispatial_assets.defs import pools
from hispatial_assets.defs.drop_manifest import drop_manifest, has_usable_images
from hispatial_assets.defs.evaluation import eval_scores
from hispatial_assets.defs.executors import build_executor, executor_spec
from hispatial_assets.defs.perception import (
    GRAVITY_VERSION,
    OBJECTS_VERSION,
    REFERRALS_VERSION,
    build_gravity_asset,
    build_objects_asset,
    build_referrals_asset,
    objects_match_ground_truth,
)
from hispatial_assets.defs.point_maps import POINT_MAPS_VERSION, build_point_maps_asset
from hispatial_assets.defs.qa import QA_VERSION, build_qa_asset, build_qa_check, qa_stats
from hispatial_assets.defs.resources import DataRootResource, backend_resource
from hispatial_assets.defs.sensors import build_drop_sensor
from hispatial_assets.defs.training import TrainingResource, build_training_assets
from hispatial_assets.qa import QAConfig

pools.install()  # blocked steps wait for a pool slot instead of spinning (every process that loads these definitions)

DROP_JOB = "drop_pipeline"
TRAINING_JOB = "training"
EVAL_JOB = "evaluation"
STAGE_RESOURCES = {"point_maps": "point_map_backend", "gravity": "gravity_backend", "detection": "detector",
                   "orientation": "orientation_backend", "referral": "referrer"}


def code_version(logic_version: str, *identities: str) -> str:
    return "|".join([logic_version, *identities])


def build_definitions(config: PipelineConfig | None = None, *, root: str = "") -> dg.Definitions:
    config = config or PipelineConfig.from_env()
    qa_config = QAConfig(**config.qa)
    qa_identity = "qa+" + hashlib.sha256(qa_config.identity().encode()).hexdigest()[:8]
    assets = [
        drop_manifest,
        build_point_maps_asset(code_version(POINT_MAPS_VERSION, config.identity("point_maps"))),
        build_gravity_asset(code_version(GRAVITY_VERSION, config.identity("gravity"))),
        build_objects_asset(code_version(OBJECTS_VERSION, config.identity("detection"), config.identity("orientation"))),
        build_referrals_asset(code_version(REFERRALS_VERSION, config.identity("referral"))),
        *[build_qa_asset(level, code_version(QA_VERSION, qa_identity), qa_config) for level in range(4)],
    ]
    training = TrainingResource(**config.training)
    training_assets = build_training_assets(training)
    # qa_stats (over all drops) ends every drop run, so it is current once a drop's run has succeeded.
    drop_job = dg.define_asset_job(
        DROP_JOB, selection=dg.AssetSelection.assets(*assets, qa_stats),
        description="Everything partitioned by drop, for one drop: manifest → point maps → gravity → objects → "
        "referrals → QA levels 0–3; then qa_stats over all drops.",
    )
    return dg.Definitions(
        assets=[*assets, qa_stats, *training_assets, eval_scores],
        asset_checks=[has_usable_images, objects_match_ground_truth, *[build_qa_check(level, qa_config) for level in range(4)]],
        jobs=[drop_job, dg.define_asset_job("stats_job", selection=[qa_stats],
                                            description="Statistics over the QA of all drops."),
              dg.define_asset_job(TRAINING_JOB, selection=dg.AssetSelection.assets(*training_assets),
                                  description="One recipe (partition): its training rows, then its checkpoint."),
              dg.define_asset_job(EVAL_JOB, selection=[eval_scores],
                                  description="Score one recipe (or baseline) on one benchmark.")],
        # Off by default: while a drop's first run is in flight it also requested runs of that run's
        # own downstream assets (seen in the e2e log), so new drops would be processed twice. Turn it on
        # in the UI for hands-off refresh after a backend change; `hispatial refresh` is the tested path.
        sensors=[build_drop_sensor(drop_job, [a.key for a in assets]), dg.AutomationConditionSensorDefinition(
            "refresh_automation", target=dg.AssetSelection.all(), default_status=dg.DefaultSensorStatus.STOPPED,
            minimum_interval_seconds=30)],
        resources={
            "data_root": DataRootResource(root=root),
            "training": training,
            **{res: backend_resource(stage, config.stages[stage]) for stage, res in STAGE_RESOURCES.items()},
        },
        executor=build_executor(executor_spec(config.executor)),  # every job's; defs/executors.py
    )


defs = build_definitions()
