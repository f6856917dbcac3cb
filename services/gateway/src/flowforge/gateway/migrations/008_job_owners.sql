-- Which gateway process runs a job, and when it last said so: with several gateway replicas, a
-- job whose process died (no heartbeat for a minute) is marked failed by any of them, and a
-- job of another live replica is left alone.
ALTER TABLE jobs ADD COLUMN owner text;
ALTER TABLE jobs ADD COLUMN heartbeat_at timestamptz;
