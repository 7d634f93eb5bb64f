"""The job websockets open in this process, by the account whose token opened them, so a
token that may no longer be used ends its sockets at once, in every API process.

`security/revocation.py` announces each ending (a logout; an account's new token generation
after a password change, a reset, a demotion or a disablement) on Redis, and the pub/sub hub
hands it here. An ending heard in the last RECENT_SECONDS is applied to a socket registered
after it too: a socket authenticated just before the ending was stored, but registered just
after it was heard, is not missed. Announcements can be missed while the subscription is
down, so when it comes back every open socket checks its token again at once.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict, deque
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..security.token_endings import Ending, ends, parse_ending
from .event_hub import Listener, forget_listener

RECENT_SECONDS = 10.0
log = logging.getLogger(__name__)


class OpenSockets:
    def __init__(self) -> None:
        self.by_user: dict[str, set[Listener]] = defaultdict(set)
        self.recent: deque[tuple[float, Ending]] = deque()

    @contextmanager
    def opened(self, listener: Listener, claims: dict[str, Any]) -> Iterator[None]:
        """`listener`'s socket, opened with the token of `claims`, for as long as the block runs."""
        user_id = str(claims["sub"])
        listener.claims = claims
        self.by_user[user_id].add(listener)
        for _, ending in self._recent():
            if ends(ending, claims):
                listener.end_token()
        try:
            yield
        finally:
            forget_listener(self.by_user, user_id, listener)

    def _recent(self) -> deque[tuple[float, Ending]]:
        oldest = time.monotonic() - RECENT_SECONDS
        while self.recent and self.recent[0][0] < oldest:
            self.recent.popleft()
        return self.recent

    def on_announcement(self, raw: str) -> None:
        ending = parse_ending(raw)
        if ending is None:
            log.warning("ignoring a malformed token ending: %r", raw)
            return
        self._recent().append((time.monotonic(), ending))
        for listener in list(self.by_user.get(ending["user"], ())):
            if listener.claims is not None and ends(ending, listener.claims):
                listener.end_token()

    def on_resubscribed(self) -> None:
        """Endings may have been missed while unsubscribed: every socket checks again."""
        for sockets in self.by_user.values():
            for listener in sockets:
                listener.check_token_again()
