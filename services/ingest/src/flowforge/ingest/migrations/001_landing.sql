-- The landing ledger: every object version seen in the drop zone, so each is processed once
-- whether it was announced once, twice or never. A version is an S3 ETag, or the SHA-256 of a
-- local file's content.
CREATE TABLE landed_objects (
    source        text NOT NULL,   -- s3://bucket or file:///root
    key           text NOT NULL,
    version       text NOT NULL,
    size_bytes    bigint NOT NULL,
    run_id        text NOT NULL,
    dataset       text NOT NULL,
    announced_by  text NOT NULL,   -- sweep or notification
    published     boolean NOT NULL DEFAULT false,
    first_seen    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, key, version)
);
CREATE INDEX landed_objects_unpublished ON landed_objects (first_seen) WHERE NOT published;
