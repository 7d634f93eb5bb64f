"""The few library details the code leans on beyond their documented API, each fenced in one
module and checked here, so an upgrade that changes one fails a test instead of a request."""

from __future__ import annotations

import inspect
import logging

from prometheus_client import CollectorRegistry, Histogram
from quart.wrappers import Body

from bookapi.observability.logs import configure_logging
from bookapi.observability.tick_batches import observe_many
from bookapi.web.http.body_limits import CappedBody
from settings import TestingConfig


def test_logging_skips_the_caller_lookup_as_the_logging_howto_teaches() -> None:
    # observability/logs.py: the HOWTO's "Optimization" section names `logging._srcfile`.
    assert hasattr(logging, "_srcfile")
    configure_logging(TestingConfig({}))
    assert logging._srcfile is None


def test_the_capped_body_matches_quarts_body() -> None:
    # web/http/body_limits.py subclasses Quart's Body: its constructor and the methods it
    # overrides must keep their shape.
    parameters = list(inspect.signature(Body.__init__).parameters)
    assert parameters == ["self", "expected_content_length", "max_content_length"]
    for name in ("append", "set_complete", "clear", "__anext__", "__await__"):
        assert callable(getattr(Body, name)), name
    body = CappedBody(None, 4)
    body.append(b"12345")
    assert body.too_large


def test_observing_many_at_once_equals_observing_each() -> None:
    # observability/tick_batches.py writes a turn's observations per bucket, through the
    # histogram child's private bounds, buckets and sum.
    registry = CollectorRegistry()
    batched = Histogram("batched", "", ["route"], buckets=(0.01, 0.1, 1), registry=registry)
    single = Histogram("single", "", ["route"], buckets=(0.01, 0.1, 1), registry=registry)
    amounts = [0.005, 0.01, 0.05, 0.5, 0.5, 2.0, 0.1]
    observe_many(batched.labels("r"), amounts)
    for amount in amounts:
        single.labels("r").observe(amount)
    batched_samples = sorted(
        (s.name.removeprefix("batched"), s.labels.get("le"), s.value)
        for s in next(m for m in registry.collect() if m.name == "batched").samples
        if not s.name.endswith("_created")
    )
    single_samples = sorted(
        (s.name.removeprefix("single"), s.labels.get("le"), s.value)
        for s in next(m for m in registry.collect() if m.name == "single").samples
        if not s.name.endswith("_created")
    )
    assert batched_samples == single_samples
    assert ("_count", None, 7.0) in batched_samples
