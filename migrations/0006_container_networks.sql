-- 0006: the user-defined networks a container is connected to (run
-- --network NAME, network connect), kept while it is stopped so that its
-- next start joins them again. The default network is implied by the
-- container's network mode and has no row. A network with containers
-- connected cannot be removed.
CREATE TABLE container_networks (
    container_id TEXT NOT NULL REFERENCES containers(id) ON DELETE CASCADE,
    network_id   TEXT NOT NULL REFERENCES networks(id) ON DELETE RESTRICT,
    aliases      TEXT NOT NULL DEFAULT '[]',          -- JSON array of --network-alias names
    seq          INTEGER NOT NULL,                    -- order of connection: eth0, eth1, ...
    PRIMARY KEY (container_id, network_id)
);
CREATE INDEX container_networks_network ON container_networks(network_id);
