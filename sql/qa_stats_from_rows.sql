-- QA statistics computed from the rows of the `qa` view: the definition that sql/qa_stats.sql
-- reproduces from the per-drop summaries (`qa_summary`, qa/summary.py) without scanning any row.
-- Same views, same columns (numeric quantiles here exact, there at 1 cm). A test holds the two
-- to agree, and benchmarks/bench_qa_stats.py times both over 10^8 rows.
--
-- One script, several statements: it defines TEMP views and ends with a SELECT (the CLI prints the
-- last result):
--   qa_counts_by_drop      rows per drop, level, task, format (images: distinct images of the drop)
--   qa_yes_share           boolean rows: yes share per task (balanced generation: ~0.5)
--   qa_choice_letters      choice rows: share of each answer letter per task and option count (~1/k)
--   qa_numeric_quantiles   free numeric answers: quantiles of the value in meters per task
--   qa_counts              rows per level, task, format (images: distinct (drop, image) pairs)
-- Temp views live in the connection only, so this runs on a read-only catalog.

CREATE OR REPLACE TEMP VIEW qa_counts_by_drop AS
SELECT drop_id, level, task, format, count(*) AS n, count(DISTINCT image_id) AS images
FROM qa GROUP BY ALL ORDER BY drop_id, level, task, format;

CREATE OR REPLACE TEMP VIEW qa_yes_share AS
SELECT level, task, count(*) AS n,
       avg(CASE WHEN json_extract_string(answer_value, '$.bool') = 'true' THEN 1.0 ELSE 0.0 END) AS yes_share
FROM qa WHERE format = 'boolean' GROUP BY ALL ORDER BY level, task;

CREATE OR REPLACE TEMP VIEW qa_choice_letters AS
WITH c AS (
    SELECT level, task, json_extract_string(answer_value, '$.choice') AS letter,
           json_array_length(answer_value, '$.options') AS n_options
    FROM qa WHERE format = 'choice'
)
SELECT level, task, n_options, letter, count(*) AS n,
       count(*) / sum(count(*)) OVER (PARTITION BY level, task, n_options) AS share
FROM c GROUP BY level, task, n_options, letter ORDER BY level, task, n_options, letter;

CREATE OR REPLACE TEMP VIEW qa_numeric_quantiles AS
WITH v AS (
    SELECT level, task,
           coalesce(TRY_CAST(json_extract_string(answer_value, '$.meters') AS DOUBLE),
                    TRY_CAST(json_extract_string(answer_value, '$.value') AS DOUBLE)) AS meters
    FROM qa WHERE format = 'free'
)
SELECT level, task, count(*) AS n, min(meters) AS min_m,
       quantile_cont(meters, 0.25) AS p25_m, quantile_cont(meters, 0.5) AS median_m,
       quantile_cont(meters, 0.75) AS p75_m, max(meters) AS max_m
FROM v WHERE meters IS NOT NULL GROUP BY ALL ORDER BY level, task;

CREATE OR REPLACE TEMP VIEW qa_counts AS
SELECT level, task, format, count(*) AS n, count(DISTINCT (drop_id, image_id)) AS images,
       count(DISTINCT drop_id) AS drops
FROM qa GROUP BY ALL ORDER BY level, task, format;

SELECT * FROM qa_counts;
