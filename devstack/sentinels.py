"""A highly available Redis on loopback, for the failover tests and for trying one by hand:
a primary, a replica of it, and three Redis Sentinels (Debian's `redis-server --sentinel`)
that watch the primary and promote the replica when it dies (a quorum of two).

`python -m devstack sentinels` starts one under var/sentinels/ and prints the settings
that point bookapi at it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .processes import Server, free_port, redis_binary, spawn, start_redis

MASTER_NAME = "mymaster"
# Quick to notice a dead primary (1 s) and to finish a failover, for a loopback group.
SENTINEL_CONFIG = """port {port}
bind 127.0.0.1
dir {folder}
sentinel monitor {master} 127.0.0.1 {primary} 2
sentinel down-after-milliseconds {master} 1000
sentinel failover-timeout {master} 5000
sentinel parallel-syncs {master} 1
"""


@dataclass
class RedisGroup:
    primary: Server
    replica: Server
    sentinels: list[Server] = field(default_factory=list)
    master_name: str = MASTER_NAME

    @property
    def sentinel_addresses(self) -> str:
        """REDIS_SENTINELS for this group."""
        return ",".join(f"127.0.0.1:{sentinel.port}" for sentinel in self.sentinels)

    def settings(self) -> dict[str, str]:
        """The environment that points bookapi at this group."""
        return {
            "REDIS_URL": "redis://127.0.0.1/0",  # the database only: the sentinels say where
            "REDIS_SENTINELS": self.sentinel_addresses,
            "REDIS_SENTINEL_MASTER": self.master_name,
        }

    def stop(self) -> None:
        for server in [*self.sentinels, self.replica, self.primary]:
            server.stop()


def start_sentinel(folder: Path, primary_port: int, master: str = MASTER_NAME) -> Server:
    port = free_port()
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "sentinel.conf"  # the sentinel rewrites it with what it learns
    config.write_text(
        SENTINEL_CONFIG.format(port=port, folder=folder, master=master, primary=primary_port)
    )
    argv = [redis_binary(), str(config), "--sentinel"]
    return spawn("sentinel", argv, port, folder, f"redis://127.0.0.1:{port}")


def start_redis_group(folder: Path, master: str = MASTER_NAME) -> RedisGroup:
    """The primary, its replica and three sentinels, each listening; both Redis keep their
    data (appendonly), as revocation needs."""
    primary = start_redis(free_port(), folder / "primary", True, name="redis-primary")
    replica = start_redis(
        free_port(),
        folder / "replica",
        True,
        "--replicaof",
        "127.0.0.1",
        str(primary.port),
        name="redis-replica",
    )
    group = RedisGroup(primary, replica, master_name=master)
    try:
        for n in range(3):
            group.sentinels.append(start_sentinel(folder / f"sentinel{n}", primary.port, master))
    except Exception:
        group.stop()
        raise
    return group
