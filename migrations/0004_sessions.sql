-- Dashboard sessions, made by POST /skiff/login. Only the sha256 of the
-- session ID (the cookie's value) is stored, as for tokens. A session ends at
-- expires_at, which each use pushes forward (an idle timeout), but never past
-- ends_at (its longest life).
CREATE TABLE sessions (
    id_hash    TEXT PRIMARY KEY,                       -- hex sha256 of the session ID
    csrf_token TEXT NOT NULL,                          -- sent back in X-CSRF-Token; useless without the cookie
    created_at INTEGER NOT NULL,                       -- unix nanoseconds
    expires_at INTEGER NOT NULL,                       -- unix nanoseconds
    ends_at    INTEGER NOT NULL                        -- unix nanoseconds
);
CREATE INDEX sessions_expires ON sessions(expires_at);
