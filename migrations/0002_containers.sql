-- 0002: what the runtime keeps about a container, and named volumes.

-- host_config is the container's moby HostConfig as JSON; state is its
-- runtime state (pid, exit code, times, restart count) as JSON, rewritten on
-- every change; image_ref is the image as the user named it ("busybox").
ALTER TABLE containers ADD COLUMN image_ref   TEXT NOT NULL DEFAULT '';
ALTER TABLE containers ADD COLUMN host_config TEXT NOT NULL DEFAULT '{}';
ALTER TABLE containers ADD COLUMN state       TEXT NOT NULL DEFAULT '{}';
CREATE INDEX containers_created ON containers(created_at);

-- Named volumes: directories under <data-root>/volumes/<name>/_data.
CREATE TABLE volumes (
    name       TEXT PRIMARY KEY,
    driver     TEXT NOT NULL DEFAULT 'local',
    labels     TEXT NOT NULL DEFAULT '{}',             -- JSON object
    anonymous  INTEGER NOT NULL DEFAULT 0,             -- made for an image VOLUME, removed with rm -v
    created_at INTEGER NOT NULL
);

-- Which containers use which volumes; a volume in use cannot be removed.
CREATE TABLE container_volumes (
    container_id TEXT NOT NULL REFERENCES containers(id) ON DELETE CASCADE,
    volume       TEXT NOT NULL REFERENCES volumes(name) ON DELETE RESTRICT,
    destination  TEXT NOT NULL,
    PRIMARY KEY (container_id, destination)
);
CREATE INDEX container_volumes_volume ON container_volumes(volume);
