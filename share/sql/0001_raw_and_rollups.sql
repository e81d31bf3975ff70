-- Raw event tables and the rollups written in the same transaction (DESIGN 4).
-- Raw tables are append-only (users is upserted by user_id) and carry only
-- BRIN indexes on time: they are cheap to maintain under COPY, and reports read
-- the rollups unless --exact is asked for.

CREATE TABLE dm.users (
  user_id   bigint PRIMARY KEY,
  signup_at timestamptz,
  country   text,
  platform  text CHECK (platform IN ('ios', 'android', 'web')),
  channel   text CHECK (channel IN ('organic', 'paid_search', 'social', 'referral'))
);
CREATE INDEX users_signup_at ON dm.users (signup_at);

CREATE TABLE dm.learning_events (
  ts         timestamptz NOT NULL,
  user_id    bigint NOT NULL,
  session_id bigint,
  kind       text NOT NULL CHECK (kind IN ('session_start', 'question_answered', 'lesson_completed',
                                           'mock_test_completed', 'session_end')),
  topic      text,
  correct    boolean,
  answer_ms  integer CHECK (answer_ms >= 0),
  score      real CHECK (score BETWEEN 0 AND 1)
);
CREATE INDEX learning_events_ts ON dm.learning_events USING brin (ts);

CREATE TABLE dm.payments (
  ts           timestamptz NOT NULL,
  user_id      bigint NOT NULL,
  kind         text NOT NULL CHECK (kind IN ('subscribe', 'renew', 'cancel', 'refund')),
  plan         text CHECK (plan IN ('monthly', 'quarterly', 'lifetime')),
  amount_cents bigint CHECK (amount_cents >= 0),
  currency     text
);
CREATE INDEX payments_ts ON dm.payments (ts);
CREATE INDEX payments_user_ts ON dm.payments (user_id, ts);

CREATE TABLE dm.request_metrics (
  ts          timestamptz NOT NULL,
  service     text NOT NULL,
  endpoint    text,
  status      smallint NOT NULL CHECK (status BETWEEN 100 AND 599),
  duration_ms real NOT NULL CHECK (duration_ms >= 0)
);
CREATE INDEX request_metrics_ts ON dm.request_metrics USING brin (ts);

CREATE TABLE dm.host_samples (
  ts    timestamptz NOT NULL,
  host  text NOT NULL,
  cpu   real CHECK (cpu BETWEEN 0 AND 1),
  mem   real CHECK (mem BETWEEN 0 AND 1),
  disk  real CHECK (disk BETWEEN 0 AND 1),
  load1 real CHECK (load1 >= 0)
);
CREATE INDEX host_samples_ts ON dm.host_samples (ts);

-- Rollup keys compare bytewise (COLLATE "C"): the upserts and index builds of
-- every ingest compare them, and locale-aware comparison costs several times
-- more without changing which rows match.

-- One row per minute, service and endpoint ('' when the sample had none).
-- sketch: the DDSketch-style histogram of duration_ms (see dm.sketch_merge).
CREATE TABLE dm.request_rollup_1m (
  bucket   timestamptz NOT NULL,
  service  text COLLATE "C" NOT NULL,
  endpoint text COLLATE "C" NOT NULL,
  n        bigint NOT NULL,
  errors   bigint NOT NULL,
  sum_ms   double precision NOT NULL,
  sketch   bytea NOT NULL,
  PRIMARY KEY (bucket, service, endpoint)
);

-- One row per hour, user and topic ('' for events without a topic).
-- timed counts the answers with an answer_ms, so the mean ignores nulls.
-- Counts are per user and hour, so integer holds them; sums over periods are bigint.
CREATE TABLE dm.learning_hourly (
  hour           timestamptz NOT NULL,
  user_id        bigint NOT NULL,
  topic          text COLLATE "C" NOT NULL,
  answered       integer NOT NULL,
  correct        integer NOT NULL,
  sum_answer_ms  bigint NOT NULL,
  timed          integer NOT NULL,
  mock_attempts  integer NOT NULL,
  mock_passes    integer NOT NULL,
  mock_score_sum double precision NOT NULL,
  events         integer NOT NULL,
  PRIMARY KEY (hour, user_id, topic)
);

CREATE TABLE dm.learning_sessions (
  session_id bigint PRIMARY KEY,
  user_id    bigint NOT NULL,
  first_ts   timestamptz NOT NULL,
  last_ts    timestamptz NOT NULL,
  events     bigint NOT NULL
);
CREATE INDEX learning_sessions_first_ts ON dm.learning_sessions USING brin (first_ts);
CREATE INDEX learning_sessions_user ON dm.learning_sessions (user_id);
