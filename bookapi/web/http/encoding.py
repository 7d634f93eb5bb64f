"""Content negotiation for compression: whether a client takes gzip, and which form of a
rendered body (plain, or its kept gzip form) it gets."""

from __future__ import annotations

from typing import Protocol


class Rendered(Protocol):
    body: bytes

    @property
    def compressible(self) -> bool: ...

    def gzipped(self) -> bytes: ...


def accepts_gzip(accept_encoding: bytes | None) -> bool:
    """Whether an Accept-Encoding takes gzip (`gzip`, or `*`, without `q=0`)."""
    if not accept_encoding:
        return False
    for item in accept_encoding.lower().split(b","):
        coding, _, parameters = item.partition(b";")
        if coding.strip() in (b"gzip", b"*"):
            quality = parameters.strip().removeprefix(b"q=").strip()
            return not parameters.strip() or quality.strip(b"0.") != b""
    return False


def negotiate(rendered: Rendered, accept_encoding: bytes | None) -> tuple[bytes, bool, bool]:
    """The body to send, whether it is gzipped, and whether the answer varies with
    Accept-Encoding (only bodies large enough to be worth compressing ever are)."""
    if not rendered.compressible:
        return rendered.body, False, False
    if accepts_gzip(accept_encoding):
        return rendered.gzipped(), True, True
    return rendered.body, False, True
