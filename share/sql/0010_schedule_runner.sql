-- The schedule runner (DESIGN 6): who is running a schedule_run and whether it
-- is still alive, what started it, and the schedule_missed condition.

ALTER TABLE dm.schedule_runs
  -- 'cron': its fire time came; 'catchup': one run for fire times that passed
  -- while no daemon ran (catchup = last); 'manual': `schedule run` or
  -- POST /schedules/:id/run.
  ADD COLUMN trigger       text NOT NULL DEFAULT 'cron' CHECK (trigger IN ('cron', 'catchup', 'manual')),
  -- host:pid of the process running it, and when that process last said it
  -- was still at work: a run whose process died is recorded as failed.
  ADD COLUMN runner        text,
  ADD COLUMN heartbeat_at  timestamptz,
  -- Fire times this run stands for beyond its own (catch-up), or that were
  -- skipped (status 'missed', catchup = none).
  ADD COLUMN skipped       integer NOT NULL DEFAULT 0 CHECK (skipped >= 0);

-- At most one run of a schedule at a time.
CREATE UNIQUE INDEX schedule_runs_one_running ON dm.schedule_runs (schedule_id) WHERE status = 'running';
CREATE INDEX schedule_runs_by_schedule ON dm.schedule_runs (schedule_id, fire_time DESC);

ALTER TABLE dm.schedules
  -- Set while the schedule has not succeeded within twice its interval (the
  -- schedule_missed condition); cleared by its next success.
  ADD COLUMN missed_since  timestamptz,
  -- The latest successful run's finish.
  ADD COLUMN last_success_at timestamptz;
