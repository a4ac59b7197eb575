-- qa_summary: per-drop, per-level QA statistics that merge across drops (qa/summary.py; read by sql/qa_stats.sql)
SELECT * FROM read_parquet('{root}/tables/qa_summary/**/*.parquet', union_by_name = true, hive_partitioning = false)
