-- sft: the training rows of every recipe, with the split of their drop (tables/sft/recipe=*/part.parquet)
SELECT * FROM read_parquet('{root}/tables/sft/**/*.parquet', union_by_name = true, hive_partitioning = false)
