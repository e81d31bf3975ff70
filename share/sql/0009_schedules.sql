-- Report schedules (DESIGN 6): a cron expression in an IANA zone, the report
-- it generates, and one row per fire time in schedule_runs, whose unique key
-- (schedule_id, fire_time) makes a fire time run exactly once however many
-- daemons share the database.

CREATE TABLE dm.schedules (
  id           bigserial PRIMARY KEY,
  name         text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 200),
  cron         text NOT NULL CHECK (cron <> ''),
  tz           text NOT NULL CHECK (tz <> ''),
  report_type  text NOT NULL CHECK (report_type IN ('performance', 'engagement', 'learning', 'business')),
  period       text NOT NULL CHECK (period IN ('today', 'yesterday', 'last-7d', 'last-30d', 'this-month', 'last-month')),
  formats      text[] NOT NULL CHECK (cardinality(formats) >= 1 AND formats <@ ARRAY['json', 'csv', 'pdf']),
  -- Reports of this schedule to keep; NULL: only reports.keep_days applies.
  keep         integer CHECK (keep >= 1),
  notify       text[] NOT NULL DEFAULT '{}',
  catchup      text NOT NULL DEFAULT 'last' CHECK (catchup IN ('none', 'last')),
  enabled      boolean NOT NULL DEFAULT true,
  -- The fire time the runner claims next (UPDATE ... WHERE next_run_at = $seen);
  -- NULL while disabled.
  next_run_at  timestamptz,
  last_run_at  timestamptz,
  created_at   timestamptz NOT NULL DEFAULT now(),
  -- 'config': created from [reporting_schedule]; 'user': by a person.
  source       text NOT NULL DEFAULT 'user' CHECK (source IN ('user', 'config'))
);
CREATE INDEX schedules_due ON dm.schedules (next_run_at) WHERE enabled;

CREATE TABLE dm.schedule_runs (
  id              bigserial PRIMARY KEY,
  schedule_id     bigint NOT NULL REFERENCES dm.schedules (id) ON DELETE CASCADE,
  fire_time       timestamptz NOT NULL,
  started_at      timestamptz,
  finished_at     timestamptz,
  status          text NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'missed')),
  error           text,
  report_ids      bigint[] NOT NULL DEFAULT '{}',
  delivery_status text CHECK (delivery_status IN ('none', 'pending', 'sent', 'failed')),
  delivery_error  text,
  attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  UNIQUE (schedule_id, fire_time)
);
