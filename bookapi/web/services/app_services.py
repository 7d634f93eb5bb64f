"""What an API process holds, reached through one typed accessor.

`AppServices` is made with the app (the parts that need no event loop) and started when
the app starts serving: the SIGTERM relay (websockets get 1001 before the server stops),
the connections, then the indexes and the pub/sub hub that feeds the book cache and the
job listeners, and the repair of token endings Redis missed; stopped in the reverse order.
The order is that of `start` and `stop`, so no hook registration decides it.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from typing import Any

from celery import Celery
from pydantic import ValidationError
from quart import Quart, current_app
from redis.asyncio import Redis
from redis.exceptions import RedisError

from settings import Config

from ...domain.accounts.account_schemas import RegisterIn
from ...domain.accounts.user_repository import ensure_first_admin
from ...domain.jobs.records import StoredJob
from ...observability.tick_batches import TICK
from ...storage.mongo import Database
from ...storage.redis_names import RedisNames
from ...storage.redis_store import REDIS_UNAVAILABLE, persistence_problem
from ..security.signing_keys import SigningKeys
from .book_batches import BookBatches
from .book_cache import BookCache
from .connections import Connections, StartupWrite
from .ending_repair import EndingRepair
from .event_hub import JobEventHub
from .going_away import ShutdownState, SigtermRelay
from .heap_trim import HeapTrimmer
from .open_sockets import OpenSockets
from .pubsub import PubSubHub
from .redis_primary import RedisPrimaryWatch
from .shared_reads import SharedReads

EXTENSION_KEY = "bookapi"
# The collector's thresholds (CPython's are 700, 10, 10). With 10,000 websockets open, each
# full collection scanned millions of live objects for 100 to 600 ms with the event loop
# stopped, and the climb to 10,000 set off 23 of them (8.9 s in all, over two processes);
# collecting the youngest generation every 50,000 net allocations instead of every 700 left
# none over 20 ms but young ones (about 50 ms each, 1.3 s in all). Cyclic garbage waits
# longer to be found: a few MB at most.
GC_THRESHOLDS = (50_000, 20, 10)
log = logging.getLogger(__name__)


class AppServices:
    def __init__(self, settings: Config, celery: Celery, index_builders: list[StartupWrite]):
        self.settings = settings
        self.redis_names = RedisNames(settings.REDIS_PREFIX)
        self.celery = celery
        self.signing_keys = SigningKeys.from_settings(settings)
        self.book_cache = BookCache(settings.BOOK_CACHE_ENTRIES, settings.BOOK_CACHE_SECONDS)
        self.book_batches = BookBatches(lambda: self.connections.db, settings.BOOK_READ_BATCH)
        self.job_events = JobEventHub()
        self.open_sockets = OpenSockets()
        self.job_reads: SharedReads[StoredJob | None] = SharedReads()
        self.shutdown = ShutdownState()
        self.sigterm_relay = SigtermRelay(self.shutdown)
        self.heap_trimmer = HeapTrimmer(activity=lambda: TICK.turns)
        self.ending_repair = EndingRepair(lambda: self.connections, self.redis_names, settings)
        self._index_builders = index_builders
        self._connections: Connections | None = None
        self._pubsub: PubSubHub | None = None
        self.redis_primary: RedisPrimaryWatch | None = None  # made with the connections

    @property
    def connections(self) -> Connections:
        if self._connections is None:
            raise RuntimeError("the app is not serving: its connections are not open")
        return self._connections

    async def start(self) -> None:
        await self.sigterm_relay.install()
        self._connections = Connections(self.settings)
        startup_writes = list(self._index_builders)
        if self.settings.FIRST_ADMIN_EMAIL:
            # After the indexes (its email is unique there), and retried with them in the
            # background while MongoDB is down: a deployment whose database starts after
            # the API still gets its first admin.
            startup_writes.append(self.make_first_admin)
        await self._connections.run_startup_writes(startup_writes)
        if self.settings.REDIS_CHECK_PERSISTENCE:
            await self.warn_if_redis_forgets()
        self.redis_primary = RedisPrimaryWatch(self.settings, self._connections.sentinel)
        self.redis_primary.start()
        hub = PubSubHub(self.settings, self._connections.sentinel)
        hub.handle(self.redis_names.job_events_channel, self.job_events.dispatch)
        hub.handle(self.redis_names.book_changes_channel, self.book_cache.forget_announced)
        hub.handle(self.redis_names.token_endings_channel, self.open_sockets.on_announcement)
        hub.on_connected.append(self.book_cache.on_subscribed)
        hub.on_connected.append(self.open_sockets.on_resubscribed)
        hub.on_connected.append(self.ending_repair.on_resubscribed)  # Redis may be back
        hub.on_disconnected.append(self.book_cache.on_unsubscribed)
        hub.start()
        self._pubsub = hub
        self.ending_repair.start()
        self.heap_trimmer.start()
        # Everything made so far lives as long as the process: out of the collector's sight,
        # so a full collection under load scans only what requests made (a shorter pause).
        gc.freeze()
        gc.set_threshold(*GC_THRESHOLDS)

    async def make_first_admin(self, db: Database) -> None:
        """Make FIRST_ADMIN_EMAIL the first admin if there is none; MongoDB being
        unavailable is raised, so the caller tries again later."""
        try:
            account = RegisterIn(
                email=self.settings.FIRST_ADMIN_EMAIL, password=self.settings.FIRST_ADMIN_PASSWORD
            )
        except ValidationError as error:
            reasons = "; ".join(
                f"{'.'.join(map(str, item['loc']))}: {item['msg']}"
                for item in error.errors(include_input=False)  # never the password itself
            )
            log.error("FIRST_ADMIN_EMAIL / FIRST_ADMIN_PASSWORD refused: %s", reasons)
            return
        done = await ensure_first_admin(db, account.email, account.password)
        if done:
            log.info("%s", done)

    async def warn_if_redis_forgets(self) -> None:
        try:
            problem = await persistence_problem(self.connections.redis)
        except REDIS_UNAVAILABLE:
            return  # down at startup: nothing to ask now (and /readyz says so)
        if problem:
            log.error(
                "%s: every revoked token becomes valid again after a Redis restart. Turn on "
                "appendonly (appendfsync everysec) or RDB snapshots for this Redis.",
                problem,
            )

    async def stop(self) -> None:
        await self.sigterm_relay.uninstall()  # websockets close while Redis is still there
        TICK.flush()  # the last turn's request lines and counts
        await self.heap_trimmer.stop()
        await self.ending_repair.stop()
        if self._pubsub is not None:
            await self._pubsub.stop()
            self._pubsub = None
        if self.redis_primary is not None:
            await self.redis_primary.stop()
        if self._connections is not None:
            await self._connections.close()
            self._connections = None
        await asyncio.to_thread(self.celery.close)  # the broker connections of publishing
        log.info("stopped: every connection closed")  # the server may end the process now


def attach(app: Quart, services: AppServices) -> None:
    app.extensions[EXTENSION_KEY] = services
    app.before_serving(services.start)
    app.after_serving(services.stop)


def app_services() -> AppServices:
    """The services of the running app."""
    return services_of(current_app)


def settings() -> Config:
    """The running app's settings, typed (read once at startup, never from a string key)."""
    return app_services().settings


def get_db() -> Database:
    """The database handle of the running app."""
    return app_services().connections.db


def get_gridfs() -> Any:
    """The GridFS bucket (uploads and exports) of the running app."""
    return app_services().connections.gridfs


def get_redis() -> Redis:
    """The Redis client of the running app."""
    return app_services().connections.redis


def redis_names() -> RedisNames:
    return app_services().redis_names


async def announce_book_change(book_id: str) -> None:
    """Forget `book_id` (and every list page) here at once, and tell the other processes to
    forget them too."""
    services = app_services()
    services.book_cache.forget(book_id)
    try:
        await get_redis().publish(services.redis_names.book_changes_channel, book_id)
    except RedisError as error:
        # The change is stored; other processes that cannot hear us are not subscribed
        # either, so they bypass their caches, and the TTL bounds what any other could keep.
        log.warning("could not announce the change of book %s: %s", book_id, error)


def services_of(app: Quart) -> AppServices:
    """The services of `app`, outside a request (tests, tools)."""
    services: AppServices = app.extensions[EXTENSION_KEY]
    return services
