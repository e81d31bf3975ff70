-- Alerts (DESIGN 7): rules, the alerts they raise and every transition of an
-- alert. The evaluator keeps no state of its own: an open alert (pending or
-- firing) is the state of its rule between two evaluations.

CREATE TABLE dm.alert_rules (
  id            bigserial PRIMARY KEY,
  name          text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 200),
  kind          text NOT NULL DEFAULT 'threshold' CHECK (kind IN ('threshold', 'anomaly')),
  metric        text NOT NULL CHECK (metric IN ('p95_ms', 'p99_ms', 'error_rate', 'rps', 'active_users',
                                                'cpu', 'mem', 'disk', 'load1')),
  -- Service label of the request metrics; NULL: every service.
  service       text CHECK (service IS NULL OR (service <> '' AND metric IN ('p95_ms', 'p99_ms', 'error_rate', 'rps'))),
  -- Threshold rules only; anomaly rules keep what they were given and ignore it.
  op            text NOT NULL DEFAULT '>' CHECK (op IN ('>', '<')),
  threshold     double precision NOT NULL DEFAULT 0 CHECK (threshold NOT IN ('NaN', 'Infinity', '-Infinity')),
  -- Seconds the condition must hold before the alert fires (pending until then).
  for_s         integer NOT NULL DEFAULT 60 CHECK (for_s >= 0),
  -- Seconds the condition must stay clear before a firing alert resolves.
  resolve_for_s integer NOT NULL DEFAULT 300 CHECK (resolve_for_s >= 0),
  severity      text NOT NULL DEFAULT 'medium' CHECK (severity IN ('low', 'medium', 'high', 'critical')),
  -- Anomaly rules: the detector's sensitivity, 0 (fewest alarms) .. 1.
  sensitivity   double precision CHECK (sensitivity BETWEEN 0 AND 1),
  -- The metric is computed over [at - window_s, at).
  window_s      integer NOT NULL DEFAULT 300 CHECK (window_s > 0),
  enabled       boolean NOT NULL DEFAULT true,
  -- 'config': made from [dashboard.alert_thresholds]; 'user': by a person.
  source        text NOT NULL DEFAULT 'user' CHECK (source IN ('user', 'config')),
  created_at    timestamptz NOT NULL DEFAULT now(),
  CHECK (kind <> 'anomaly' OR sensitivity IS NOT NULL)
);

CREATE TABLE dm.alerts (
  id              bigserial PRIMARY KEY,
  -- What the alert is about: 'rule:<rule id>' or 'schedule_missed:<schedule id>'.
  -- At most one open (pending or firing) alert per key.
  key             text NOT NULL CHECK (key <> ''),
  rule_id         bigint REFERENCES dm.alert_rules (id) ON DELETE SET NULL,
  -- Copied from the rule when the alert opened, so history survives the rule.
  rule_name       text NOT NULL,
  metric          text NOT NULL,
  service         text,
  severity        text NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
  state           text NOT NULL CHECK (state IN ('pending', 'firing', 'resolved')),
  -- The metric at the alert's latest pending or firing transition (NULL: no data).
  value           double precision,
  threshold       double precision,
  started_at      timestamptz NOT NULL,
  firing_at       timestamptz,
  resolved_at     timestamptz,
  -- While firing: the first evaluation since which the condition has been
  -- clear (NULL while it holds); the alert resolves resolve_for_s after it.
  clear_since     timestamptz,
  acknowledged_by text,
  acknowledged_at timestamptz,
  message         text NOT NULL DEFAULT '',
  CHECK (state <> 'firing' OR firing_at IS NOT NULL),
  CHECK (state <> 'resolved' OR resolved_at IS NOT NULL),
  CHECK ((acknowledged_by IS NULL) = (acknowledged_at IS NULL))
);
CREATE UNIQUE INDEX alerts_one_open ON dm.alerts (key) WHERE state IN ('pending', 'firing');
CREATE INDEX alerts_started_at ON dm.alerts (started_at DESC, id DESC);
CREATE INDEX alerts_state_started_at ON dm.alerts (state, started_at DESC);
CREATE INDEX alerts_rule ON dm.alerts (rule_id);

CREATE TABLE dm.alert_events (
  id         bigserial PRIMARY KEY,
  alert_id   bigint NOT NULL REFERENCES dm.alerts (id) ON DELETE CASCADE,
  at         timestamptz NOT NULL,
  -- 'inactive' for the transition that opened the alert; an acknowledgement
  -- goes from the alert's state at that moment to 'acknowledged'.
  from_state text NOT NULL CHECK (from_state IN ('inactive', 'pending', 'firing', 'resolved')),
  to_state   text NOT NULL CHECK (to_state IN ('pending', 'firing', 'resolved', 'acknowledged')),
  value      double precision,
  -- Who acknowledged; NULL for the evaluator's transitions.
  actor      text
);
CREATE INDEX alert_events_alert ON dm.alert_events (alert_id, at, id);
