import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timezone

import pytest

from hispatial_assets.catalog.duckdb import CatalogError, ensure_catalog, query
from hispatial_assets.catalog.lineage import LineageRecord, write_lineage
from hispatial_assets.storage.layout import DataRoot, InvalidDropId


def test_views_exist_and_are_empty_before_any_data(data_root):
    for view in ["images", "rejected", "point_maps", "gt_objects", "objects", "referrals", "qa", "lineage"]:
        assert query(data_root, f"select count(*) as n from {view}")["n"][0] == 0


def test_sql_is_read_only_and_a_bad_query_changes_nothing(data_root, tmp_path):
    path = ensure_catalog(data_root)
    before = open(path, "rb").read()
    target = tmp_path / "stolen.csv"
    for bad in [f"copy (select 1) to '{target}'", "drop view images", "create table t as select 1",
                "attach 'x.db' as x", "selec 1"]:
        with pytest.raises(CatalogError):
            query(data_root, bad)
    assert not target.exists()
    assert open(path, "rb").read() == before
    assert query(data_root, "select count(*) as n from images")["n"][0] == 0


def _write_many(root: str, worker: int, n: int) -> int:
    r = DataRoot(root)
    for i in range(n):
        now = datetime.now(timezone.utc)
        write_lineage(r, LineageRecord(asset="point_maps", partition=f"p{worker}", run_id=f"run{worker}-{i}",
                                       code_version="1", data_version=f"v{i}", rows=i, started_at=now))
    return n


def test_parallel_lineage_writers_lose_no_record(data_root):
    ensure_catalog(data_root)
    with ProcessPoolExecutor(max_workers=4, mp_context=multiprocessing.get_context("spawn")) as pool:  # polars is not fork-safe
        assert sum(pool.map(_write_many, [data_root.root] * 4, range(4), [25] * 4)) == 100
    df = query(data_root, "select partition, count(*) as n from lineage group by 1 order by 1")
    assert df["n"].to_list() == [25, 25, 25, 25]


def test_bad_partition_keys_never_become_paths(data_root):
    for bad in ["../etc", "a/b", "", ".hidden", "x" * 200]:
        with pytest.raises(InvalidDropId):
            data_root.table_uri("images", bad)
    assert not os.path.exists(os.path.join(os.path.dirname(data_root.root), "etc"))


def test_the_query_filesystem_gives_each_thread_its_own_file_position(tmp_path):
    """DuckDB seeks then reads one handle from several threads: with a shared position a thread
    read from another's offset (short reads on large scans). Both threads seek, then both read."""
    import threading

    import fsspec

    from hispatial_assets.catalog.duckdb import ThreadLocalReader

    data = bytes(range(256)) * 4096
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    reader = ThreadLocalReader(fsspec.filesystem("file"), str(path))
    between = threading.Barrier(2)
    got = {}

    def read_at(offset: int) -> None:
        reader.seek(offset)
        between.wait()  # the other thread has sought too
        got[offset] = reader.read(1000)

    threads = [threading.Thread(target=read_at, args=(offset,)) for offset in (10, 700_000)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    reader.close()
    assert got == {10: data[10:1010], 700_000: data[700_000:701_000]}
