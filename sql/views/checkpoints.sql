-- checkpoints: one row per saved checkpoint of a recipe (tables/checkpoints/recipe=*/part.parquet)
SELECT * FROM read_parquet('{root}/tables/checkpoints/**/*.parquet', union_by_name = true, hive_partitioning = false)
