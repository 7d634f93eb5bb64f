"""The few library details the code leans on beyond their documented API, each fenced in one
module and checked here, so an upgrade that changes one fails a test instead of a request."""

from __future__ import annotations

import inspect
import logging

from quart.wrappers import Body

from bookapi.observability.logs import configure_logging
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
