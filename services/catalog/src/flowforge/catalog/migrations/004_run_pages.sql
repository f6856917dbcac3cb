-- Runs are listed newest first, page by page (cursor = created_at, run_id).
CREATE INDEX runs_created ON runs (created_at DESC, run_id DESC);
CREATE INDEX runs_content ON runs (dataset, content_hash);
