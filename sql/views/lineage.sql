-- lineage: one record per materialization (asset, partition, run, versions, rows, timings)
SELECT * FROM read_parquet('{root}/lineage/**/*.parquet', union_by_name = true, hive_partitioning = false)
