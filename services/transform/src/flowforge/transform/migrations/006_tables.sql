-- Each dataset's Silver table in the lakehouse (a Delta table): the version its readers use,
-- the batches folded into that version (run id -> the quarantine object left out of it, or
-- null), and its row count. A batch demoted or released since makes the version stale (the
-- next fold rebuilds it from the batches); a version committed without this row updated
-- (a crash in between) is never read.
CREATE TABLE tables (
    dataset    text PRIMARY KEY,
    version    bigint NOT NULL,
    runs       jsonb NOT NULL,
    rows       bigint NOT NULL,
    folded_at  timestamptz NOT NULL DEFAULT now()
);
-- Silver rows of the batch (what a fold of it would add at most).
ALTER TABLE batches ADD COLUMN rows bigint;
