-- Builds: why a build failed (a failed RUN's exit code too), and the
-- container of its failed step.
ALTER TABLE builds ADD COLUMN error TEXT NOT NULL DEFAULT '';
ALTER TABLE builds ADD COLUMN exit_code INTEGER NOT NULL DEFAULT 0;
ALTER TABLE builds ADD COLUMN failed_container TEXT NOT NULL DEFAULT '';
CREATE INDEX builds_started ON builds(started_at);

-- The classic builder's step cache: the image a step made on a parent,
-- by the step's key (its instruction, the build args it sees and the
-- checksum of the files it copies). A step whose parent and key match
-- reuses the image. Deleting the image forgets the entry.
CREATE TABLE build_cache (
    parent   TEXT NOT NULL,                -- the parent image ID, '' for scratch
    key      TEXT NOT NULL,                -- sha256 of the step's description
    image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    PRIMARY KEY (parent, key)
);
CREATE INDEX build_cache_image ON build_cache(image_id);
