from hispatial_assets.config import PipelineConfig
from hispatial_assets.definitions import build_definitions
from hispatial_assets.perception.base import identity
from hispatial_assets.perception.registry import DEFAULTS, build_backend, spec_identity


def code_versions(config: PipelineConfig) -> dict[str, str]:
    graph = build_definitions(config).resolve_asset_graph()
    return {k.to_user_string(): graph.get(k).code_version for k in graph.get_all_asset_keys()}


def test_a_spec_and_the_backend_it_builds_have_one_identity():
    for stage, spec in DEFAULTS.items():
        assert spec_identity(stage, spec) == identity(build_backend(stage, spec)), stage


def test_a_detector_setting_changes_only_the_objects_code_version():
    base = PipelineConfig()
    changed = base.with_stage("detection", backend="synthetic", oracle_attributes=True)
    before, after = code_versions(base), code_versions(changed)
    assert {a for a in before if before[a] != after[a]} == {"objects"}


def test_a_missing_checkpoint_still_loads_the_definitions_and_names_the_backend():
    config = PipelineConfig().with_stage("point_maps", backend="depth_anything", path="/nowhere/depth")
    versions = code_versions(config)
    assert versions["point_maps"].startswith("1|depth_anything@") and versions["point_maps"].endswith("+unbuilt")


def test_a_backend_variable_switches_to_a_block_the_config_file_holds(tmp_path, monkeypatch):
    import json

    (tmp_path / "c.json").write_text(json.dumps({"stages": {"point_maps": {
        "backend": "synthetic_noisy", "seed": 3, "sensor": {"depth_scale": 500.0}, "moge": {"path": "/m.pt"}}}}))
    monkeypatch.setenv("HISPATIAL_CONFIG", str(tmp_path / "c.json"))
    assert PipelineConfig.from_env().build("point_maps").seed == 3  # flat settings of the chosen backend
    monkeypatch.setenv("HISPATIAL_POINT_MAPS_BACKEND", "sensor")
    config = PipelineConfig.from_env()  # the variable sets the name only; the file's settings all stay
    assert config.stages["point_maps"] == {"backend": "sensor", "seed": 3, "sensor": {"depth_scale": 500.0},
                                           "moge": {"path": "/m.pt"}}
    assert config.build("point_maps").depth_scale == 500.0  # the sensor block; synthetic_noisy's seed is not passed
    assert spec_identity("point_maps", config.stages["point_maps"]) == identity(config.build("point_maps"))
