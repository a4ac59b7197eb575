"""eval_scores end to end for the baselines: `hispatial evaluate` materializes recipe × benchmark
partitions through Dagster, the catalog view lists them, `--report` prints the comparison."""

from __future__ import annotations

import json

import dagster as dg

from hispatial_assets.cli.commands import main


def test_baselines_flow_through_eval_scores_into_the_catalog(eval_root, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    bench = tmp_path / "benchmarks" / "cvbench3d"
    bench.mkdir(parents=True)
    (bench / "test_3d.jsonl").write_text("".join(json.dumps(
        {"idx": i, "type": "3D", "task": "Depth", "question": "Which is closer?", "choices": ["a", "b"],
         "answer": "(A)" if i % 2 else "(B)", "filename": f"{i}.png"}) + "\n" for i in range(4)))
    monkeypatch.setenv("HISPATIAL_BENCHMARKS_DIR", str(tmp_path / "benchmarks"))
    root = ["--root", eval_root.root]

    assert main(["evaluate", "--recipe", "oracle,prior,geometry", "--benchmark", "self", *root]) == 0
    out = capsys.readouterr().out
    assert "oracle on self: 100.00% (all/accuracy)" in out
    prior, geometry = (float(out.split(f"{name} on self: ")[1].split("%")[0]) for name in ("prior", "geometry"))
    assert 10 < prior < geometry < 100  # the floor, below the engine's own estimates, below the truth

    assert main(["evaluate", "--recipe", "prior", "--benchmark", "cvbench3d", *root]) == 0
    assert "prior on cvbench3d: 50.00%" in capsys.readouterr().out  # always "A": half of the four

    assert main(["evaluate", "--recipe", "oracle", "--benchmark", "cvbench3d", *root]) == 1
    assert "self-built" in capsys.readouterr().err  # the truth exists only for our scenes

    assert main(["sql", "select distinct recipe, benchmark from eval_scores order by all", "--format", "json", *root]) == 0
    assert json.loads(capsys.readouterr().out) == [
        {"recipe": "geometry", "benchmark": "self"}, {"recipe": "oracle", "benchmark": "self"},
        {"recipe": "prior", "benchmark": "cvbench3d"}, {"recipe": "prior", "benchmark": "self"}]

    assert main(["evaluate", "--report", *root]) == 0
    report = capsys.readouterr().out
    assert "oracle (baseline)" in report and "cvbench3d" in report and "self:spatial_problem_solving" in report

    with dg.DagsterInstance.get() as instance:
        key = dg.MultiPartitionKey({"recipe": "oracle", "benchmark": "self"})
        mats = instance.fetch_materializations(dg.AssetRecordsFilter(asset_key=dg.AssetKey("eval_scores"),
                                                                     asset_partitions=[key]), limit=1).records
        meta = mats[0].asset_materialization.metadata
        assert meta["headline"].value == 1.0 and "data:image/png;base64," in meta["chart"].value
        assert "| oracle (baseline) | 100.00 |" in meta["comparison"].value


def test_evaluate_refuses_unknown_names(eval_root, capsys):
    assert main(["evaluate", "--recipe", "nonsense", "--benchmark", "self", "--root", eval_root.root]) == 2
    assert "argument --recipe: unknown recipe 'nonsense'; valid: full," in capsys.readouterr().err
