-- The figures of a run that the analytics page and the dashboards show
-- (segment sizes and moves, the R × FM grid, churn bands, the CLV
-- distribution), counted by the run as it writes its rows: at a million
-- customers each is otherwise a pass over the run's table of seconds.
-- JSON, see store.RunAggregates; '{}' for runs before this column.
ALTER TABLE analytics_runs ADD COLUMN aggregates TEXT NOT NULL DEFAULT '{}';
