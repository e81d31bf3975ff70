-- Report and ingest speed (DESIGN 14: each report type under a second on 90
-- days; ingest at >= 0.8 x the speed of a bare COPY).
--
-- Session counters and activity hours, so that the engagement report never
-- scans dm.learning_sessions. Written by ingest in the same transaction as
-- the raw rows, from its in-memory session aggregates and the sessions'
-- previous spans. A session is counted where its first event is (its span
-- [first_ts, last_ts] as dm.learning_sessions holds it, merged over every
-- file), and is attributed to dm.learning_sessions.user_id, which from now on
-- is the user of the session's earliest event. When a later file moves a
-- session's first or last event, ingest takes the old span's counts back and
-- adds the new.
--
-- Each user's answers per topic and hour packed into one row (topics by id,
-- dm.topics), for the learning report over part of a long history.
--
-- BRIN indexes instead of primary keys on the hourly rollups (at the end).

-- sessions: sessions of the user whose first event is in this hour.
ALTER TABLE dm.learning_user_hourly ADD COLUMN sessions integer NOT NULL DEFAULT 0;

-- hours: bit h set when the user had an event in UTC hour h of the day, so
-- local days of any whole-hour zone are exact from one row per UTC day;
-- sessions: sessions of the user whose first event is in this UTC day.
ALTER TABLE dm.user_active_days ADD COLUMN hours integer NOT NULL DEFAULT 0,
                                ADD COLUMN sessions integer NOT NULL DEFAULT 0;

-- Per UTC hour: sessions whose first event is in the hour (started, with the
-- summed span last_ts - first_ts in microseconds) and sessions whose last
-- event is in it (ended). Sessions open at an instant = started before it -
-- ended before it.
CREATE TABLE dm.learning_session_hours (
  hour    timestamptz PRIMARY KEY,
  started bigint NOT NULL,
  ended   bigint NOT NULL,
  span_us bigint NOT NULL
);

-- Sessions of 12 hours or more: the few whose span can cover a whole local
-- day or reach far across a period's bound, which reports read one by one.
CREATE INDEX learning_sessions_long ON dm.learning_sessions (last_ts)
  WHERE last_ts - first_ts >= interval '12 hours';

UPDATE dm.learning_user_hourly u SET sessions = s.n
FROM (SELECT user_id, date_trunc('hour', first_ts AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS hour, count(*) AS n
      FROM dm.learning_sessions GROUP BY 1, 2) s
WHERE u.hour = s.hour AND u.user_id = s.user_id;

UPDATE dm.user_active_days d SET hours = h.mask
FROM (SELECT user_id, (hour AT TIME ZONE 'UTC')::date AS day,
             bit_or(1 << extract(hour FROM hour AT TIME ZONE 'UTC')::int) AS mask
      FROM dm.learning_user_hourly GROUP BY 1, 2) h
WHERE d.user_id = h.user_id AND d.day = h.day;

UPDATE dm.user_active_days d SET sessions = s.n
FROM (SELECT user_id, (first_ts AT TIME ZONE 'UTC')::date AS day, count(*) AS n
      FROM dm.learning_sessions GROUP BY 1, 2) s
WHERE d.user_id = s.user_id AND d.day = s.day;

INSERT INTO dm.learning_session_hours (hour, started, ended, span_us)
SELECT hour, sum(started), sum(ended), sum(span_us)
FROM (SELECT date_trunc('hour', first_ts AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS hour, 1 AS started, 0 AS ended,
             (extract(epoch FROM last_ts - first_ts) * 1000000)::int8 AS span_us
      FROM dm.learning_sessions
      UNION ALL
      SELECT date_trunc('hour', last_ts AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', 0, 1, 0 FROM dm.learning_sessions) s
GROUP BY hour;

-- Topic names by a small id, for packed rollups (ids are assigned by ingest
-- the first time it meets a topic, in the same transaction).
CREATE TABLE dm.topics (
  id   integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name text COLLATE "C" NOT NULL UNIQUE
);

-- Each user's answers per topic in an hour, packed into one row: the
-- learning report's users and struggling users per topic read a period's
-- rows here, several times fewer than learning_hourly's (one per user, hour
-- and topic). topics: for every topic with answers ('' left out),
-- "id:answered:correct" (decimal; id in dm.topics), separated by spaces;
-- text, because reports stream it and text costs PostgreSQL nothing to
-- output. Appended by every ingest for the hours of its file and never
-- merged: a user and hour may have several rows, which add up.
CREATE TABLE dm.user_topic_answers_hourly (
  hour    timestamptz NOT NULL,
  user_id bigint NOT NULL,
  topics  text NOT NULL
);
CREATE INDEX user_topic_answers_hourly_hour ON dm.user_topic_answers_hourly USING brin (hour);

INSERT INTO dm.topics (name)
SELECT DISTINCT topic FROM dm.user_topic_totals ORDER BY 1;

INSERT INTO dm.user_topic_answers_hourly (hour, user_id, topics)
SELECT h.hour, h.user_id, string_agg(concat_ws(':', t.id, h.answered, h.correct), ' ' ORDER BY t.id)
FROM dm.learning_hourly h
JOIN dm.topics t ON t.name = h.topic
WHERE h.answered > 0 AND h.topic <> ''
GROUP BY h.hour, h.user_id ORDER BY h.hour, h.user_id;

-- learning_hourly and learning_user_hourly are read by ranges of hours only
-- (reports), and written hour after hour: BRIN indexes on hour serve those
-- reads, reading only a period's pages, where the primary keys' btrees cost
-- every ingest an index insert per rollup row (most of what these rollups
-- cost). Their keys stay unique because every writer merges under the
-- advisory locks of the hours it writes (lib/dm/rollup: UPDATE of the keys
-- that exist, INSERT of the others).
ALTER TABLE dm.learning_hourly DROP CONSTRAINT learning_hourly_pkey;
ALTER TABLE dm.learning_user_hourly DROP CONSTRAINT learning_user_hourly_pkey;
CREATE INDEX learning_hourly_hour ON dm.learning_hourly USING brin (hour);
CREATE INDEX learning_user_hourly_hour ON dm.learning_user_hourly USING brin (hour);
