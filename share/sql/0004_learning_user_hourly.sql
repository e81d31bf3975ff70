-- One row per user and hour: what engagement reports need (active users per
-- day and week, cohorts, segments) without the topic split of
-- learning_hourly, which holds several times more rows.
CREATE TABLE dm.learning_user_hourly (
  hour     timestamptz NOT NULL,
  user_id  bigint NOT NULL,
  events   integer NOT NULL,
  answered integer NOT NULL,
  correct  integer NOT NULL,
  PRIMARY KEY (hour, user_id)
);

INSERT INTO dm.learning_user_hourly (hour, user_id, events, answered, correct)
SELECT hour, user_id, sum(events), sum(answered), sum(correct) FROM dm.learning_hourly GROUP BY hour, user_id;
