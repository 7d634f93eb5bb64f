"""Every Redis key, channel and lock the service uses, in one place.

Each name starts with the deployment's REDIS_PREFIX, so several deployments (or tests)
can share one Redis. The API and the worker build their names here and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RedisNames:
    prefix: str

    @property
    def job_events_channel(self) -> str:
        """The one pub/sub channel that carries every job's events (workers -> API)."""
        return f"{self.prefix}job-events"

    @property
    def book_changes_channel(self) -> str:
        """Announces changed books (comma-separated ids) to the API processes' caches."""
        return f"{self.prefix}book-changes"

    @property
    def token_endings_channel(self) -> str:
        """Announces tokens that may no longer be used (a logout, an account's new token
        generation), so every API process closes the websockets opened with them."""
        return f"{self.prefix}token-endings"

    def rate_limit(self, limit: str, subject: str) -> str:
        """The counter of `limit` for `subject` (a client address, an email)."""
        return f"{self.prefix}ratelimit:{limit}:{subject}"

    def revoked_token(self, jti: str) -> str:
        return f"{self.prefix}revoked:{jti}"

    def token_generation(self, user_id: str) -> str:
        """A user's token generation: tokens of an earlier one (issued before a password
        change, a reset, a demotion or a disablement) are refused."""
        return f"{self.prefix}token-generation:{user_id}"

    def password_reset(self, token_digest: str) -> str:
        """A pending password reset, by the SHA-256 of its token (the token itself is only
        in the email)."""
        return f"{self.prefix}password-reset:{token_digest}"

    @property
    def reaper_lock(self) -> str:
        """Held by the one reaper that runs at a time."""
        return f"{self.prefix}job-reaper"

    def job_take_lock(self, job_id: object) -> str:
        """Held while a job is taken, where the server's findAndModify is not atomic."""
        return f"{self.prefix}job-take:{job_id}"
