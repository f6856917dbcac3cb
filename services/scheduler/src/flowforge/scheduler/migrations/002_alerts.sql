-- When a run's SLA alert went out; and the recent alerts (failed runs, SLA alerts) read from
-- indexes for the dashboard, however long the history.
ALTER TABLE runs ADD COLUMN sla_alerted_at timestamptz;
CREATE INDEX runs_failed ON runs (finished_at DESC) WHERE status = 'failed';
CREATE INDEX runs_sla_alerted ON runs (sla_alerted_at DESC) WHERE sla_alerted;
