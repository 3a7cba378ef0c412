-- 0001: the first schema. Later issues add columns and tables in new
-- numbered files; this file is never edited once released.

-- Unpacked layers, one row per chain ID. A layer's parent is the layer below
-- it in every image that has it, so the rows form a forest. A layer is
-- referenced by the images whose top layer it is and by the layers stacked on
-- it; it may be deleted only when neither exists (see engine/image).
CREATE TABLE layers (
    chain_id   TEXT PRIMARY KEY,                       -- sha256:… of the chain
    diff_id    TEXT NOT NULL,                          -- sha256:… of the uncompressed tar
    parent     TEXT REFERENCES layers(chain_id),       -- chain ID below, NULL for a base layer
    blob       TEXT NOT NULL,                          -- content-store digest of the layer tar
    size       INTEGER NOT NULL,                       -- bytes of file content in the layer
    created_at INTEGER NOT NULL                        -- unix nanoseconds
);
CREATE INDEX layers_parent ON layers(parent);

-- Images. The ID is the digest of the config blob, which the content store
-- holds. parent_id is the classic lineage (build steps, commit), not derived
-- from layers; RESTRICT makes "image has dependent child images" a hard rule.
CREATE TABLE images (
    id           TEXT PRIMARY KEY,                     -- sha256:… of the config
    parent_id    TEXT REFERENCES images(id) ON DELETE RESTRICT,
    top_layer    TEXT REFERENCES layers(chain_id) ON DELETE RESTRICT,
    created      INTEGER NOT NULL,                     -- the config's created time, unix nanoseconds
    size         INTEGER NOT NULL,                     -- sum of the sizes of all its layers
    os           TEXT NOT NULL,
    architecture TEXT NOT NULL,
    labels       TEXT NOT NULL DEFAULT '{}',           -- JSON object, copied from the config for listing
    added_at     INTEGER NOT NULL                      -- when this daemon stored it, unix nanoseconds
);
CREATE INDEX images_parent ON images(parent_id);
CREATE INDEX images_top_layer ON images(top_layer);

-- Tags: a repository (canonical, e.g. docker.io/library/busybox) and tag name
-- point at one image.
CREATE TABLE tags (
    repo     TEXT NOT NULL,
    tag      TEXT NOT NULL,
    image_id TEXT NOT NULL REFERENCES images(id) ON DELETE RESTRICT,
    PRIMARY KEY (repo, tag)
);
CREATE INDEX tags_image ON tags(image_id);

-- Containers. The runtime issue fills these; the image rules already depend
-- on them. image_id is deliberately not a foreign key: as in Docker, rmi -f
-- may delete the image of a stopped container, which keeps running from its
-- layers (top_layer holds them).
CREATE TABLE containers (
    id         TEXT PRIMARY KEY,                       -- 64 hex characters
    name       TEXT NOT NULL UNIQUE,                   -- without the leading slash
    image_id   TEXT NOT NULL,
    top_layer  TEXT REFERENCES layers(chain_id) ON DELETE RESTRICT,
    status     TEXT NOT NULL DEFAULT 'created',        -- created, running, paused, restarting, exited, dead
    config     TEXT NOT NULL DEFAULT '{}',             -- JSON container config
    created_at INTEGER NOT NULL
);
CREATE INDEX containers_image ON containers(image_id);

-- Builds. The builder issue fills these.
CREATE TABLE builds (
    id             TEXT PRIMARY KEY,
    status         TEXT NOT NULL,                      -- running, succeeded, failed, cancelled
    dockerfile     TEXT NOT NULL DEFAULT '',
    context_digest TEXT NOT NULL DEFAULT '',
    tags           TEXT NOT NULL DEFAULT '[]',         -- JSON array
    image_id       TEXT REFERENCES images(id) ON DELETE SET NULL,
    log            TEXT NOT NULL DEFAULT '',
    started_at     INTEGER NOT NULL,
    finished_at    INTEGER
);

-- Credentials for the TCP listener. Only hashes are stored.
CREATE TABLE auth_tokens (
    id         INTEGER PRIMARY KEY,
    hash       TEXT NOT NULL UNIQUE,                   -- hex sha256 of the token
    created_at INTEGER NOT NULL
);

-- Daemon-wide settings, such as the daemon's own ID.
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
