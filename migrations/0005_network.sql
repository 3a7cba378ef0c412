-- 0005: networks and the addresses their containers hold (engine/network).

-- A network is a bridge with an IPv4 subnet; the default one is named
-- "bridge" and its bridge is skiff0. Subnets of different networks never
-- overlap (engine/network checks it when it creates one).
CREATE TABLE networks (
    id         TEXT PRIMARY KEY,                       -- 64 hex characters
    name       TEXT NOT NULL UNIQUE,
    driver     TEXT NOT NULL DEFAULT 'bridge',
    bridge     TEXT NOT NULL UNIQUE,                   -- interface name in the host's namespace
    subnet     TEXT NOT NULL,                          -- 172.17.0.0/16
    gateway    TEXT NOT NULL,                          -- 172.17.0.1, the bridge's address
    created_at INTEGER NOT NULL                        -- unix nanoseconds
);

-- The address a container holds on a network: one per container and network,
-- and never one address for two containers at once. Removing the container
-- releases it; a network with addresses in use cannot be removed.
CREATE TABLE network_addresses (
    network_id   TEXT NOT NULL REFERENCES networks(id) ON DELETE RESTRICT,
    container_id TEXT NOT NULL REFERENCES containers(id) ON DELETE CASCADE,
    address      TEXT NOT NULL,                        -- 172.17.0.2
    PRIMARY KEY (network_id, container_id),
    UNIQUE (network_id, address)
);
CREATE INDEX network_addresses_container ON network_addresses(container_id);
