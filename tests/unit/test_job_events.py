"""The per-process event hub: a slow listener is at most one progress behind, never stalls
the others or grows, and always gets `finished`."""

from __future__ import annotations

import json

from bookapi.web.services.event_hub import LISTENER_QUEUE_SIZE, JobEventHub


def progress(done: int) -> str:
    return json.dumps({"job_id": "j", "type": "progress", "done": done, "total": 1000})


async def test_a_slow_listener_neither_stalls_a_fast_one_nor_falls_behind() -> None:
    hub = JobEventHub()
    slow, fast = hub.subscribe("j"), hub.subscribe("j")
    seen = []
    for done in range(1000):
        hub.dispatch(progress(done))
        event = await fast.next(timeout=1)
        assert event is not None
        seen.append(event.fields["done"])
    hub.dispatch(json.dumps({"job_id": "j", "type": "finished"}))
    assert seen == list(range(1000)), "a listener that keeps up misses nothing"
    backlog = [event.fields for event in slow.pending]
    # It never had a progress: it still gets one before the end.
    assert backlog == [{"type": "progress", "done": 999, "total": 1000}, {"type": "finished"}]


async def test_once_a_listener_had_progress_finished_takes_an_unsent_ones_place() -> None:
    hub = JobEventHub()
    listener = hub.subscribe("j")
    hub.dispatch(progress(1))
    assert await listener.next(timeout=1) is not None
    hub.dispatch(progress(2))  # not sent yet when the job ends
    hub.dispatch(json.dumps({"job_id": "j", "type": "finished"}))
    assert [event.fields for event in listener.pending] == [{"type": "finished"}]


async def test_a_listener_stays_bounded_whatever_arrives() -> None:
    hub = JobEventHub()
    slow = hub.subscribe("j")
    for number in range(3 * LISTENER_QUEUE_SIZE):  # events that do not replace each other
        hub.dispatch(json.dumps({"job_id": "j", "type": "other", "n": number}))
    hub.dispatch(json.dumps({"job_id": "j", "type": "finished"}))
    assert len(slow.pending) == LISTENER_QUEUE_SIZE
    assert slow.pending[-1].fields == {"type": "finished"}, "the last event is never dropped"


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
