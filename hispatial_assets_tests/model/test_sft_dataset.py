"""A recipe's training rows: the right drops, levels, modality inputs and general mix."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

from hispatial_assets.catalog.duckdb import query
from hispatial_assets.model.general import read_llava
from hispatial_assets.model.recipes import BASELINES, RECIPES
from hispatial_assets.model.runs import build_sft_dataset
from hispatial_assets.scenes import load_truth
from hispatial_assets.splits import split_of
from hispatial_assets.storage import io
from hispatial_assets.storage.point_maps import load_point_map


@pytest.fixture(scope="module")
def datasets(model_root):
    return {r: build_sft_dataset(model_root.root, r) for r in (*RECIPES, *BASELINES)}


def test_test_drops_never_reach_a_recipe_and_rows_carry_their_drops_split(datasets):
    for recipe, sft in datasets.items():
        drops = set(sft.rows["drop_id"].drop_nulls())
        assert drops == ({"demo_000"} if recipe in BASELINES else {"demo_000", "val_a"}), recipe
        assert all(split_of(d) == s for d, s in sft.rows.select("drop_id", "split").unique().iter_rows())
        assert sft.drops == tuple(sorted(drops))


def test_each_recipe_trains_on_its_levels_and_modality(datasets, model_root):
    qa = query(model_root.root, "select * from qa where drop_id in ('demo_000', 'val_a')")
    for name, recipe in RECIPES.items():
        spatial = datasets[name].rows.filter(pl.col("source") == "spatial")
        assert set(spatial["level"]) == set(recipe.levels), name
        assert len(spatial) == len(qa.filter(pl.col("level").is_in(recipe.levels))), name
        assert set(datasets[name].rows["modality"]) == {recipe.modality}
    for name in BASELINES:
        rows = datasets[name].rows
        assert set(rows["source"]) == {"spatial"} and set(rows["level"]) == {0, 1, 2, 3} and set(rows["split"]) == {"train"}


def test_general_vqa_is_mixed_at_the_recipes_ratio_within_each_split(datasets):
    for name, recipe in RECIPES.items():
        rows = datasets[name].rows
        for split in ("train", "val"):
            part = rows.filter(pl.col("split") == split)
            n_spatial, n_general = (part["source"] == "spatial").sum(), (part["source"] == "general").sum()
            assert n_general == round(recipe.general_ratio * n_spatial), (name, split)
            assert n_general > 0
            assert set(part.filter(pl.col("source") == "general")["drop_id"]) <= set(part["drop_id"])


def test_rgb_gt_xyz_reads_the_exact_point_map_and_rgb_xyz_the_estimate(datasets, model_root):
    row = datasets["rgb_gt_xyz"].rows.row(0, named=True)
    estimate_uri = datasets["rgb_xyz"].rows.filter(pl.col("image_id") == row["image_id"]) \
        .filter(pl.col("drop_id") == row["drop_id"])["point_map_uri"][0]
    truth = load_truth(row["image_uri"]).point_map()
    exact, estimate = load_point_map(row["point_map_uri"]), load_point_map(estimate_uri)
    np.testing.assert_array_equal(exact.mask, truth.mask)
    np.testing.assert_allclose(exact.xyz, truth.xyz, rtol=1e-4, atol=1e-6)  # stored with 16 mantissa bits
    assert np.abs(estimate.depth - truth.depth)[truth.mask].mean() > 0.01  # the pipeline's map is estimated


def test_general_answers_are_true_of_the_objects(datasets, model_root):
    objects = query(model_root.root, "select * from objects")
    general = datasets["full"].rows.filter(pl.col("source") == "general").unique("qa_id")
    tasks = set()
    for r in general.iter_rows(named=True):
        objs = objects.filter((pl.col("drop_id") == r["drop_id"]) & (pl.col("image_id") == r["image_id"]))
        tasks.add(r["task"])
        if r["task"] == "general_count":
            label = objs.filter(pl.col("object_id") == r["object_ids"][0])["label"][0]
            assert int(r["answer"]) == (objs["label"] == label).sum() == len(r["object_ids"])
        elif r["task"] == "general_color":
            color = objs.filter(pl.col("object_id") == r["object_ids"][0])["color"][0]
            assert r["answer"] == f"{color.capitalize()}."
        else:
            assert r["object_ids"] == sorted(objs["object_id"].to_list())
    assert tasks == {"general_objects", "general_count", "general_color"}


def test_the_data_version_is_the_hash_of_the_rows_and_rebuilding_reproduces_it(datasets, model_root):
    again = build_sft_dataset(model_root.root, "full")
    assert again.data_version == datasets["full"].data_version == io.frame_hash(io.read_parquet(again.uri))


def test_a_llava_json_general_set_is_read_turn_by_turn(tmp_path, model_root):
    image = query(model_root.root, "select uri from images where drop_id = 'demo_000' limit 1")["uri"][0]
    folder, name = image.rsplit("/", 1)
    records = [
        {"id": "a", "image": name, "conversations": [
            {"from": "human", "value": "<image>\nWhat is this?"}, {"from": "gpt", "value": "A room."},
            {"from": "human", "value": "Is it dark?"}, {"from": "gpt", "value": "No."}]},
        {"id": "text-only", "conversations": [{"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Hello"}]},
    ]
    path = tmp_path / "llava.json"
    path.write_text(json.dumps(records))
    rows = read_llava(str(path), image_root=folder)
    assert rows.select("id", "question", "answer").rows() == [("a", "What is this?", "A room."), ("a#1", "Is it dark?", "No.")]
    assert set(rows["image"]) == {image}
    sft = build_sft_dataset(model_root.root, "rgb_only", general_vqa_path=str(path), general_image_root=folder)
    general = sft.rows.filter(pl.col("source") == "general")
    assert set(general["qa_id"]) == {"a", "a#1"} and set(general["split"]) == {"train"}  # no drop: train
    assert general["image_uri"].to_list() == [image] * len(general)


def test_a_llava_record_with_turns_out_of_order_is_a_clear_error():
    with pytest.raises(ValueError, match="not a human/gpt pair"):
        read_llava([{"id": "x", "image": "a.png", "conversations": [{"from": "gpt", "value": "?"}, {"from": "human", "value": "?"}]}])
