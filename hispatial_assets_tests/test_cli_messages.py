"""The command line as a user meets it (issue 15, item 7), run as subprocesses from a folder outside
the repository: every mistake is one line on stderr naming it and what is valid (exit 2), never a
traceback; nested columns print in every format; exports are portable."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


class Cli:
    """``hispatial ...`` in a fresh process, in a folder outside the repository."""

    def __init__(self, workdir: Path):
        self.workdir, self.root = workdir, workdir / "root"
        self.env = {**os.environ, "DAGSTER_HOME": str(workdir / "dagster_home"), "HISPATIAL_ROOT": str(self.root),
                    "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
        for name in [k for k in self.env if k.startswith("HISPATIAL_") and k != "HISPATIAL_ROOT"]:
            del self.env[name]

    def __call__(self, *args: str, env: dict[str, str] | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "hispatial_assets.cli", *args], cwd=self.workdir, capture_output=True,
                              text=True, env={**self.env, **(env or {})}, timeout=timeout)

    def config(self, raw: dict) -> dict[str, str]:
        path = self.workdir / "config.json"
        path.write_text(json.dumps(raw))
        return {"HISPATIAL_CONFIG": str(path)}


def one_line_error(result: subprocess.CompletedProcess, *parts: str, code: int = 2) -> str:
    """The command failed with ``code`` and said so on stderr in exactly one line holding ``parts``."""
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert result.returncode == code and len(lines) == 1, (result.returncode, result.stderr)
    for part in parts:
        assert part in lines[0], (part, lines[0])
    return lines[0]


@pytest.fixture(scope="module")
def cli(tmp_path_factory) -> Cli:
    """Two demo drops of one image each (their images share the id img_0000)."""
    cli = Cli(tmp_path_factory.mktemp("cli_user"))
    done = cli("demo", "--drops", "2", "--images", "1")
    assert done.returncode == 0, done.stderr
    return cli


def test_sql_prints_list_and_struct_columns_in_every_format(cli):
    query = "select qa_id, object_ids, {'level': level, 'task': task} as kind from qa where level = 2 limit 5"
    rows = list(csv.DictReader(io.StringIO(cli("sql", query, "--format", "csv").stdout)))
    assert len(rows) == 5
    assert all(isinstance(json.loads(r["object_ids"]), list) and json.loads(r["kind"])["level"] == 2 for r in rows)
    as_json = json.loads(cli("sql", query, "--format", "json").stdout)
    assert [r["object_ids"] for r in as_json] == [json.loads(r["object_ids"]) for r in rows]
    table = cli("sql", "select * from qa limit 5", "--format", "table")
    assert table.returncode == 0 and "object_ids" in table.stdout


def test_a_sql_path_that_does_not_exist_says_so_and_shipped_queries_run_from_anywhere(cli):
    assert not (cli.workdir / "sql").exists()
    one_line_error(cli("sql", "sql/no_such_query.sql"), "sql/no_such_query.sql: no such file", "sql/qa_stats.sql")
    one_line_error(cli("sql", "queries/mine.sql"), "queries/mine.sql: no such file")
    stats = cli("sql", "sql/qa_stats.sql", "--format", "json")
    assert stats.returncode == 0 and sum(r["n"] for r in json.loads(stats.stdout)) > 0
    one_line_error(cli("sql", "selec 1"), "SQL does not parse", "LINE 1: selec 1")


@pytest.mark.parametrize("args,parts", [
    (["export", "--out", "x.json", "--levels", "l7"], ["argument --levels: unknown level 'l7'", "valid: 0, 1, 2, 3"]),
    (["export", "--out", "x.json", "--tasks", "dist"], ["argument --tasks: unknown task 'dist'", "valid: point_3d", "distance"]),
    (["export", "--out", "x.json", "--drops", "nope"], ["--drops: no QA for nope", "drops with QA: demo_000, demo_001"]),
    (["export", "--out", "x.json", "--format", "csv"], ["argument --format: invalid choice: 'csv'", "'hf', 'llava'"]),
    (["export", "--out", "x.json", "--fromat", "hf"], ["unrecognized arguments: --fromat hf", "export takes: --copy-images"]),
    (["export"], ["the following arguments are required: --out"]),
    (["expert"], ["invalid choice: 'expert'", "'export'"]),
    (["demo", "--images", "0"], ["argument --images: expected a whole number >= 1, not '0'"]),
    (["make-drop", "--id", "a b"], ["invalid drop id 'a b'"]),
    (["train", "--recipe", "fulll"], ["argument --recipe: invalid choice: 'fulll'", "'full'", "'geometry'"]),
    (["train", "--recipe", "full", "--device", "gpu"], ["unknown device 'gpu'; valid: cpu, cuda"]),
    (["backfill", "--asset", "objekts", "--partitions", "all"], ["unknown asset(s): objekts; drop-partitioned assets:", "objects"]),
    (["backfill", "--asset", "objects", "--partitions", "demo_009"], ["unknown partition(s): demo_009; known: demo_000, demo_001"]),
    (["verify", "--drop", "../x"], ["invalid drop id '../x'"]),
    (["verify", "--show", "0"], ["argument --show: expected a whole number >= 1, not '0'"]),
    (["verify", "--against", "truth"], ["argument --against: invalid choice: 'truth'", "'objects', 'gt_objects'"]),
    (["train", "--recipe", "full", "--max-steps", "ten"], ["argument --max-steps: expected a whole number >= 1, not 'ten'"]),
    (["evaluate", "--recipe", "ful", "--benchmark", "self"], ["argument --recipe: unknown recipe 'ful'; valid: full,", "geometry, or all"]),
    (["evaluate", "--recipe", "prior", "--benchmark", "self,cvbench"],
     ["argument --benchmark: unknown benchmark 'cvbench'; valid: self, spatialrgpt,", "robospatial, or all"]),
    (["evaluate"], ["evaluate needs --recipe and --benchmark (or --report, or --ablation hierarchy|input)"]),
    (["evaluate", "--recipe", "prior"], ["evaluate needs --benchmark"]),
    (["evaluate", "--report", "--ablation", "input"], ["give one of --recipe with --benchmark, --report or --ablation, "
                                                       "not --report and --ablation"]),
    (["evaluate", "--recipe", "prior", "--benchmark", "self", "--images", "4"], ["--images: only with --ablation"]),
    (["evaluate", "--ablation", "hier"], ["argument --ablation: invalid choice: 'hier'", "'hierarchy', 'input'"]),
    (["evaluate", "--ablation", "input", "--test-images", "-2"], ["argument --test-images: expected a whole number >= 1"]),
    (["evaluate", "--ablation", "input", "--train-set", "learning_rate=0.1"],
     ["argument --train-set: training: unknown setting 'learning_rate'", "valid: device, base_path"]),
    (["evaluate", "--ablation", "input", "--train-set", "batch_size=big"],
     ["argument --train-set: training.batch_size: expected int | None, got 'big'"]),
    (["evaluate", "--ablation", "input", "--train-set", "lr"], ["argument --train-set: expected KEY=VALUE, not 'lr'"]),
    (["evaluate", "--ablation", "input", "--train-set", "device=gpu"], ["unknown device 'gpu'; valid: cpu, cuda"]),
    (["add-drop", "/no/such/folder", "--id", "x"], ["/no/such/folder is not a folder"]),
])
def test_a_bad_flag_or_value_is_one_line_naming_it_and_the_valid_choices(cli, args, parts):
    one_line_error(cli(*args), *parts)


def test_a_config_typo_is_one_line_in_every_command_that_reads_it(cli):
    env = cli.config({"qa": {"densty": 2.0}})
    for args in (["verify"], ["status"], ["config"]):
        one_line_error(cli(*args, env=env), "qa: unknown setting 'densty' (did you mean 'density'?)", "valid: seed, density")


def test_evaluate_names_a_benchmark_typo_in_the_config_and_a_benchmark_without_data(cli):
    one_line_error(cli("evaluate", "--recipe", "prior", "--benchmark", "qspatial", env=cli.config({"benchmarks": {"qspatail": "/b"}})),
                   "benchmarks: unknown benchmark 'qspatail' (did you mean 'qspatial'?); valid: dir, spatialrgpt")
    one_line_error(cli("evaluate", "--recipe", "prior", "--benchmark", "qspatial"),
                   "error: prior on qspatial: BenchmarkDataNotFound: benchmark 'qspatial': data has no local path "
                   "configured; set $HISPATIAL_BENCHMARKS_DIR", code=1)


def test_an_unknown_stage_backend_names_the_valid_ones(cli):
    one_line_error(cli("status", env=cli.config({"stages": {"detection": {"backend": "yolo"}}})),
                   "stages.detection.backend: unknown detection backend 'yolo'; valid: synthetic, annotations, grounded_sam")
    one_line_error(cli("status", env={"HISPATIAL_DETECTION_BACKEND": "yolo"}),
                   "$HISPATIAL_DETECTION_BACKEND: unknown detection backend 'yolo'; valid: synthetic, annotations, grounded_sam")
    one_line_error(cli("status", env=cli.config({"stages": {"detector": {"backend": "synthetic"}}})),
                   "stages.detector: no such stage; valid: point_maps, gravity, detection, orientation, referral")


def test_a_missing_checkpoint_names_the_setting_that_exists_and_the_variable_keeps_the_file_paths(cli):
    """The file holds grounded_sam's paths while running synthetic; the variable switches the name only,
    so the run looks for the file's path, and the error names the real key."""
    env = {**cli.config({"stages": {"detection": {"backend": "synthetic", "grounding_dino_path": "/models/gdino",
                                                  "sam_path": "/models/sam"}}}),
           "HISPATIAL_DETECTION_BACKEND": "grounded_sam"}
    shown = json.loads(cli("config", env=env).stdout)["stages"]["detection"]
    assert shown["backend"] == "grounded_sam" and shown["settings"]["sam_path"] == "/models/sam"
    result = cli("backfill", "--asset", "objects", "--partitions", "demo_000", env=env)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    failure = [line for line in result.stderr.splitlines() if line.startswith("step objects failed")]
    assert failure == ["step objects failed: CheckpointNotFound: checkpoint not found at '/models/gdino' (setting "
                       "stages.detection.grounding_dino_path in $HISPATIAL_CONFIG); real backends never download weights: "
                       "put the checkpoint there or point stages.detection.grounding_dino_path in $HISPATIAL_CONFIG at a "
                       "local copy"]
    env = {**cli.config({"stages": {"point_maps": {"backend": "synthetic_noisy", "depth_anything": {"path": "/models/da"}}}}),
           "HISPATIAL_POINT_MAPS_BACKEND": "depth_anything"}
    result = cli("backfill", "--asset", "point_maps", "--partitions", "demo_000", env=env)
    assert "checkpoint not found at '/models/da' (setting stages.point_maps.path in $HISPATIAL_CONFIG)" in result.stderr


def test_refresh_with_nothing_stale_prints_one_line(cli):
    result = cli("refresh")
    assert result.returncode == 0 and result.stdout == "nothing is stale\n" and result.stderr == ""


def _paths(record: dict) -> list[str]:
    return [record["image"]] + ([record["point_map"]] if record.get("point_map") else [])


def test_llava_export_paths_are_relative_to_the_data_root_and_ids_unique_across_drops(cli):
    result = cli("export", "--format", "llava", "--out", "out/qa.json")
    assert result.returncode == 0, result.stderr
    records = json.loads((cli.workdir / "out" / "qa.json").read_text())
    n = json.loads(cli("sql", "select count(*) as n from qa", "--format", "json").stdout)[0]["n"]
    assert len(records) == n and len({r["id"] for r in records}) == n
    assert {r["image"] for r in records} == {"drops/demo_000/img_0000.png", "drops/demo_001/img_0000.png"}
    assert all(not os.path.isabs(p) and (cli.root / p).is_file() for r in records for p in _paths(r))


def test_llava_export_with_copied_images_is_self_contained(cli, tmp_path):
    from hispatial_assets.storage.point_maps import load_point_map

    assert cli("export", "--format", "llava", "--out", "bundle/qa.json", "--copy-images").returncode == 0
    moved = tmp_path / "elsewhere"
    shutil.copytree(cli.workdir / "bundle", moved)
    records = json.loads((moved / "qa.json").read_text())
    assert {r["image"] for r in records} == {"images/demo_000/img_0000.png", "images/demo_001/img_0000.png"}
    for path in {p for r in records for p in _paths(r)}:
        assert (moved / path).is_file()
    pm = load_point_map(str(moved / records[0]["point_map"]))
    assert pm.xyz.shape[-1] == 3
    one_line_error(cli("export", "--out", "y.json", "--image-root", str(cli.root / "drops")),
                   "arrays/point_maps/drop_id=demo_000/img_0000.npz is not under the image root")


def test_hf_export_paths_are_relative_to_the_image_root(cli):
    import polars as pl

    assert cli("export", "--out", "hf/qa.parquet", "--image-root", str(cli.root)).returncode == 0
    frame = pl.read_parquet(cli.workdir / "hf" / "qa.parquet")
    assert frame["id"].is_unique().all() and frame["image"].str.starts_with("drops/").all()
