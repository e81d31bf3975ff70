-- Generated reports (DESIGN 5): metadata, and one artifact per format, so that
-- every daemon can serve every report and retention is a DELETE.

CREATE TABLE dm.reports (
  id           bigserial PRIMARY KEY,
  type         text NOT NULL CHECK (type IN ('performance', 'engagement', 'learning', 'business')),
  params       jsonb NOT NULL,
  -- Canonical text of type and parameters: reports with the same key are
  -- versions of one another.
  params_key   text NOT NULL,
  period_from  timestamptz NOT NULL,
  period_to    timestamptz NOT NULL,
  tz           text NOT NULL,
  version      integer NOT NULL,
  status       text NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
  source       text,
  started_at   timestamptz NOT NULL DEFAULT now(),
  finished_at  timestamptz,
  error        text,
  schedule_id  bigint,
  -- host:pid of the generating process, so a run whose process died is
  -- found and recorded as failed instead of staying 'running'.
  runner       text,
  kpis         jsonb,
  UNIQUE (params_key, version)
);
CREATE INDEX reports_type_started ON dm.reports (type, started_at DESC);
CREATE INDEX reports_finished ON dm.reports (finished_at);

CREATE TABLE dm.report_artifacts (
  report_id bigint NOT NULL REFERENCES dm.reports (id) ON DELETE CASCADE,
  format    text NOT NULL CHECK (format IN ('json', 'csv', 'pdf')),
  content   bytea NOT NULL,
  size      bigint NOT NULL,
  sha256    text NOT NULL,
  PRIMARY KEY (report_id, format)
);
