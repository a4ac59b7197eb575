-- gravity: one row per record, all drops (Parquet under tables/gravity/)
SELECT * FROM read_parquet('{root}/tables/gravity/**/*.parquet', union_by_name = true, hive_partitioning = false)
