import json

import dagster as dg

from hispatial_assets.defs.resources import DataRootResource
from hispatial_assets.definitions import build_definitions
from hispatial_assets_tests.conftest import write_sensor_drop


def _tick(defs, instance, root, cursor=None):
    sensor = defs.resolve_sensor_def("drop_sensor")
    ctx = dg.build_sensor_context(instance=instance, cursor=cursor, resources={"data_root": DataRootResource(root=root.root)})
    return sensor(ctx)


def test_one_tick_registers_a_ready_drop_and_requests_one_run_and_the_next_tick_nothing(data_root, instance):
    defs = build_definitions(root=data_root.root)
    write_sensor_drop(data_root, "drop_a", n_images=1)
    write_sensor_drop(data_root, "drop_b", n_images=1, ready=False)  # still being copied

    first = _tick(defs, instance, data_root)
    assert [r.partition_key for r in first.run_requests] == ["drop_a"]
    assert [list(r.partition_keys) for r in first.dynamic_partitions_requests] == [["drop_a"]]
    assert json.loads(first.cursor)["seen"] == ["drop_a"]

    instance.add_dynamic_partitions("drops", ["drop_a"])  # what the daemon does with the request
    second = _tick(defs, instance, data_root, cursor=first.cursor)
    assert second.run_requests == [] and second.dynamic_partitions_requests == []


def test_a_drop_is_picked_up_once_its_ready_marker_lands(data_root, instance):
    from hispatial_assets.storage import io

    defs = build_definitions(root=data_root.root)
    write_sensor_drop(data_root, "late", n_images=1, ready=False)
    first = _tick(defs, instance, data_root)
    assert first.run_requests == []
    io.write_bytes(io.join(data_root.drop_uri("late"), "_READY"), b"")
    second = _tick(defs, instance, data_root, cursor=first.cursor)
    assert [r.partition_key for r in second.run_requests] == ["late"]
    assert second.run_requests[0].run_key == "drop:late"


def test_folders_with_invalid_names_are_skipped_not_registered(data_root, instance, tmp_path):
    from hispatial_assets.storage import io

    defs = build_definitions(root=data_root.root)
    io.write_bytes(io.join(data_root.drops_uri(), "bad name!", "_READY"), b"")
    result = _tick(defs, instance, data_root)
    assert result.run_requests == [] and result.dynamic_partitions_requests == []


def _materialize(instance, drop_id, assets):
    """Dagster's record of a materialization, as a finished run (the demo's, a CLI run) leaves it."""
    for asset in assets:
        instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=asset, partition=drop_id))


def _pipeline_assets(defs):
    graph = defs.resolve_asset_graph()
    return [k for k in graph.get_all_asset_keys() if getattr(graph.get(k).partitions_def, "name", None) == "drops"]


def test_a_drop_already_materialized_gets_no_run_and_a_partly_materialized_one_does(data_root, instance):
    defs = build_definitions(root=data_root.root)
    assets = _pipeline_assets(defs)
    assert {a.to_user_string() for a in assets} >= {"drop_manifest", "point_maps", "qa_l3"}
    for drop_id in ("demo_000", "half_done"):
        write_sensor_drop(data_root, drop_id, n_images=1)
    instance.add_dynamic_partitions("drops", ["demo_000", "half_done"])  # registered, as `hispatial demo` does
    _materialize(instance, "demo_000", assets)
    _materialize(instance, "half_done", assets[:2])

    result = _tick(defs, instance, data_root)  # the first tick of a new `dagster dev`: empty cursor
    assert [r.partition_key for r in result.run_requests] == ["half_done"]
    assert json.loads(result.cursor)["seen"] == ["demo_000", "half_done"]


def test_a_drop_with_a_run_in_flight_waits_and_one_whose_run_failed_is_not_run_again(data_root, instance):
    from dagster._core.utils import make_new_run_id

    defs = build_definitions(root=data_root.root)
    write_sensor_drop(data_root, "cli_drop", n_images=1)
    instance.add_dynamic_partitions("drops", ["cli_drop"])
    run = dg.DagsterRun(job_name="drop_pipeline", run_id=make_new_run_id(), status=dg.DagsterRunStatus.STARTED,
                        tags={"dagster/partition": "cli_drop"})  # `add-drop --run` in progress
    instance.add_run(run)

    while_running = _tick(defs, instance, data_root)
    assert while_running.run_requests == [] and json.loads(while_running.cursor)["seen"] == []

    instance.report_run_failed(run)
    after = _tick(defs, instance, data_root, cursor=while_running.cursor)
    assert after.run_requests == [] and json.loads(after.cursor)["seen"] == ["cli_drop"]
