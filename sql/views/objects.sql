-- objects: one row per record, all drops (Parquet under tables/objects/)
SELECT * FROM read_parquet('{root}/tables/objects/**/*.parquet', union_by_name = true, hive_partitioning = false)
