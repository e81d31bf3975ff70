-- What the user progress dashboard reads, keyed by user first so that one
-- user's progress is a short index range, never a scan of the hourly rollups.
-- Both are written by ingest in the same transaction as the raw rows.

-- All-time answers per user and topic (question_answered events with a
-- non-empty topic, as the reports count topics).
CREATE TABLE dm.user_topic_totals (
  user_id       bigint NOT NULL,
  topic         text COLLATE "C" NOT NULL,
  answered      bigint NOT NULL,
  correct       bigint NOT NULL,
  sum_answer_ms bigint NOT NULL,
  timed         bigint NOT NULL,
  first_ts      timestamptz NOT NULL,
  last_ts       timestamptz NOT NULL,
  PRIMARY KEY (user_id, topic)
);

-- One row per user and UTC day with any learning event: streaks, daily
-- activity and mock tests.
CREATE TABLE dm.user_active_days (
  user_id       bigint NOT NULL,
  day           date NOT NULL,
  events        integer NOT NULL,
  answered      integer NOT NULL,
  correct       integer NOT NULL,
  mock_attempts integer NOT NULL,
  mock_passes   integer NOT NULL,
  last_ts       timestamptz NOT NULL,
  PRIMARY KEY (user_id, day)
);

INSERT INTO dm.user_topic_totals
SELECT user_id, topic, count(*), count(*) FILTER (WHERE correct), coalesce(sum(answer_ms), 0), count(answer_ms),
       min(ts), max(ts)
FROM dm.learning_events
WHERE kind = 'question_answered' AND topic <> ''
GROUP BY user_id, topic;

INSERT INTO dm.user_active_days
SELECT user_id, (ts AT TIME ZONE 'UTC')::date, count(*), count(*) FILTER (WHERE kind = 'question_answered'),
       count(*) FILTER (WHERE kind = 'question_answered' AND correct),
       count(*) FILTER (WHERE kind = 'mock_test_completed'),
       count(*) FILTER (WHERE kind = 'mock_test_completed' AND score >= 0.86), max(ts)
FROM dm.learning_events
GROUP BY 1, 2;
