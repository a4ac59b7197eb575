-- gt_objects: one row per record, all drops (Parquet under tables/gt_objects/)
SELECT * FROM read_parquet('{root}/tables/gt_objects/**/*.parquet', union_by_name = true, hive_partitioning = false)
