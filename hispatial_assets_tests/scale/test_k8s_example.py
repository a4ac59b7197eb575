"""The Kubernetes example (deploy/k8s/) against Dagster's own config schema.

Dagster's Helm chart is not on a package registry this project can reach, so `helm template` and the
chart's values schema are out of reach here: the parts of values.yaml that become Dagster config (the
run launcher, the Postgres storage) are rendered as the chart's instance template renders them and
checked with Dagster's schema for K8sRunLauncher and Postgres storage; the executor block of
hispatial.json with Dagster's schema for the k8s executor; every Kubernetes object in either
(containers, pod specs, volumes) with the Kubernetes client's models."""

import json
from pathlib import Path

import pytest
import yaml

from hispatial_assets.config import PipelineConfig
from hispatial_assets.definitions import build_definitions
from hispatial_assets.defs.executors import build_executor, executor_spec

dagster_k8s = pytest.importorskip("dagster_k8s", reason="the k8s extra: pip install '.[k8s]'")
from dagster._config import process_config  # noqa: E402
from dagster_k8s.models import k8s_snake_case_dict  # noqa: E402
from kubernetes import client as k8s  # noqa: E402

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "k8s"
VALUES = yaml.safe_load((DEPLOY / "values.yaml").read_text())
EXAMPLE = json.loads((DEPLOY / "hispatial.json").read_text())
EXECUTOR = EXAMPLE["executor"]


def check_k8s(model, spec: dict) -> None:
    """Raises on any key the Kubernetes model does not have, at any depth (camelCase or snake_case)."""
    k8s_snake_case_dict(model, spec)


def check_step_config(step_config: dict) -> None:
    assert set(step_config) <= {"container_config", "pod_spec_config", "pod_template_spec_metadata",
                                "job_spec_config", "job_metadata"}
    check_k8s(k8s.V1Container, step_config.get("container_config", {}))
    check_k8s(k8s.V1PodSpec, step_config.get("pod_spec_config", {}))


def test_the_executor_block_is_valid_config_for_dagsters_k8s_executor(monkeypatch):
    monkeypatch.delenv("HISPATIAL_EXECUTOR", raising=False)
    assert build_executor(executor_spec(EXECUTOR)).name == "k8s_executor"  # raises on any schema error
    for step_config in [EXECUTOR["step_k8s_config"], *EXECUTOR["per_step_k8s_config"].values()]:
        check_step_config(step_config)
    for volume in EXECUTOR["volumes"]:
        check_k8s(k8s.V1Volume, volume)
    for mount in EXECUTOR["volume_mounts"]:
        check_k8s(k8s.V1VolumeMount, mount)
    PipelineConfig(stages={**PipelineConfig().stages, **EXAMPLE["stages"]}).validated()  # known backends


def test_a_misspelled_executor_setting_is_caught_by_the_same_check(monkeypatch):
    from hispatial_assets.defs.executors import ExecutorConfigError

    monkeypatch.delenv("HISPATIAL_EXECUTOR", raising=False)
    with pytest.raises(ExecutorConfigError, match="per_step_k8s_confg"):
        build_executor(executor_spec({**EXECUTOR, "per_step_k8s_confg": {}}))
    with pytest.raises(Exception, match="node_selectr"):
        check_step_config({"pod_spec_config": {"node_selectr": {"hispatial/pool": "gpu"}}})


def gpus(step_config: dict) -> int:
    return int(step_config.get("container_config", {}).get("resources", {}).get("limits", {}).get("nvidia.com/gpu", 0))


def test_exactly_the_gpu_pool_steps_get_a_gpu_on_the_gpu_node_pool():
    gpu_steps = {a.node_def.name for a in build_definitions().assets if getattr(a.node_def, "pool", None) == "gpu"}
    assert gpu_steps == {"point_maps", "objects", "referrals", "checkpoints", "eval_scores"}
    per_step = EXECUTOR["per_step_k8s_config"]
    assert set(per_step) == gpu_steps
    for step, config in per_step.items():
        assert gpus(config) >= 1, step
        assert config["pod_spec_config"]["node_selector"] == {"hispatial/pool": "gpu"}, step
        assert any(t["key"] == "nvidia.com/gpu" for t in config["pod_spec_config"]["tolerations"]), step
    assert gpus(EXECUTOR["step_k8s_config"]) == 0
    assert EXECUTOR["step_k8s_config"]["pod_spec_config"]["node_selector"] == {"hispatial/pool": "cpu"}


def render_run_launcher(chart_values: dict) -> dict:
    """K8sRunLauncher config as the chart's instance template writes it from these values (the keys
    this example uses; the chart fills dagster_home, instance_config_map and postgres_password_secret
    from its own environment variables)."""
    launcher = chart_values["runLauncher"]["config"]["k8sRunLauncher"]
    run_k8s = launcher.get("runK8sConfig", {})
    return {
        "load_incluster_config": launcher["loadInclusterConfig"],
        "job_namespace": launcher["jobNamespace"],
        "image_pull_policy": launcher["imagePullPolicy"],
        "service_account_name": "dagster",
        "dagster_home": {"env": "DAGSTER_HOME"},
        "instance_config_map": {"env": "DAGSTER_K8S_INSTANCE_CONFIG_MAP"},
        "postgres_password_secret": {"env": "DAGSTER_K8S_PG_PASSWORD_SECRET"},
        "env_config_maps": [{"env": "DAGSTER_K8S_PIPELINE_RUN_ENV_CONFIGMAP"}]
        + [c["name"] for c in launcher["envConfigMaps"]],
        "env_secrets": [s["name"] for s in launcher["envSecrets"]],
        "env_vars": launcher["envVars"],
        "volumes": launcher["volumes"],
        "volume_mounts": launcher["volumeMounts"],
        "run_k8s_config": {"container_config": run_k8s.get("containerConfig", {}),
                           "pod_spec_config": run_k8s.get("podSpecConfig", {})},
    }


def test_the_helm_values_render_to_a_valid_run_launcher_and_postgres_storage(monkeypatch):
    from dagster_k8s import K8sRunLauncher
    from dagster_postgres import DagsterPostgresStorage

    for name in ("DAGSTER_HOME", "DAGSTER_K8S_INSTANCE_CONFIG_MAP", "DAGSTER_K8S_PG_PASSWORD_SECRET",
                 "DAGSTER_K8S_PIPELINE_RUN_ENV_CONFIGMAP", "DAGSTER_PG_PASSWORD"):  # what the chart's pods carry
        monkeypatch.setenv(name, "set-by-the-chart")

    rendered = render_run_launcher(VALUES)
    checked = process_config(K8sRunLauncher.config_type(), rendered)
    assert checked.success, [e.message for e in checked.errors]
    check_step_config(rendered["run_k8s_config"])
    for volume in rendered["volumes"]:
        check_k8s(k8s.V1Volume, volume)
    pg = VALUES["postgresql"]
    storage = {"postgres_db": {"hostname": pg["postgresqlHost"], "username": pg["postgresqlUsername"],
                               "password": {"env": "DAGSTER_PG_PASSWORD"}, "db_name": pg["postgresqlDatabase"],
                               "port": pg["service"]["port"]}}
    checked = process_config(DagsterPostgresStorage.config_type(), storage)
    assert checked.success, [e.message for e in checked.errors]
    # the run pods and the step pods see the same root, config and credentials
    assert rendered["env_vars"] == EXECUTOR["env_vars"]
    assert rendered["env_secrets"] == EXECUTOR["env_secrets"]
    user_code = VALUES["dagster-user-deployments"]["deployments"][0]
    assert {f"{e['name']}={e['value']}" for e in user_code["env"]} == set(EXECUTOR["env_vars"])
