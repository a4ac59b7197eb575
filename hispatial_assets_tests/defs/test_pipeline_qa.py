"""QA made by the whole pipeline on scene-engine drops is right against ground truth."""

import polars as pl

from hispatial_assets import orchestrate
from hispatial_assets.catalog.duckdb import query
from hispatial_assets.qa import TASKS
from hispatial_assets.scenes import load_truth, write_drop
from hispatial_assets_tests.qa.recompute import Recompute, check_row


def test_every_pipeline_answer_is_right_against_gt_objects_and_gt_point_maps(data_root, instance):
    for i, d in enumerate(["q0", "q1"]):
        write_drop(data_root.root, d, n_images=3, seed=40 + i, width=320, height=240)
    orchestrate.register_drops(instance, ["q0", "q1"])
    defs = orchestrate.load_definitions(data_root)
    runs = orchestrate.refresh(defs, instance, data_root, log=lambda *_: None)
    assert all(ok for _, _, ok in runs)

    qa = query(data_root, "select * from qa")
    gt = query(data_root, "select * from gt_objects")
    images = query(data_root, "select * from images")
    assert set(qa["task"]) == set(TASKS)
    bad, n = [], 0
    for (drop_id, image_id), rows in qa.group_by("drop_id", "image_id"):
        uri = images.filter((pl.col("drop_id") == drop_id) & (pl.col("image_id") == image_id))["uri"][0]
        truth_xyz = load_truth(uri).point_map().xyz
        objs = {r["object_id"]: r for r in gt.filter((pl.col("drop_id") == drop_id) & (pl.col("image_id") == image_id)).iter_rows(named=True)}
        for row in rows.iter_rows(named=True):
            why = check_row(row, Recompute(objs, truth_xyz))
            n += 1
            if why:
                bad.append((row["qa_id"], row["task"], row["format"], why))
    assert n > 1000
    assert bad == []


def test_the_blocking_qa_checks_ran_and_passed_for_every_level(data_root, instance):
    write_drop(data_root.root, "c0", n_images=2, seed=3, width=256, height=192)
    orchestrate.register_drops(instance, ["c0"])
    defs = orchestrate.load_definitions(data_root)
    result = orchestrate.materialize_drop(defs, instance, "c0")
    assert result.success
    evaluations = {(e.asset_key.to_user_string(), e.check_name): e.passed for e in result.get_asset_check_evaluations()}
    for level in range(4):
        assert evaluations[(f"qa_l{level}", "answers_rederived")] is True
    assert evaluations[("objects", "objects_match_ground_truth")] is True
