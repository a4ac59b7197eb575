-- eval_scores: per recipe (or baseline), benchmark, category and metric (tables/eval_scores/recipe=*/benchmark=*/part.parquet)
SELECT * FROM read_parquet('{root}/tables/eval_scores/**/*.parquet', union_by_name = true, hive_partitioning = false)
