"""The README's promises about the command line, run for real."""

import json

import pytest

from hispatial_assets.cli.commands import main


@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    monkeypatch.delenv("HISPATIAL_ROOT", raising=False)
    return str(tmp_path / "root")


def test_default_demo_gives_16_point_maps_and_qa_stats_by_level_task_format(cli_env, capsys):
    assert main(["demo", "--root", cli_env]) == 0
    out = capsys.readouterr().out
    assert "dagster dev" in out and "demo_000" in out and "demo_001" in out
    assert "estimated path" in out and "QA answers that stay true under the truth" in out

    assert main(["verify", "--root", cli_env, "--format", "json"]) == 0
    out = capsys.readouterr().out
    coverage = json.loads(out[:out.rindex("]") + 1])
    assert len(coverage) == 42 and all(r["coverage_pct"] == 100.0 and r["failed"] == 0 for r in coverage)
    assert main(["verify", "--root", cli_env, "--against", "gt_objects", "--format", "json"]) == 0
    assert "of the answers stay true under the scene's truth; 0 unread" in capsys.readouterr().out

    assert main(["sql", "select count(*) as n from point_maps", "--root", cli_env, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == [{"n": 16}]

    assert main(["sql", "sql/qa_stats.sql", "--root", cli_env, "--format", "json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert {(r["level"], r["format"]) for r in stats} == {(lv, f) for lv in range(4) for f in ("free", "choice", "boolean")}
    assert sum(r["n"] for r in stats) > 1000

    assert main(["status", "--root", cli_env]) == 0
    assert "everything is up to date" in capsys.readouterr().out
    assert main(["refresh", "--root", cli_env]) == 0
    assert "nothing is stale" in capsys.readouterr().out

    out_file = f"{cli_env}/export/qa.parquet"
    assert main(["export", "--root", cli_env, "--out", out_file, "--levels", "2", "--tasks", "distance"]) == 0
    import datasets

    ds = datasets.load_dataset("parquet", data_files=out_file, split="train")
    assert len(ds) > 0 and set(ds["task"]) == {"distance"}


def test_sql_rejects_writes_and_bad_sql_without_touching_the_catalog(cli_env, capsys):
    assert main(["sql", "select 1", "--root", cli_env]) == 0
    assert main(["sql", "drop view images", "--root", cli_env]) == 2
    assert main(["sql", "select * from no_such_view", "--root", cli_env]) == 2
    err = capsys.readouterr().err
    assert "read-only" in err and "no_such_view" in err
    capsys.readouterr()
    assert main(["sql", "select count(*) as n from images", "--root", cli_env, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == [{"n": 0}]


def test_add_drop_rejects_bad_files_but_registers_the_drop(cli_env, tmp_path, capsys):
    from hispatial_assets.scenes import write_drop

    write_drop(str(tmp_path / "src_root"), "incoming", n_images=2, seed=5, width=128, height=96)
    src = tmp_path / "src_root" / "drops" / "incoming"
    (src / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    assert main(["add-drop", str(src), "--id", "fresh", "--root", cli_env, "--run"]) == 0
    capsys.readouterr()
    assert main(["sql", "select count(*) as n from images where drop_id = 'fresh'", "--root", cli_env, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == [{"n": 2}]
    assert main(["sql", "select reason from rejected where drop_id = 'fresh'", "--root", cli_env, "--format", "json"]) == 0
    assert "corrupt or truncated" in json.loads(capsys.readouterr().out)[0]["reason"]
    assert main(["add-drop", str(src), "--id", "../evil", "--root", cli_env]) == 2
    assert "invalid drop id" in capsys.readouterr().err


def test_backfill_rematerializes_the_chosen_asset_and_partitions_only(cli_env, capsys):
    assert main(["make-drop", "--id", "b1", "--images", "2", "--root", cli_env]) == 0
    assert main(["add-drop", f"{cli_env}/drops/b1", "--id", "b1", "--root", cli_env, "--run"]) == 0
    count = "select asset, count(*) as n from lineage group by all order by asset"
    capsys.readouterr()
    assert main(["sql", count, "--root", cli_env, "--format", "json"]) == 0
    before = {r["asset"]: r["n"] for r in json.loads(capsys.readouterr().out)}

    assert main(["backfill", "--asset", "qa_l0", "--partitions", "all", "--root", cli_env]) == 0
    capsys.readouterr()
    assert main(["sql", count, "--root", cli_env, "--format", "json"]) == 0
    after = {r["asset"]: r["n"] for r in json.loads(capsys.readouterr().out)}
    added = {a: after[a] - before.get(a, 0) for a in after if after[a] != before.get(a)}
    assert added == {"qa_l0": 1, "qa_stats": 1}  # the one chosen partition, then qa_stats over the new QA once

    assert main(["backfill", "--asset", "no_such_asset", "--partitions", "b1", "--root", cli_env]) == 2
    assert main(["backfill", "--asset", "qa_l0", "--partitions", "nope", "--root", cli_env]) == 2
    assert "unknown partition" in capsys.readouterr().err


def test_demo_exact_runs_the_exact_path_whose_answers_all_hold_against_the_truth(cli_env, capsys):
    assert main(["demo", "--exact", "--drops", "1", "--images", "1", "--root", cli_env]) == 0
    out = capsys.readouterr().out
    assert "exact path" in out and "HISPATIAL_PROFILE=exact" in out
    assert main(["verify", "--root", cli_env, "--against", "gt_objects"]) == 0
    assert "100.0% of the answers stay true under the scene's truth" in capsys.readouterr().out
    assert main(["verify", "--root", cli_env, "--drop", "no_such_drop"]) == 2
    assert "no QA rows" in capsys.readouterr().err
    assert main(["sql", "select count(*) as n from objects o join gt_objects g using (drop_id, image_id, object_id) "
                 "where o.center_x = g.center_x and o.width = g.width", "--root", cli_env, "--format", "json"]) == 0
    matched = json.loads(capsys.readouterr().out)[0]["n"]
    assert main(["sql", "select count(*) as n from gt_objects", "--root", cli_env, "--format", "json"]) == 0
    assert matched == json.loads(capsys.readouterr().out)[0]["n"] > 0  # boxes copied from the truth
