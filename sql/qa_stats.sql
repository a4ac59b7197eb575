-- QA statistics over all drops, from the per-drop summaries written with every QA level
-- (`qa_summary`, see hispatial_assets/qa/summary.py): a few hundred rows per drop and level, so this
-- takes well under a second at 10^8 QA rows where scanning the rows takes minutes
-- (benchmarks/README.md). sql/qa_stats_from_rows.sql computes the same from the rows.
--
-- One script, several statements: it defines TEMP views and ends with a SELECT, so
-- `hispatial sql sql/qa_stats.sql` prints the per-level, per-task, per-format counts (the CLI prints
-- the last result). In the same connection the views can then be queried one by one:
--   qa_counts_by_drop      rows per drop, level, task, format (images: distinct images of the drop)
--   qa_yes_share           boolean rows: yes share per task (balanced generation: ~0.5)
--   qa_choice_letters      choice rows: share of each answer letter per task and option count (~1/k)
--   qa_numeric_quantiles   free numeric answers: quantiles of the value in meters per task (min and
--                          max exact, quantiles over values rounded to the centimetre)
--   qa_counts              rows per level, task, format (images: distinct (drop, image) pairs)
-- Temp views live in the connection only, so this runs on a read-only catalog.

-- The summaries are read once (every view below reads this table, not the files).
CREATE OR REPLACE TEMP TABLE qa_summary_rows AS SELECT * FROM qa_summary;

CREATE OR REPLACE TEMP VIEW qa_counts_by_drop AS
SELECT drop_id, level, task, format, n, images
FROM qa_summary_rows WHERE stat = 'rows' ORDER BY drop_id, level, task, format;

CREATE OR REPLACE TEMP VIEW qa_yes_share AS
SELECT level, task, sum(n) FILTER (WHERE stat = 'rows')::BIGINT AS n,
       sum(n) FILTER (WHERE stat = 'yes') / sum(n) FILTER (WHERE stat = 'rows') AS yes_share
FROM qa_summary_rows WHERE format = 'boolean' AND stat IN ('rows', 'yes') GROUP BY ALL ORDER BY level, task;

CREATE OR REPLACE TEMP VIEW qa_choice_letters AS
SELECT level, task, n_options, key AS letter, sum(n)::BIGINT AS n,
       sum(n) / sum(sum(n)) OVER (PARTITION BY level, task, n_options) AS share
FROM qa_summary_rows WHERE stat = 'letter' GROUP BY level, task, n_options, key ORDER BY level, task, n_options, letter;

CREATE OR REPLACE TEMP VIEW qa_numeric_quantiles AS
WITH bins AS (  -- how many answers had each centimetre value, over all drops
    SELECT level, task, value, sum(n) AS n FROM qa_summary_rows WHERE stat = 'meters_cm' GROUP BY ALL
), ranked AS (  -- the answers of a bin hold 0-based positions [first, first + n) in value order
    SELECT *, sum(n) OVER (PARTITION BY level, task ORDER BY value ROWS UNBOUNDED PRECEDING) - n AS first,
           sum(n) OVER (PARTITION BY level, task) AS total
    FROM bins
), positions AS (  -- quantile_cont: position (total - 1) * q, interpolated between its neighbours
    SELECT DISTINCT level, task, q, (total - 1) * q AS h FROM ranked, (SELECT unnest([0.25, 0.5, 0.75]) AS q)
), quantiles AS (
    SELECT p.level, p.task, p.q,
           any_value(r.value) FILTER (WHERE floor(p.h) >= r.first AND floor(p.h) < r.first + r.n) AS lo,
           any_value(r.value) FILTER (WHERE ceil(p.h) >= r.first AND ceil(p.h) < r.first + r.n) AS hi,
           any_value(p.h) AS h
    FROM positions p JOIN ranked r USING (level, task) GROUP BY p.level, p.task, p.q
), extremes AS (
    SELECT level, task, sum(n) FILTER (WHERE stat = 'min')::BIGINT AS n,
           min(value) FILTER (WHERE stat = 'min') AS min_m, max(value) FILTER (WHERE stat = 'max') AS max_m
    FROM qa_summary_rows WHERE stat IN ('min', 'max') GROUP BY ALL
)
SELECT e.level, e.task, e.n, e.min_m,
       any_value(lo + (h - floor(h)) * (hi - lo)) FILTER (WHERE q = 0.25) AS p25_m,
       any_value(lo + (h - floor(h)) * (hi - lo)) FILTER (WHERE q = 0.5) AS median_m,
       any_value(lo + (h - floor(h)) * (hi - lo)) FILTER (WHERE q = 0.75) AS p75_m,
       e.max_m
FROM extremes e JOIN quantiles USING (level, task) GROUP BY e.level, e.task, e.n, e.min_m, e.max_m
ORDER BY level, task;

CREATE OR REPLACE TEMP VIEW qa_counts AS
SELECT level, task, format, sum(n)::BIGINT AS n, sum(images)::BIGINT AS images, count(DISTINCT drop_id) AS drops
FROM qa_summary_rows WHERE stat = 'rows' GROUP BY ALL ORDER BY level, task, format;

SELECT * FROM qa_counts;
