"""An account's token generation in Redis, where every API process checks tokens against
it: raised (never lowered); and the announcement of any ending. Free of the running app, so
the account routes and logouts (through revocation.py) and the repair of endings Redis
missed (services/ending_repair.py) all use it."""

from __future__ import annotations

import json

from redis.asyncio import Redis

from settings import Config

from ...storage.redis_names import RedisNames
from .token_endings import Ending, generation_ending

# Raises the stored generation, never lowers it (two changes at once cannot undo one).
RAISE_GENERATION = """
local current = tonumber(redis.call('GET', KEYS[1]) or '-1')
if tonumber(ARGV[1]) > current then
    redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
end
return current
"""


async def raise_generation(
    redis: Redis, names: RedisNames, config: Config, user_id: str, generation: int
) -> bool:
    """Store `generation` as `user_id`'s unless a later one is stored, kept as long as the
    longest-lived token issued before it, and announce it if it is new; False if Redis had
    it already."""
    keep = int(config.refresh_token_lifetime.total_seconds()) + 60
    key = names.token_generation(user_id)
    before = await redis.eval(RAISE_GENERATION, 1, key, str(generation), str(keep))
    if int(before) >= generation:
        return False
    await announce_ending(redis, names, generation_ending(user_id, generation))
    return True


async def announce_ending(redis: Redis, names: RedisNames, ending: Ending) -> None:
    """Tell every API process about an ending (web/services/open_sockets.py). Best effort:
    the ending is stored already, and a process that misses it re-checks its sockets when
    its subscription comes back."""
    await redis.publish(names.token_endings_channel, json.dumps(ending))
