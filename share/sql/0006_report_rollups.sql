-- Coarser rollups for the reports (DESIGN 14: each report type under a
-- second on 90 days). Written by ingest in the same transaction as the raw
-- rows, folded from the same in-memory aggregates as the finer rollups, so
-- they add no work per raw row. Reports use them only where they are exact:
-- bounds on whole hours (and whole UTC days for the daily one).

-- Answers and mock tests per hour and topic ('' for events without a topic),
-- without the user split of learning_hourly: the learning report's KPIs and
-- per-topic sums read about 12 rows per hour instead of thousands.
CREATE TABLE dm.learning_topic_hourly (
  hour          timestamptz NOT NULL,
  topic         text COLLATE "C" NOT NULL,
  answered      bigint NOT NULL,
  correct       bigint NOT NULL,
  sum_answer_ms bigint NOT NULL,
  timed         bigint NOT NULL,
  mock_attempts bigint NOT NULL,
  mock_passes   bigint NOT NULL,
  events        bigint NOT NULL,
  PRIMARY KEY (hour, topic)
);

INSERT INTO dm.learning_topic_hourly
SELECT hour, topic, sum(answered), sum(correct), sum(sum_answer_ms), sum(timed), sum(mock_attempts),
       sum(mock_passes), sum(events)
FROM dm.learning_hourly GROUP BY hour, topic;

-- Request rollups of request_rollup_1m's shape (same sketch form, merged by
-- dm.sketch_merge) per hour and per UTC day, and per hour over every series.
-- A 90-day performance report merges about 1,400 daily sketches per period
-- and 2,200 hourly totals for its timeline instead of 1.9 million minute rows;
-- request_rollup_1h covers the hours of a period outside whole UTC days.
CREATE TABLE dm.request_rollup_1h (
  hour     timestamptz NOT NULL,
  service  text COLLATE "C" NOT NULL,
  endpoint text COLLATE "C" NOT NULL,
  n        bigint NOT NULL,
  errors   bigint NOT NULL,
  sum_ms   double precision NOT NULL,
  sketch   bytea NOT NULL,
  PRIMARY KEY (hour, service, endpoint)
);

-- day: the UTC midnight starting the day.
CREATE TABLE dm.request_rollup_1d (
  day      timestamptz NOT NULL,
  service  text COLLATE "C" NOT NULL,
  endpoint text COLLATE "C" NOT NULL,
  n        bigint NOT NULL,
  errors   bigint NOT NULL,
  sum_ms   double precision NOT NULL,
  sketch   bytea NOT NULL,
  PRIMARY KEY (day, service, endpoint)
);

CREATE TABLE dm.request_totals_1h (
  hour   timestamptz PRIMARY KEY,
  n      bigint NOT NULL,
  errors bigint NOT NULL,
  sum_ms double precision NOT NULL,
  sketch bytea NOT NULL
);

INSERT INTO dm.request_rollup_1h
SELECT date_trunc('hour', bucket AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', service, endpoint, sum(n), sum(errors),
       sum(sum_ms), dm.sketch_merge_all(array_agg(sketch))
FROM dm.request_rollup_1m GROUP BY 1, 2, 3;

INSERT INTO dm.request_rollup_1d
SELECT date_trunc('day', hour AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', service, endpoint, sum(n), sum(errors),
       sum(sum_ms), dm.sketch_merge_all(array_agg(sketch))
FROM dm.request_rollup_1h GROUP BY 1, 2, 3;

INSERT INTO dm.request_totals_1h
SELECT hour, sum(n), sum(errors), sum(sum_ms), dm.sketch_merge_all(array_agg(sketch))
FROM dm.request_rollup_1h GROUP BY 1;

-- Host samples per hour and host: the performance report's CPU average and
-- maxima, and its saturated hosts, without reading every sample.
CREATE TABLE dm.host_hourly (
  hour    timestamptz NOT NULL,
  host    text COLLATE "C" NOT NULL,
  cpu_n   bigint NOT NULL,
  cpu_sum double precision NOT NULL,
  cpu_max real,
  mem_max real,
  disk_max real,
  PRIMARY KEY (hour, host)
);

INSERT INTO dm.host_hourly
SELECT date_trunc('hour', ts AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', host, count(cpu), coalesce(sum(cpu::float8), 0),
       max(cpu), max(mem), max(disk)
FROM dm.host_samples GROUP BY 1, 2;
