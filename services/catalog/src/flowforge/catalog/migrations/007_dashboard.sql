-- The dashboard's questions, answered from indexes whatever the number of runs: the latest
-- failed runs, and each dataset's last successful run (runs_created serves the last 24 h).
CREATE INDEX runs_failed ON runs (updated_at DESC, run_id DESC) WHERE status = 'failed';
CREATE INDEX runs_succeeded ON runs (dataset, updated_at DESC) WHERE status = 'succeeded';
