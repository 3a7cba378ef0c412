-- 0007: where the layers' compressed blobs are known to be on registries,
-- as Docker's v2 metadata service records them. A pull adds a row per
-- layer it fetched, a push per layer it uploaded, found or mounted; a push
-- uses the rows to HEAD a blob whose digest it knows instead of
-- compressing the layer again, and to mount it from another repository of
-- the same registry. Rows are hints: a blob gone from the registry only
-- costs a HEAD. They outlive the layers (a re-pull finds them again).
CREATE TABLE distribution (
    diff_id    TEXT NOT NULL,                          -- sha256:… of the uncompressed layer
    blob       TEXT NOT NULL,                          -- sha256:… of the compressed blob on the registry
    media_type TEXT NOT NULL,                          -- the blob's media type in a manifest
    size       INTEGER NOT NULL,                       -- the compressed blob's bytes
    registry   TEXT NOT NULL,                          -- host[:port], docker.io for Docker Hub
    repository TEXT NOT NULL,                          -- path in the registry, library/busybox
    PRIMARY KEY (diff_id, registry, repository, blob)
);
