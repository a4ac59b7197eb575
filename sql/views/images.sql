-- images: one row per readable image of a drop, all drops (Parquet under tables/images/)
SELECT * FROM read_parquet('{root}/tables/images/**/*.parquet', union_by_name = true, hive_partitioning = false)
