"""The executor is one setting: the config file's "executor" block, or $HISPATIAL_EXECUTOR."""

import pytest
from dagster._config import process_config

from hispatial_assets.defs.executors import DEFAULT_EXECUTOR, ExecutorConfigError, build_executor, executor_spec


@pytest.fixture(autouse=True)
def no_executor_env(monkeypatch):
    monkeypatch.delenv("HISPATIAL_EXECUTOR", raising=False)
    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS", raising=False)


def test_without_configuration_runs_are_in_process_and_multiprocess_by_run_config():
    assert executor_spec(None) == DEFAULT_EXECUTOR == {"name": "default"}
    executor = build_executor(executor_spec(None))
    assert executor.name == "in_process_by_default"
    assert executor.config_schema.as_field().default_value == {"in_process": {}}
    assert process_config(executor.config_schema.config_type, {"multiprocess": {"max_concurrent": 2}}).success


def test_the_variable_switches_the_executor_and_keeps_only_that_executors_own_block(monkeypatch):
    raw = {"name": "multiprocess", "max_concurrent": 4, "dask": {"cluster": {"existing": {"address": "tcp://h:1"}}}}
    assert executor_spec(raw) == {"name": "multiprocess", "max_concurrent": 4}
    monkeypatch.setenv("HISPATIAL_EXECUTOR", "dask")
    assert executor_spec(raw) == {"name": "dask", "cluster": {"existing": {"address": "tcp://h:1"}}}
    monkeypatch.setenv("HISPATIAL_EXECUTOR", "in_process")
    assert executor_spec(raw) == {"name": "in_process"}
    assert build_executor(executor_spec(raw)).name == "in_process"


def test_an_unknown_executor_or_setting_is_one_clear_error(monkeypatch):
    with pytest.raises(ExecutorConfigError, match="unknown executor 'celery'.*known: default, in_process, multiprocess, dask, k8s"):
        executor_spec({"name": "celery"})
    with pytest.raises(ExecutorConfigError, match="max_concurent"):
        build_executor(executor_spec({"name": "multiprocess", "max_concurent": 2}))
    monkeypatch.setenv("HISPATIAL_EXECUTOR", "dask")
    with pytest.raises(ExecutorConfigError, match="DASK_SCHEDULER_ADDRESS"):
        build_executor(executor_spec(None))


def test_dask_without_a_cluster_setting_uses_the_scheduler_in_the_environment(monkeypatch):
    pytest.importorskip("dagster_dask", reason="the dask extra")
    monkeypatch.setenv("HISPATIAL_EXECUTOR", "dask")
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", "tcp://127.0.0.1:8786")
    executor = build_executor(executor_spec(None))
    assert executor.name == "dask_executor"
    resolved = executor.config_schema.resolve_config({}).value["config"]
    assert resolved == {"cluster": {"existing": {"address": "tcp://127.0.0.1:8786"}}}
