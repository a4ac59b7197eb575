-- qa: every synthesized question of every level (tables/qa/drop_id=*/level=*/part.parquet)
SELECT * FROM read_parquet('{root}/tables/qa/**/*.parquet', union_by_name = true, hive_partitioning = false)
