-- rejected: one row per record, all drops (Parquet under tables/rejected/)
SELECT * FROM read_parquet('{root}/tables/rejected/**/*.parquet', union_by_name = true, hive_partitioning = false)
