-- point_maps: one row per record, all drops (Parquet under tables/point_maps/)
SELECT * FROM read_parquet('{root}/tables/point_maps/**/*.parquet', union_by_name = true, hive_partitioning = false)
