"""The shipped Postgres instance config (deploy/postgres/dagster.yaml) against a real server: a drop
runs, its records land in Postgres, and a second process's instance sees them."""

import os
import shutil
from pathlib import Path

import dagster as dg
import pytest

from hispatial_assets.cli import orchestrate
from hispatial_assets.scenes import write_drop
from hispatial_assets_tests.scale.postgres import postgres_bin, postgres_server

pytest.importorskip("dagster_postgres", reason="the postgres extra: pip install '.[postgres]'")
EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "postgres" / "dagster.yaml"


@pytest.fixture
def postgres():
    bin_dir = postgres_bin()
    if bin_dir is None:
        if os.environ.get("CI"):
            pytest.fail("no PostgreSQL server binaries (make test installs Debian's postgresql)")
        pytest.skip("no PostgreSQL server binaries: apt-get install postgresql")
    with postgres_server(bin_dir) as server:
        yield server


def test_a_drop_runs_on_the_postgres_instance_and_another_instance_sees_it(postgres, data_root, tmp_path,
                                                                            monkeypatch):
    import psycopg2
    from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage

    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(EXAMPLE, home / "dagster.yaml")
    for name, value in {"DAGSTER_HOME": str(home), "DAGSTER_PG_HOST": postgres.host, "DAGSTER_PG_PORT": str(postgres.port),
                        "DAGSTER_PG_USERNAME": postgres.username, "DAGSTER_PG_PASSWORD": postgres.password,
                        "DAGSTER_PG_DB": postgres.db_name}.items():
        monkeypatch.setenv(name, value)
    write_drop(data_root.root, "pg_1", n_images=1, seed=2, width=160, height=120)

    with dg.DagsterInstance.get() as instance:
        assert isinstance(instance.run_storage, PostgresRunStorage)
        assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
        assert instance.event_log_storage.supports_global_concurrency_limits  # the `gpu` pool lives there too
        orchestrate.register_drops(instance, ["pg_1"])
        result = orchestrate.materialize_drop(orchestrate.load_definitions(data_root), instance, "pg_1")
        assert result.success
        assert orchestrate.stale_partitions(orchestrate.load_definitions(data_root), instance, data_root).is_empty()

    with psycopg2.connect(host=postgres.host, port=postgres.port, user=postgres.username,
                          password=postgres.password, dbname=postgres.db_name) as con, con.cursor() as cur:
        cur.execute("SELECT run_id FROM runs")
        assert [r[0] for r in cur.fetchall()] == [result.run_id]
        cur.execute("SELECT count(*) FROM event_logs WHERE dagster_event_type = 'ASSET_MATERIALIZATION' "
                    "AND partition = 'pg_1'")
        assert cur.fetchone()[0] == 9  # drop_manifest, point_maps, gravity, objects, referrals, qa_l0..qa_l3

    # another machine with the same config: same partitions, same materializations
    with dg.DagsterInstance.from_config(str(home)) as other:
        assert other.get_dynamic_partitions("drops") == ["pg_1"]
        latest = other.get_latest_materialization_event(dg.AssetKey("qa_l3"))
        assert latest is not None and latest.run_id == result.run_id
