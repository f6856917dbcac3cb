-- What changed from the previous version (added, removed, probable renames, retyped).
ALTER TABLE asset_versions ADD COLUMN changes jsonb;
