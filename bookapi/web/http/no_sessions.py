"""No cookie sessions: a bearer token says who calls, so nothing keeps state in a cookie.

Quart opens a signed-cookie session for every request and websocket (it builds an
itsdangerous signer and reads the cookie each time) and saves it after; py-spy put that at
about 2% of a cached read. This interface hands out Quart's NullSession, which refuses
writes, so a route that tried to use `session` would fail loudly instead of setting cookies.
"""

from __future__ import annotations

from quart import Quart, Response
from quart.sessions import NullSession, SecureCookieSessionInterface, SessionMixin
from quart.wrappers import BaseRequestWebsocket
from werkzeug.wrappers import Response as WerkzeugResponse

NO_SESSION = NullSession()


class NoSessions(SecureCookieSessionInterface):  # the type Quart declares for the slot
    async def open_session(self, app: Quart, request: BaseRequestWebsocket) -> NullSession:
        return NO_SESSION

    async def save_session(
        self, app: Quart, session: SessionMixin, response: Response | WerkzeugResponse | None
    ) -> None:
        return None


def init_app(app: Quart) -> None:
    app.session_interface = NoSessions()
