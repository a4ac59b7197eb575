"""Issue 13, item 3: `hispatial sql` cannot write, by construction (not by a statement-type filter)."""

import json
import os
from pathlib import Path

import duckdb
import pytest

from hispatial_assets.catalog.duckdb import connect, ensure_catalog
from hispatial_assets.cli.commands import main
from hispatial_assets.storage.layout import DataRoot
from hispatial_assets_tests.faults.conftest import scene_drop


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    """A root with one materialized drop (the QA view is not empty)."""
    tmp = tmp_path_factory.mktemp("sql")
    mp = pytest.MonkeyPatch()
    mp.setenv("DAGSTER_HOME", str(tmp / "dagster_home"))
    root = DataRoot.resolve(str(tmp / "root"))
    try:
        assert main(["add-drop", scene_drop(root.root, "s1", seed=9), "--id", "s1", "--root", root.root, "--run"]) == 0
    finally:
        mp.undo()
    ensure_catalog(root)
    return root


def snapshot(folder: str) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in Path(folder).rglob("*") if p.is_file()}


def sql(root, text, capsys) -> tuple[int, str, str]:
    code = main(["sql", text, "--root", root.root, "--format", "json"])
    out = capsys.readouterr()
    return code, out.out, out.err


def qa_rows(root, capsys) -> int:
    code, out, _ = sql(root, "select count(*) as n from qa", capsys)
    assert code == 0
    return json.loads(out)[0]["n"]


def test_explain_analyze_copy_into_the_tables_writes_nothing(catalog, capsys):
    rows, before = qa_rows(catalog, capsys), snapshot(catalog.root)
    target = f"{catalog.root}/tables/qa/x.parquet"
    for text in [f"explain analyze copy (select * from qa) to '{target}'",
                 "explain analyze copy (select * from qa) to 'hispatial://tables/qa/x.parquet'"]:
        code, _, err = sql(catalog, text, capsys)
        assert code == 2 and err.startswith("error:")
    assert not os.path.exists(target)
    assert snapshot(catalog.root) == before and qa_rows(catalog, capsys) == rows


def test_create_temp_secret_neither_installs_nor_loads_an_extension(catalog, capsys):
    extensions = Path.home() / ".duckdb" / "extensions"
    had = sorted(extensions.rglob("*")) if extensions.exists() else None
    code, _, err = sql(catalog, "CREATE TEMP SECRET s (TYPE s3, KEY_ID 'k', SECRET 's')", capsys)
    assert code == 2 and "httpfs" in err
    assert (sorted(extensions.rglob("*")) if extensions.exists() else None) == had


WRITES = [
    "copy (select 1 as a) to '{root}/tables/qa/y.parquet'",
    "copy (select 1 as a) to '{root}/stolen.csv'",
    "copy (select * from qa) to 'hispatial://tables/qa' (format parquet, partition_by (level), overwrite)",
    "copy (select * from qa) to 'hispatial://tables/qa' (format parquet, partition_by (level), overwrite_or_ignore)",
    "copy qa to '{root}/qa.csv'",
    "explain analyze copy (select 1) to '{root}/x.csv'",
    "export database '{root}/dump'",
    "attach '{root}/other.duckdb' as o",
    "attach '{root}/catalog/hispatial.duckdb' as c",
    "create table t as select 1",
    "create view v as select 1",
    "drop view qa",
    "insert into qa select * from qa",
    "install httpfs",
    "load httpfs",
    "set enable_external_access = true",
    "set allowed_directories = ['/']",
    "reset lock_configuration",
    "pragma enable_profiling",
    "checkpoint",
    "create persistent secret p (type s3, key_id 'k', secret 's')",
    "select * from read_text('/etc/passwd')",
    "select * from read_csv('{root}/drops/s1/img_0000.truth.json')",
    "select * from read_parquet('hispatial://drops/s1/../../tables/qa/**/*.parquet')",
    "create temp table t as select 1; copy t to '{root}/t.csv'",
    "select 1; install spatial",
]


@pytest.mark.parametrize("text", WRITES)
def test_no_statement_writes_or_reads_outside_the_tables(catalog, capsys, text):
    before = snapshot(catalog.root)
    code, _, err = sql(catalog, text.format(root=catalog.root), capsys)
    assert code == 2 and err.startswith("error:")
    assert snapshot(catalog.root) == before


def test_the_connection_itself_refuses_writes_without_the_statement_filter(catalog):
    """The filter in `query` is a second line only: a raw connection is read-only already."""
    con = connect(catalog)
    try:
        assert con.sql("select count(*) from qa").fetchall()[0][0] > 0
        for text in [f"copy (select 1) to '{catalog.root}/tables/qa/z.parquet'",
                     "copy (select 1) to 'hispatial://tables/qa/z.parquet'",
                     f"copy (select 1) to '{catalog.root}/z.csv'", "install httpfs", "set lock_configuration = false"]:
            with pytest.raises(duckdb.Error):
                con.execute(text)
    finally:
        con.close()
    assert not list(Path(catalog.root).rglob("z.*"))


def test_reads_still_work(catalog, capsys):
    code, out, _ = sql(catalog, "create temp view l2 as select * from qa where level = 2; "
                                "select count(*) > 0 as some, count(distinct qa_id) = count(*) as unique_ids from l2", capsys)
    assert code == 0 and json.loads(out) == [{"some": True, "unique_ids": True}]
    code, out, _ = sql(catalog, "sql/qa_stats.sql", capsys)
    assert code == 0 and len(json.loads(out)) > 0
