"""A local SMTP server (aiosmtpd) for the development stack and the tests: every mail it
takes is written to a folder as an `.eml` file, and kept in memory for whoever asks.

It is a real SMTP server on a real port, so the worker sends to it exactly as it sends to
a production relay; nothing is delivered any further.
"""

from __future__ import annotations

import email
import email.policy
import threading
import time
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


class _SaveMessages:
    """aiosmtpd's handler: keep each message, and write it to `folder`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.messages: list[EmailMessage] = []
        self.arrived = threading.Condition()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self.arrived:
            self.messages.append(message)
            path = self.folder / f"{time.strftime('%Y%m%d-%H%M%S')}-{len(self.messages)}.eml"
            path.write_bytes(envelope.content)
            print(f"mail to {', '.join(envelope.rcpt_tos)} saved in {path}", flush=True)
            self.arrived.notify_all()
        return "250 Message accepted for delivery"


class Mailbox:
    """The SMTP server on 127.0.0.1:`port`, saving into `folder`; `stop()` ends it."""

    def __init__(self, port: int, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.port = port
        self._handler = _SaveMessages(folder)
        self._controller = Controller(self._handler, hostname="127.0.0.1", port=port)
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()

    def messages_to(self, address: str) -> list[EmailMessage]:
        with self._handler.arrived:
            return [m for m in self._handler.messages if address in str(m["To"])]

    def wait_for_mail(self, address: str, count: int = 1, timeout: float = 30) -> EmailMessage:
        """The `count`-th mail to `address`, waiting up to `timeout` seconds for it."""
        deadline = time.monotonic() + timeout
        with self._handler.arrived:
            while True:
                found = [m for m in self._handler.messages if address in str(m["To"])]
                if len(found) >= count:
                    return found[count - 1]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no mail {count} to {address} within {timeout} s")
                self._handler.arrived.wait(left)
