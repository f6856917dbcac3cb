-- The latest quality revision recorded for a run (a replay or a release re-decides its
-- quality and Gold stages; events of an older revision arriving late change nothing).
ALTER TABLE runs ADD COLUMN revision integer NOT NULL DEFAULT 0;
