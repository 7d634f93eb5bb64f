"""The websocket that streams one job's progress: snapshot, progress..., finished."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from contextlib import suppress
from typing import cast

from quart import Blueprint, websocket

from ...domain.errors import NotFoundError
from ...domain.jobs import job_repository as jobs_repo
from ...domain.jobs.job_schemas import job_json
from ...domain.jobs.records import TERMINAL_STATES, StoredJob
from ...observability.metrics import WEBSOCKET_LISTENERS
from ...storage.mongo import MONGO_TOO_SLOW, MONGO_UNAVAILABLE
from ...storage.redis_store import REDIS_UNAVAILABLE
from ..http.ids import visible_job_since
from ..http.paths import API_PREFIX
from ..http.problems import APIError
from ..middleware.asgi_types import Send
from ..middleware.websocket_denials import SERVER_SEND
from ..security.guard import Caller, authenticate, caller_from_claims, unauthorized
from ..security.revocation import refusal
from ..services.app_services import app_services, get_db, get_redis, settings
from ..services.event_hub import Listener
from ..services.going_away import GOING_AWAY

blueprint = Blueprint("job_events", __name__, url_prefix=API_PREFIX)
# With no event for this long, re-read the job: a lost "finished" event cannot hang us.
POLL_SECONDS = 5.0
POLICY_VIOLATION = 1008
TRY_AGAIN_LATER = 1013
# The ASGI extension that lets an app refuse a websocket handshake with an HTTP response.
REFUSAL_EXTENSION = "websocket.http.response"
# A listener's read of its job may share one begun this long before it asked: a burst of
# listeners reads the job about once a second per process. An event that fell in between
# is made up by the events after it, or by the next quiet-time re-read.
POLL_FRESHNESS_SECONDS = 1.0
log = logging.getLogger(__name__)


async def caller_from_auth_message() -> Caller | None:
    """For clients that cannot set headers: `{"type": "auth", "token": ...}` first, in time."""
    try:
        raw = await asyncio.wait_for(websocket.receive(), settings().WS_AUTH_TIMEOUT_SECONDS)
        message = json.loads(raw)
        if not isinstance(message, dict) or message.get("type") != "auth":
            return None
        return caller_from_claims(await authenticate(f"Bearer {message.get('token', '')}"))
    except (TimeoutError, ValueError, RecursionError, APIError):
        return None  # closed with 1008 by the caller: never taken for the job's end


async def reread(job: StoredJob) -> StoredJob:
    """The job as stored now, read once for every listener of it that asks at this moment
    (a thousand quiet listeners poll together); as it was if MongoDB does not answer: the
    events still come through Redis, and the next poll asks again."""
    job_id = job["_id"]
    try:
        fresh = await app_services().job_reads.read(
            str(job_id),
            time.monotonic() - POLL_FRESHNESS_SECONDS,
            lambda: jobs_repo.find_job(get_db(), job_id),
        )
    except (*MONGO_UNAVAILABLE, *MONGO_TOO_SLOW) as error:
        log.warning("could not re-read job %s for its listeners: %s", job_id, error)
        return job
    return fresh or job


async def still_allowed(listener: Listener) -> None:
    """Refuse (closed with 1008) once the socket's token may no longer be used: ended in any
    process (a logout, a password change...), or found so when checked again."""
    if listener.token_ended:
        raise unauthorized("The token this socket was opened with may no longer be used.")
    if listener.recheck_token and listener.claims is not None:
        try:
            reason = await refusal(get_redis(), listener.claims)
        except REDIS_UNAVAILABLE as error:
            log.warning("could not check a websocket's token again: %s", error)
            return  # checked again at the next wake
        listener.recheck_token = False
        if reason is not None:
            raise unauthorized(reason)


def event_sender() -> Callable[[str], Awaitable[None]]:
    """What sends the job's events once the socket is accepted: the server's own send where
    the edge left it (see `middleware/websocket_denials.py`), else Quart's."""
    send = cast("Send | None", websocket.scope.get(SERVER_SEND))
    if send is None:
        return websocket.send

    async def send_text(text: str) -> None:
        await send({"type": "websocket.send", "bytes": None, "text": text})

    return send_text


async def stream(job: StoredJob, listener: Listener) -> None:
    """The snapshot of `job` (read after `listener` subscribed), then its events."""
    await still_allowed(listener)  # an ending heard while the job was read
    await websocket.send_json({"type": "snapshot", "job": job_json(job)})
    send_event = event_sender()
    if job["state"] in TERMINAL_STATES:
        return  # a late listener: the snapshot already tells the outcome
    done = job["progress"]["done"]
    while True:
        event = await listener.next(POLL_SECONDS)
        await still_allowed(listener)
        kind = event.fields.get("type") if event else None
        if event is not None and kind == "finished" and "job" in event.fields:
            await send_event(event.text)  # the worker sent the ended job along
            return
        if event is None or kind == "finished":
            # Quiet for a while, or an end without the job: ask MongoDB.
            job = await reread(job)
            if job["state"] in TERMINAL_STATES:
                await websocket.send_json({"type": "finished", "job": job_json(job)})
                return
        elif kind == "progress" and event.fields.get("done", -1) >= done:
            done = event.fields["done"]
            await send_event(event.text)


@blueprint.websocket("/jobs/<job_id>/events")
async def job_events(job_id: str) -> None:
    """Live progress of a job; closed with 1001 if this process shuts down meanwhile."""
    with (
        app_services().shutdown.open_socket() as going_away,
        WEBSOCKET_LISTENERS.track_inprogress(),
    ):
        follow = asyncio.ensure_future(follow_job(job_id))
        stop = asyncio.ensure_future(going_away.wait())
        finished = False
        try:
            await asyncio.wait({follow, stop}, return_when=asyncio.FIRST_COMPLETED)
            finished = follow.done()
        finally:
            # When the client goes first, the server cancels this handler, and asyncio.wait
            # leaves its tasks running: without this, every such listener left two tasks
            # behind (one until the process stopped), and with them its whole websocket.
            stop.cancel()
            if not finished:
                follow.cancel()
        if finished:
            follow.result()  # a refused handshake is raised here, as if from this route
            return
        with suppress(asyncio.CancelledError):
            await follow
        await websocket.close(GOING_AWAY)


def refusal_close_code(error: Exception) -> int:
    """The close code that tells a refusal after the handshake: a dependency outage is
    "try again later", anything else (a bad token, someone else's job) a policy violation."""
    return (
        TRY_AGAIN_LATER if isinstance(error, APIError) and error.status == 503 else POLICY_VIOLATION
    )


async def follow_job(job_id: str) -> None:
    """Authenticate by header (or first message), then stream the job's events.

    A header-authenticated handshake is refused with the HTTP status (401, 404, 503) where
    the server can send one (the ASGI `websocket.http.response` extension: hypercorn,
    uvicorn); elsewhere (Granian) a refusal before accepting reads as a bare 403, so the
    socket is accepted and closed with 1008 (or 1013 for an outage), as the contract allows."""
    header = websocket.headers.get("Authorization")
    with_status = bool(header) and REFUSAL_EXTENSION in (websocket.scope.get("extensions") or {})
    accepted = False
    try:
        caller = caller_from_claims(await authenticate(header)) if header else None
        if caller is None:
            await websocket.accept()
            accepted = True
            caller = await caller_from_auth_message()
        # Subscribed before the job is read, so no event falls between the snapshot and the
        # stream; that one read is the only one a listener costs until the job goes quiet.
        with app_services().job_events.listening(job_id) as listener:
            if caller is None:
                raise NotFoundError("job")
            with app_services().open_sockets.opened(listener, caller.claims):
                job = await visible_job_since(
                    job_id, caller, time.monotonic() - POLL_FRESHNESS_SECONDS
                )
                if not accepted:
                    await websocket.accept()
                    accepted = True
                await stream(job, listener)
    except (APIError, NotFoundError) as error:
        if with_status and not accepted:
            raise  # refused with its status, before the handshake completes
        if not accepted:
            await websocket.accept()
        await websocket.close(refusal_close_code(error))
        return
    # Let every other listener of this job send its `finished` before anyone's close
    # handshake takes the loop: a thousand listeners hear the end together.
    await asyncio.sleep(0)
    await websocket.close(1000)
