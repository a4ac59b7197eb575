-- qa_summary: per-drop, per-level QA statistics that merge across drops (qa/summary.py; read by sql/qa_stats.sql).
-- One small file per drop and level, all with the same columns: union_by_name would read every file's
-- footer when a query is bound, which at thousands of drops costs more than the statistics themselves.
SELECT * FROM read_parquet('{root}/tables/qa_summary/**/*.parquet', union_by_name = false, hive_partitioning = false)
