"""sft_dataset and checkpoints as Dagster assets and as `hispatial train`: recorded, versioned, stale only
when a drop the recipe reads changed."""

from __future__ import annotations

import json

import dagster as dg
import polars as pl

from hispatial_assets.cli import commands as cli
from hispatial_assets.cli import orchestrate
from hispatial_assets.catalog.duckdb import query
from hispatial_assets.definitions import TRAINING_JOB
from hispatial_assets.model.runs import latest_checkpoint
from hispatial_assets_tests.model.conftest import pipeline_root


def _train(pr, recipe: str, **training) -> dg.ExecuteInProcessResult:
    defs = pr.definitions(max_steps=training.pop("max_steps", 2), save_every=1, **training)
    return defs.resolve_job_def(TRAINING_JOB).execute_in_process(partition_key=recipe, instance=pr.instance,
                                                                 run_config=orchestrate.QUIET)


def _stale(pr, recipe: str) -> dict[str, str]:
    stale = orchestrate.recipe_stale_partitions(pr.definitions(max_steps=2, save_every=1), pr.root)
    return dict(stale.filter(pl.col("partition") == recipe).select("asset", "reason").iter_rows())


def test_materialized_checkpoints_are_in_the_catalog_with_their_loss_curve_and_lineage(model_root):
    result = _train(model_root, "rgb_only")
    assert result.success
    events = {e.asset_key.to_user_string(): e.materialization for e in result.get_asset_materialization_events()}
    assert events["checkpoints"].metadata["loss_curve"].value.startswith("![loss curve](data:image/png;base64,")
    rows = query(model_root.root, "select * from checkpoints where recipe = 'rgb_only' order by step")
    assert rows["step"].to_list() == [1, 2] and rows["uri"][-1] == latest_checkpoint(model_root.root, "rgb_only")
    sft = events["sft_dataset"]
    assert set(rows["data_version"]) == {sft.tags["dagster/data_version"]}
    lineage = query(model_root.root, "select * from lineage where partition = 'rgb_only' order by finished_at")
    assert lineage["asset"].to_list() == ["sft_dataset", "checkpoints"]
    assert json.loads(lineage["input_versions"][1]) == {"sft_dataset": sft.tags["dagster/data_version"]}
    assert _stale(model_root, "rgb_only") == {}


def test_hispatial_train_records_the_checkpoint_in_the_catalog(model_root, capsys):
    root = model_root.root.root
    assert cli.main(["train", "--recipe", "rgb_reldepth", "--max-steps", "2", "--root", root]) == 0
    assert cli.main(["sql", "select recipe, step from checkpoints where recipe = 'rgb_reldepth'", "--format", "csv",
                     "--root", root]) == 0
    assert capsys.readouterr().out.strip().endswith("recipe,step\nrgb_reldepth,2")
    lineage = query(model_root.root, "select asset, run_id from lineage where partition = 'rgb_reldepth'")
    assert sorted(lineage["asset"]) == ["checkpoints", "sft_dataset"] and lineage["run_id"][0].startswith("cli-")
    assert cli.main(["train", "--recipe", "nope", "--root", root]) == 2


def test_only_a_drop_the_recipe_reads_makes_it_stale(tmp_path, instance):
    pr = pipeline_root(tmp_path / "root", instance)
    pr.add_drop("demo_000", seed=21)
    assert _train(pr, "no_l1_l2").success
    version = query(pr.root, "select data_version from lineage where asset = 'sft_dataset'")["data_version"][0]
    assert _stale(pr, "no_l1_l2") == {}

    pr.add_drop("test_new", seed=22)  # a held-out drop: never read by a recipe
    assert _stale(pr, "no_l1_l2") == {}
    assert _train(pr, "no_l1_l2").success  # rebuilding gives the same rows, the same version
    versions = query(pr.root, "select data_version from lineage where asset = 'sft_dataset'")["data_version"]
    assert set(versions) == {version}

    pr.add_drop("demo_001", seed=23)  # a training drop
    stale = _stale(pr, "no_l1_l2")
    assert stale["sft_dataset"].startswith("upstream data changed: qa_l0") and stale["checkpoints"] == "upstream stale: sft_dataset"
    defs = pr.definitions(max_steps=2, save_every=1)
    sft_only = defs.resolve_job_def(TRAINING_JOB).execute_in_process(
        partition_key="no_l1_l2", instance=pr.instance, asset_selection=[dg.AssetKey("sft_dataset")],
        run_config=orchestrate.QUIET)
    assert sft_only.success
    assert _stale(pr, "no_l1_l2") == {"checkpoints": _stale(pr, "no_l1_l2")["checkpoints"]}
    assert _stale(pr, "no_l1_l2")["checkpoints"].startswith("upstream data changed: sft_dataset")
