-- latest: per (asset, partition), the lineage record of the materialization Dagster holds as current.
-- Dagster's record is the truth about what exists; the lineage files are the log. A lineage file
-- whose run Dagster never recorded (a run killed between the two writes) is left out.
-- Expects the temp table recorded(asset VARCHAR, partition VARCHAR, run_id VARCHAR).
CREATE TEMP VIEW latest AS
SELECT l.*
FROM lineage l
JOIN recorded r ON r.asset = l.asset AND r.partition = l.partition AND r.run_id = l.run_id
WHERE l.partition <> ''
QUALIFY row_number() OVER (PARTITION BY l.asset, l.partition ORDER BY l.finished_at DESC) = 1;
