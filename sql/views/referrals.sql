-- referrals: one row per record, all drops (Parquet under tables/referrals/)
SELECT * FROM read_parquet('{root}/tables/referrals/**/*.parquet', union_by_name = true, hive_partitioning = false)
