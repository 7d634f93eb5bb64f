"""The per-process event hub: slow listeners lose old progress, never stall or grow."""

from __future__ import annotations

import json

from bookapi.web.services.event_hub import LISTENER_QUEUE_SIZE, JobEventHub


def progress(done: int) -> str:
    return json.dumps({"job_id": "j", "type": "progress", "done": done, "total": 1000})


async def test_a_slow_listener_neither_stalls_a_fast_one_nor_grows() -> None:
    hub = JobEventHub()
    slow, fast = hub.subscribe("j"), hub.subscribe("j")
    seen = []
    for done in range(1000):
        hub.dispatch(progress(done))
        event = await fast.next(timeout=1)
        assert event is not None
        seen.append(event.fields["done"])
    hub.dispatch(json.dumps({"job_id": "j", "type": "finished"}))
    assert seen == list(range(1000))
    assert slow.queue.qsize() == LISTENER_QUEUE_SIZE
    backlog = [slow.queue.get_nowait() for _ in range(LISTENER_QUEUE_SIZE)]
    assert backlog[-1].fields == {"type": "finished"}, "the last event is never the one dropped"
    assert [event.fields["done"] for event in backlog[:-1]] == list(
        range(1000 - LISTENER_QUEUE_SIZE + 1, 1000)
    )


async def test_events_reach_only_their_jobs_listeners_and_junk_is_ignored() -> None:
    hub = JobEventHub()
    mine, other = hub.subscribe("j"), hub.subscribe("k")
    hub.dispatch(b"not json")
    hub.dispatch(json.dumps({"type": "progress"}))
    hub.dispatch(progress(1))
    event = await mine.next(timeout=1)
    assert event is not None
    assert event.fields == {"type": "progress", "done": 1, "total": 1000}
    assert json.loads(event.text) == event.fields, "the text a websocket sends, made once"
    assert await other.next(timeout=0.05) is None
    hub.unsubscribe("j", mine)
    hub.unsubscribe("k", other)
    assert hub.listeners == {}
