-- A full snapshot's count of rows no longer current (gone from the source).
ALTER TABLE runs ADD COLUMN deleted bigint;
