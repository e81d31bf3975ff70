-- Indexes for how the reports and ingest use the rollups.

-- No query reads learning_sessions by user: reports group whole ranges of
-- sessions and the user progress dashboard reads user_topic_totals and
-- user_active_days. Its index on user_id cost about a third of every
-- ingest's session upsert (random inserts into a btree), so it goes.
DROP INDEX dm.learning_sessions_user;

-- user_active_days is keyed user first (the dashboard reads one user); the
-- reports read ranges of days. Ingests append each file's days together,
-- so a BRIN index on day skips the history outside a report's period for
-- almost nothing per ingest, as the raw tables' BRIN indexes on ts do.
CREATE INDEX user_active_days_day ON dm.user_active_days USING brin (day);
