-- A full snapshot of its source (a `full` extraction): the dataset's current rows are
-- those of the latest promoted snapshot and of the batches after it.
ALTER TABLE batches ADD COLUMN snapshot boolean NOT NULL DEFAULT false;
ALTER TABLE batches ADD COLUMN deleted_key text;
