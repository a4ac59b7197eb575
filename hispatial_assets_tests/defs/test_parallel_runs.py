import multiprocessing
from concurrent.futures import ProcessPoolExecutor

from hispatial_assets.catalog.duckdb import query
from hispatial_assets_tests.conftest import write_sensor_drop
from hispatial_assets_tests.defs import jobs


def test_four_partitions_in_parallel_with_the_multiprocess_executor_write_four_lineage_records(
        data_root, instance, monkeypatch):
    monkeypatch.setenv("HISPATIAL_ROOT", data_root.root)
    monkeypatch.setenv("HISPATIAL_POINT_MAPS_BACKEND", "sensor")
    drop_ids = [f"p{i}" for i in range(4)]
    for i, d in enumerate(drop_ids):
        write_sensor_drop(data_root, d, n_images=2, seed=i)
    instance.add_dynamic_partitions("drops", drop_ids)
    ref = instance.get_ref()
    with ProcessPoolExecutor(max_workers=4, mp_context=multiprocessing.get_context("spawn")) as pool:
        assert all(pool.map(jobs.run_drop_in_own_process, [ref] * 4, drop_ids))

    counts = query(data_root, "select asset, count(*) as n, count(distinct partition) as parts, "
                              "count(distinct run_id) as runs from lineage group by asset order by asset")
    assert counts.to_dicts() == [
        {"asset": "drop_manifest", "n": 4, "parts": 4, "runs": 4},
        {"asset": "point_maps", "n": 4, "parts": 4, "runs": 4},
    ]
    assert query(data_root, "select count(*) as n from point_maps")["n"][0] == 8
    # each point_maps record names the drop_manifest data version it read
    pairs = query(data_root, """
        select p.partition, json_extract_string(p.input_versions, '$.drop_manifest') = m.data_version as same
        from lineage p join lineage m on m.partition = p.partition and m.asset = 'drop_manifest'
        where p.asset = 'point_maps'""")
    assert pairs["same"].all()
