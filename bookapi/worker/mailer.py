"""Sending mail through the configured SMTP server (blocking, as Celery task bodies are)."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from settings import Config

from ..domain.timestamps import utc_now


def send_mail(settings: Config, to: str, subject: str, text: str) -> None:
    """Send a plain-text mail; raises smtplib.SMTPException or OSError if it is not taken
    (the task retries)."""
    message = EmailMessage()
    message["From"] = settings.MAIL_FROM
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(utc_now())
    message["Message-ID"] = make_msgid(domain="bookapi")
    message.set_content(text)
    with smtplib.SMTP(
        settings.SMTP_HOST, settings.SMTP_PORT, timeout=settings.SMTP_TIMEOUT_SECONDS
    ) as smtp:
        if settings.SMTP_STARTTLS:
            smtp.starttls(context=ssl.create_default_context())
        if settings.SMTP_USERNAME:
            smtp.login(settings.SMTP_USERNAME, settings.SMTP_PASSWORD)
        smtp.send_message(message)
