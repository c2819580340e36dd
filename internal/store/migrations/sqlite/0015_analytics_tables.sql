-- Each recompute run writes its customer scores into a table of its own,
-- customer_scores_r<run id> (store.CreateScoreTable), in contact order and
-- without secondary indexes, which are built once the table is complete;
-- the run that replaces it drops the table of the run before the previous
-- one. This replaces the one customer_scores table of 0011, whose random
-- index inserts and row-by-row deletes took minutes at a million
-- customers. customer_scores is now a view of the table of the run in use
-- (analytics_current), switched with it in one transaction; until the first
-- run it is empty. Its columns are those of 0011. The results stored in
-- the old table go with it: the next run computes them again (until then
-- the analytics say they have not been computed).

DROP TABLE customer_scores;
DELETE FROM analytics_current;
UPDATE analytics_runs SET cleared = TRUE;
CREATE VIEW customer_scores AS SELECT
    CAST(NULL AS INTEGER) AS run_id,
    CAST(NULL AS INTEGER) AS contact_id,
    CAST(NULL AS TEXT) AS currency,
    CAST(NULL AS INTEGER) AS orders_n,
    CAST(NULL AS INTEGER) AS total_spent,
    CAST(NULL AS TIMESTAMP) AS first_order_at,
    CAST(NULL AS TIMESTAMP) AS last_order_at,
    CAST(NULL AS INTEGER) AS frequency,
    CAST(NULL AS REAL) AS recency,
    CAST(NULL AS REAL) AS age,
    CAST(NULL AS INTEGER) AS monetary_value,
    CAST(NULL AS INTEGER) AS recency_days,
    CAST(NULL AS INTEGER) AS r_score,
    CAST(NULL AS INTEGER) AS f_score,
    CAST(NULL AS INTEGER) AS m_score,
    CAST(NULL AS TEXT) AS rfm_cell,
    CAST(NULL AS TEXT) AS segment,
    CAST(NULL AS TEXT) AS prev_segment,
    CAST(NULL AS REAL) AS p_alive,
    CAST(NULL AS REAL) AS churn_risk,
    CAST(NULL AS TEXT) AS churn_band,
    CAST(NULL AS REAL) AS expected_purchases,
    CAST(NULL AS INTEGER) AS expected_value,
    CAST(NULL AS INTEGER) AS clv
WHERE 0;
