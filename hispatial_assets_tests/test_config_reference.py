"""The configuration reference cannot drift from the code, and the checks on reading a config agree
with it: every key it lists is accepted, every mistake is refused in one line naming it."""

from __future__ import annotations

import dataclasses
import json
import re
import typing
from pathlib import Path

import pytest

from hispatial_assets.cli import config_reference
from hispatial_assets.config import TRAINING_KEYS, ConfigError, PipelineConfig, benchmark_keys
from hispatial_assets.evaluation.task import benchmark_dir
from hispatial_assets.perception import registry

REPO = Path(__file__).resolve().parents[1]


def test_the_readme_section_is_the_generated_reference():
    block = config_reference.readme_block((REPO / "README.md").read_text())
    assert block == config_reference.reference_markdown(), (
        "README's configuration reference is stale: run python -m hispatial_assets.cli.config_reference --write README.md")


def _sources(*folders: str) -> dict[Path, str]:
    return {p: p.read_text() for f in folders for p in (REPO / f).rglob("*.py")}


def environment_variables_read() -> set[str]:
    """Every HISPATIAL_* name anywhere in the code, tests and benchmarks, and every variable the
    package reads through os.environ / os.getenv."""
    names = set()
    for path, text in _sources("hispatial_assets", "hispatial_assets_tests", "benchmarks").items():
        if path.name == "config_reference.py" or path == Path(__file__).resolve():  # the list, and bad names on purpose
            continue
        names |= set(re.findall(r"\bHISPATIAL_[A-Z0-9_]*[A-Z0-9]\b", text))
    for text in _sources("hispatial_assets").values():
        names |= set(re.findall(r"os\.(?:environ\.get\(|environ\[|getenv\()\s*[\"']([A-Z][A-Z0-9_]*)[\"']", text))
    return names


def test_every_environment_variable_the_code_reads_is_in_the_reference():
    documented = set(config_reference.ENVIRONMENT) | set(config_reference.TEST_ENVIRONMENT)
    documented |= {f"HISPATIAL_{stage.upper()}_BACKEND" for stage in registry.BACKENDS}
    found = environment_variables_read()
    assert {"HISPATIAL_SENSOR_INTERVAL_S", "HISPATIAL_MAX_IMAGE_PIXELS", "DAGSTER_HOME", "RANK"} <= found  # the scan sees them
    assert found - documented == set()


def test_training_keys_are_the_training_resource_fields_with_their_types():
    from hispatial_assets.defs.training import TrainingResource

    fields = TrainingResource.model_fields
    assert list(fields) == list(TRAINING_KEYS)
    for name, field in fields.items():
        args = typing.get_args(field.annotation)
        kinds = {a.__name__ for a in args} if args else {field.annotation.__name__}
        assert kinds == {k.strip().replace("None", "NoneType") for k in TRAINING_KEYS[name].split("|")}, name


def test_checkpoint_errors_name_keys_their_stage_really_takes():
    calls = set()
    for text in _sources("hispatial_assets/perception").values():
        calls |= set(re.findall(r"config_setting\(\"(\w+)\", \"(\w+)\"\)", text))
    assert ("detection", "grounding_dino_path") in calls and ("point_maps", "path") in calls
    for stage, key in calls:
        taken = {k for name in registry.BACKENDS[stage] for k in registry.backend_setting_specs(stage, name)}
        assert key in taken, f"stages.{stage}.{key} is named in an error but no {stage} backend takes it"


def _write(tmp_path, monkeypatch, raw: dict | str) -> None:
    path = tmp_path / "config.json"
    path.write_text(raw if isinstance(raw, str) else json.dumps(raw))
    monkeypatch.setenv("HISPATIAL_CONFIG", str(path))


def test_a_config_holding_every_listed_setting_at_its_default_is_accepted(tmp_path, monkeypatch):
    """Each stage with a block per backend holding every optional setting the reference lists."""
    stages = {}
    for stage, names in registry.BACKENDS.items():
        blocks = {name: {k: s.default for k, s in registry.backend_setting_specs(stage, name).items()
                         if s.default is None or isinstance(s.default, (bool, int, float, str))}
                  for name in names}
        stages[stage] = {"backend": registry.DEFAULTS[stage]["backend"], **blocks}
    from hispatial_assets.qa.config import QAConfig

    qa = {f.name: f.default for f in dataclasses.fields(QAConfig) if isinstance(f.default, (int, float, str))}
    benchmarks = {key: str(tmp_path / key) for key in benchmark_keys()}
    _write(tmp_path, monkeypatch, {"profile": "estimated", "stages": stages, "qa": qa, "training": {"lr": 0.001, "max_steps": 5},
                                   "benchmarks": benchmarks})
    config = PipelineConfig.from_env()
    assert config.qa == qa and config.training == {"lr": 0.001, "max_steps": 5}
    assert config.build("gravity").max_tilt_deg == 35.0
    (tmp_path / "qspatial").mkdir()
    assert benchmark_dir("qspatial") == str(tmp_path / "qspatial")


def test_the_benchmark_keys_are_the_tasks_read_from_a_local_folder():
    import hispatial_assets.evaluation.tasks  # noqa: F401 - registers every task
    from hispatial_assets.evaluation.task import get_task, registered_tasks

    published = {name for name in registered_tasks() if get_task(name).source == "benchmark_dir"}
    assert benchmark_keys()[0] == "dir" and set(benchmark_keys()[1:]) == published and "self" not in published


@pytest.mark.parametrize("raw,message", [
    ({"qa": {"densty": 2}}, r"qa: unknown setting 'densty' \(did you mean 'density'\?\); valid: seed, density"),
    ({"qa": {"density": "high"}}, r"qa\.density: expected float, got 'high'"),
    ({"qa": {"units": "imperial"}}, r"qa: units must be 'metric' or 'mixed'"),
    ({"stage": {}}, r"unknown section 'stage' \(did you mean 'stages'\?\); valid: profile, stages, qa, training"),
    ({"profile": "exakt"}, r"profile: unknown profile 'exakt'; valid: estimated, exact"),
    ({"stages": {"detector": {"backend": "synthetic"}}}, r"stages\.detector: no such stage; valid: point_maps, gravity, detection"),
    ({"stages": {"detection": {"backend": "yolo"}}}, r"unknown detection backend 'yolo'; valid: synthetic, annotations, grounded_sam"),
    ({"stages": {"detection": {"backend": "synthetic", "orcale_attributes": True}}},
     r"stages\.detection\.orcale_attributes: no detection backend takes this setting \(did you mean 'oracle_attributes'\?\)"),
    ({"stages": {"point_maps": {"backend": "synthetic", "moge": {"pth": "/m.pt"}}}},
     r"stages\.point_maps\.moge\.pth: moge takes no setting 'pth' \(did you mean 'path'\?\); valid: path, implementation"),
    ({"stages": {"gravity": {"max_tilt_deg": "steep"}}}, r"stages\.gravity\.max_tilt_deg: expected float, got 'steep'"),
    ({"training": {"learning_rate": 0.1}}, r"training: unknown setting 'learning_rate'; valid: device, base_path"),
    ({"training": {"max_steps": True}}, r"training\.max_steps: expected int \| None, got True"),
    ({"benchmarks": {"spatialrgbt": "/b"}},
     r"benchmarks: unknown benchmark 'spatialrgbt' \(did you mean 'spatialrgpt'\?\); valid: dir, spatialrgpt, qspatial"),
    ({"benchmarks": {"dir": 3}}, r"benchmarks\.dir: expected str \| None, got 3"),
    ({"benchmarks": ["/b"]}, r"benchmarks must be a JSON object, not \['/b'\]"),
    ('{"qa": }', r"not valid JSON: Expecting value at line 1, column 8"),
    ("[1, 2]", r"must hold a JSON object"),
])
def test_a_config_mistake_is_one_line_naming_it_and_what_is_valid(tmp_path, monkeypatch, raw, message):
    _write(tmp_path, monkeypatch, raw)
    with pytest.raises(ConfigError, match=message) as err:
        PipelineConfig.from_env()
    assert "\n" not in str(err.value) and str(tmp_path / "config.json") in str(err.value)


@pytest.mark.parametrize("variable,value,message", [
    ("HISPATIAL_DETECTOR_BACKEND", "synthetic", r"\$HISPATIAL_DETECTOR_BACKEND: no stage 'detector'; valid variables: "
                                                r"HISPATIAL_POINT_MAPS_BACKEND"),
    ("HISPATIAL_DETECTION_BACKEND", "yolo", r"\$HISPATIAL_DETECTION_BACKEND: unknown detection backend 'yolo'; valid: synthetic"),
    ("HISPATIAL_PROFILE", "exakt", r"\$HISPATIAL_PROFILE: unknown profile 'exakt'; valid: estimated, exact"),
])
def test_a_bad_variable_is_one_line_naming_it(monkeypatch, variable, value, message):
    monkeypatch.delenv("HISPATIAL_CONFIG", raising=False)
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError, match=message):
        PipelineConfig.from_env()


def test_a_backend_variable_keeps_the_file_settings_of_the_stage(tmp_path, monkeypatch):
    _write(tmp_path, monkeypatch, {"stages": {"detection": {"backend": "synthetic", "oracle_attributes": True,
                                                            "grounding_dino_path": "/models/gd", "sam_path": "/models/sam"}}})
    assert registry.backend_settings("detection", PipelineConfig.from_env().stages["detection"]) == {"oracle_attributes": True}
    monkeypatch.setenv("HISPATIAL_DETECTION_BACKEND", "grounded_sam")
    spec = PipelineConfig.from_env().stages["detection"]
    assert spec["backend"] == "grounded_sam"
    assert registry.backend_settings("detection", spec) == {"grounding_dino_path": "/models/gd", "sam_path": "/models/sam"}
