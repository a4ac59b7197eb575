"""Check results name their drop: a failure on one drop stays failed for that drop after another drop passes."""

import dagster as dg
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus as Status

from hispatial_assets import scenes
from hispatial_assets.config import PipelineConfig
from hispatial_assets.definitions import DROP_JOB, build_definitions
from hispatial_assets_tests.conftest import inflate_truth_sizes

OBJECTS_CHECK = dg.AssetCheckKey(dg.AssetKey("objects"), "objects_match_ground_truth")
UP_TO_OBJECTS = [dg.AssetKey(a) for a in ("drop_manifest", "point_maps", "gravity", "objects")]


def test_a_failing_drop_stays_failing_after_a_later_drop_passes(data_root, instance):
    for drop_id in ("bad_truth", "good"):
        scenes.write_drop(data_root.root, drop_id, n_images=6, seed=5, width=192, height=144)
    assert inflate_truth_sizes(data_root.drop_uri("bad_truth")) >= 20
    defs = build_definitions(PipelineConfig(), root=data_root.root)
    instance.add_dynamic_partitions("drops", ["bad_truth", "good"])
    job = defs.resolve_job_def(DROP_JOB)

    evaluations = {}
    for drop_id in ("bad_truth", "good"):  # the failure first, then a pass on another drop
        result = job.execute_in_process(partition_key=drop_id, instance=instance, asset_selection=UP_TO_OBJECTS)
        assert result.success  # the objects check warns the user; it does not block
        (evaluation,) = [e for e in result.get_asset_check_evaluations() if e.asset_check_key == OBJECTS_CHECK]
        evaluations[drop_id] = evaluation

    bad, good = evaluations["bad_truth"], evaluations["good"]
    assert (bad.passed, good.passed) == (False, True)
    assert (bad.partition, good.partition) == ("bad_truth", "good")
    assert bad.metadata["drop"].value == "bad_truth" and bad.description.startswith("drop bad_truth: ")
    assert "median_size_error" in bad.description and good.description.startswith("drop good: ")
    latest = {info.partition_key: info.latest_execution_status
              for info in instance.event_log_storage.get_asset_check_partition_info([OBJECTS_CHECK])}
    assert latest == {"bad_truth": Status.FAILED, "good": Status.SUCCEEDED}
