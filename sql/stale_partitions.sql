-- Which partitions of which asset are stale, and why (Dagster's asset-level stale view ignores
-- partitions; this answers per partition). Expects what `hispatial status` fills in from the loaded
-- Definitions, Dagster's records and a check of the recorded output files:
--   current_assets(asset VARCHAR, code_version VARCHAR)
--   asset_deps(asset VARCHAR, upstream VARCHAR)
--   drop_partitions(partition VARCHAR)
--   latest: the view of recorded_lineage.sql (the lineage of Dagster's current materializations)
--   damaged(asset VARCHAR, partition VARCHAR, reason VARCHAR): outputs missing or changed on disk
-- Reasons: missing; lineage record missing; output missing / damaged; code version changed;
-- upstream data version changed; upstream stale.
WITH RECURSIVE
expected AS (
    SELECT a.asset, a.code_version, p.partition FROM current_assets a CROSS JOIN drop_partitions p
),
upstream_changed AS (
    SELECT d.asset, l.partition,
           string_agg(d.upstream || ' ' || coalesce(json_extract_string(l.input_versions, '$."' || d.upstream || '"'), '?')
                      || ' -> ' || u.data_version, '; ' ORDER BY d.upstream) AS detail
    FROM asset_deps d
    JOIN latest l ON l.asset = d.asset
    JOIN latest u ON u.asset = d.upstream AND u.partition = l.partition
    WHERE coalesce(json_extract_string(l.input_versions, '$."' || d.upstream || '"'), '') <> u.data_version
    GROUP BY d.asset, l.partition
),
direct AS (
    SELECT e.asset, e.partition,
        CASE
            WHEN r.asset IS NULL THEN 'missing'
            WHEN l.asset IS NULL THEN 'lineage record missing (run ' || r.run_id || ')'
            WHEN dm.reason IS NOT NULL THEN dm.reason
            WHEN l.code_version <> e.code_version THEN 'code version changed: ' || l.code_version || ' -> ' || e.code_version
            WHEN uc.detail IS NOT NULL THEN 'upstream data changed: ' || uc.detail
        END AS reason
    FROM expected e
    LEFT JOIN recorded r ON r.asset = e.asset AND r.partition = e.partition
    LEFT JOIN latest l ON l.asset = e.asset AND l.partition = e.partition
    LEFT JOIN damaged dm ON dm.asset = e.asset AND dm.partition = e.partition
    LEFT JOIN upstream_changed uc ON uc.asset = e.asset AND uc.partition = e.partition
),
stale(asset, partition, reason, depth) AS (
    SELECT asset, partition, reason, 0 FROM direct WHERE reason IS NOT NULL
    UNION ALL
    SELECT d.asset, s.partition, 'upstream stale: ' || s.asset, s.depth + 1
    FROM stale s JOIN asset_deps d ON d.upstream = s.asset
    WHERE s.depth < 16
)
SELECT asset, partition, arg_min(reason, depth) AS reason
FROM stale
GROUP BY asset, partition
ORDER BY partition, asset;
