"""Configuration classes: the only place that reads the environment and `.env`.

`BOOKAPI_ENV` picks the class (`development`, `testing`, `production`). Real environment
variables win over `.env`, so a deployment never depends on a file that happens to lie
around. Each setting is declared once, below, as a typed class attribute with its default
and a comment that says what it means; an environment variable of the same name sets it,
converted by its declared type (a bad value names the variable).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar, get_type_hints
from urllib.parse import urlsplit

from dotenv import dotenv_values

PROJECT_DIR = Path(__file__).resolve().parent

# Development default: fine on a laptop, refused by ProductionConfig.
DEV_JWT_SECRET_KEY = "dev-jwt-secret-key-change-me-in-production-00"
DEV_SECRETS = {DEV_JWT_SECRET_KEY}
MIN_SECRET_BYTES = 32
# Pinned: tokens signed with anything else (none, HS512) are refused.
JWT_ALGORITHM = "HS256"
TRUE_WORDS, FALSE_WORDS = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


class ConfigError(RuntimeError):
    """A setting is missing or unsafe; the message names the variable to set."""


def read_environment(env_file: Path | None = PROJECT_DIR / ".env") -> dict[str, str]:
    """Merge `.env` under the real environment (the environment wins)."""
    values: dict[str, str] = {}
    if env_file is not None and env_file.is_file():
        values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    values.update(os.environ)
    return values


def parse_setting(name: str, raw: str, kind: type) -> Any:
    """`raw` (an environment variable's text) as a value of `kind`; ConfigError if it is not."""
    if kind is str:
        return raw
    if kind is bool:
        word = raw.strip().lower()
        if word in TRUE_WORDS | FALSE_WORDS:
            return word in TRUE_WORDS
        raise ConfigError(f"{name} must be true or false, got {raw!r}")
    try:
        return kind(raw)
    except ValueError as error:
        raise ConfigError(f"{name} must be {kind.__name__}, got {raw!r}") from error


class Config:
    """Settings shared by every environment; subclasses change the defaults."""

    # Fixed by the class, not by the environment.
    DEBUG: ClassVar[bool] = False
    TESTING: ClassVar[bool] = False

    # Tokens
    JWT_SECRET_KEY: str = DEV_JWT_SECRET_KEY  # signs new tokens (HS256; `kid` names it)
    # Keys that signed tokens before the last rotation: still verified, never used to sign.
    JWT_PREVIOUS_SECRET_KEYS: str = ""  # comma-separated
    JWT_ISSUER: str = "bookapi"  # `iss` of every token; a token from another issuer is refused
    JWT_AUDIENCE: str = "bookapi"  # `aud` of every token; one for another audience is refused
    JWT_ACCESS_TOKEN_MINUTES: int = 15
    JWT_REFRESH_TOKEN_DAYS: int = 14

    # MongoDB
    MONGO_URI: str = "mongodb://127.0.0.1:27017/bookapi"
    MONGO_DB: str = ""  # empty: the database named in MONGO_URI, else "bookapi"
    MONGO_DRIVER: str = "pymongo"  # PyMongo's AsyncMongoClient; "motor" (end of life) works
    MONGO_TIMEOUT_MS: int = 2000  # an unreachable server fails a request after about this
    # The most an API request's database operation may take (PyMongo's client-side operation
    # timeout, which also tells the server to stop, maxTimeMS): a hung or slow server is a
    # 503 after this, and an abandoned query does not go on scanning.
    MONGO_OPERATION_TIMEOUT_MS: int = 3000

    # Redis
    REDIS_URL: str = "redis://127.0.0.1:6379/0"
    REDIS_TIMEOUT_SECONDS: float = 1.0  # a command's read timeout (an outage: a quick 503)
    # Connections of an API process's Redis pool; a request waits (up to the timeout) for one.
    REDIS_MAX_CONNECTIONS: int = 64
    REDIS_PREFIX: str = "bookapi:"  # every key and channel this app uses starts with it
    # Redis Sentinel: with REDIS_SENTINELS set (comma-separated host:port of the sentinels),
    # every Redis user, the Celery broker included, finds the primary of REDIS_SENTINEL_MASTER
    # through them and follows a failover; REDIS_URL then gives only the database number and
    # the credentials. Empty: REDIS_URL is the one Redis.
    REDIS_SENTINELS: str = ""
    REDIS_SENTINEL_MASTER: str = "mymaster"
    REDIS_SENTINEL_PASSWORD: str = ""  # the sentinels' own password, if they have one
    # Revoked tokens live in Redis: one that keeps no data across a restart makes every
    # logged-out token valid again. Checked at startup (an error line if so); on in production.
    REDIS_CHECK_PERSISTENCE: bool = False

    # Request limits and answers
    MAX_JSON_BYTES: int = 1024 * 1024
    MAX_IMPORT_BYTES: int = 100 * 1024 * 1024
    RETRY_AFTER_SECONDS: int = 5  # the Retry-After of a 503
    LOGIN_FAILURES_PER_MINUTE: int = 5  # per client address and email
    REGISTRATIONS_PER_HOUR: int = 20  # per client address
    # Password-reset requests per hour, per email and per client address.
    RESET_REQUESTS_PER_EMAIL_PER_HOUR: int = 3
    RESET_REQUESTS_PER_ADDRESS_PER_HOUR: int = 20
    WS_AUTH_TIMEOUT_SECONDS: float = 5.0  # for a websocket's first-message authentication
    # A request body that stops arriving for this long is refused with 408 (a slow client
    # holds neither the request nor its memory).
    BODY_IDLE_TIMEOUT_SECONDS: float = 10.0
    # Proxies in front of the API whose X-Forwarded-For is trusted (0: clients connect directly).
    TRUSTED_PROXY_HOPS: int = 0
    # Rendered books kept per API process (0: no cache), and how long an entry may live.
    BOOK_CACHE_ENTRIES: int = 10_000
    BOOK_CACHE_SECONDS: float = 60.0
    # Misses of single books read together, up to this many in one query; 1: a query each;
    # 0: as the server reads well (100 on MongoDB, 1 on FerretDB v1, which scans for `$in`).
    BOOK_READ_BATCH: int = 0

    # Jobs (Celery on Redis)
    CELERY_BROKER_URL: str = ""  # empty: REDIS_URL
    CELERY_QUEUE: str = "bookapi-jobs"
    # Short tasks (the reaper, retention, reset mails) run on a queue of their own, so a dead
    # worker's job is taken back, and a mail sent, even while every job worker is busy (run
    # one worker with -Q on it; see the README).
    CELERY_MAINTENANCE_QUEUE: str = "bookapi-maintenance"
    # Where beat keeps its schedule; empty: var/celerybeat-<CELERY_QUEUE> in this checkout.
    CELERY_BEAT_SCHEDULE_FILE: str = ""
    # Redis redelivers a task nobody acknowledged after this long: longer than any job.
    CELERY_VISIBILITY_TIMEOUT_SECONDS: int = 6 * 60 * 60
    BROKER_PUBLISH_TIMEOUT_SECONDS: float = 3.0  # a submit gets 503 past this
    IMPORT_BATCH_SIZE: int = 2000  # one batch is written while the next is read
    # A running job stamps a heartbeat this often; one silent for JOB_STALE_SECONDS is
    # taken to be dead and requeued by the reaper, or failed after JOB_MAX_LAPSES deaths.
    JOB_HEARTBEAT_SECONDS: float = 10.0
    JOB_STALE_SECONDS: float = 60.0
    JOB_MAX_LAPSES: int = 3
    JOB_MAINTENANCE_SECONDS: float = 30.0  # how often beat runs the reaper and retention
    JOB_RETENTION_DAYS: float = 7.0  # ended jobs and their files go this long after the end

    # A fresh deployment's first admin, made at startup when there is no admin yet (a
    # container needs no shell for it); remove both once it exists. The password must pass
    # the registration rules.
    FIRST_ADMIN_EMAIL: str = ""
    FIRST_ADMIN_PASSWORD: str = ""

    # Mail (the worker sends reset links). Development and the tests run a local SMTP server
    # on 127.0.0.1:1025 (`./bootstrap.sh` starts one and says where its mail lands).
    SMTP_HOST: str = "127.0.0.1"
    SMTP_PORT: int = 1025
    SMTP_USERNAME: str = ""  # empty: no login
    SMTP_PASSWORD: str = ""
    SMTP_STARTTLS: bool = False  # on in production: credentials and links cross the network
    SMTP_TIMEOUT_SECONDS: float = 10.0
    MAIL_FROM: str = "bookapi <no-reply@bookapi.localhost>"
    # Where users reach the console: the base of the links in emails.
    PUBLIC_URL: str = "http://127.0.0.1:5000"

    # Observability
    LOG_FORMAT: str = ""  # "json" or "text"; empty: JSON lines in production, text otherwise
    LOG_LEVEL: str = "INFO"
    METRICS_TOKEN: str = ""  # empty: /metrics is off; set: served to `Bearer <METRICS_TOKEN>`

    def __init__(self, environ: Mapping[str, str] | None = None, **overrides: Any) -> None:
        env = read_environment() if environ is None else environ
        declared = self.declared()
        for name, kind in declared.items():
            if env.get(name, "") != "":
                setattr(self, name, parse_setting(name, env[name], kind))
        for name, value in overrides.items():
            if name not in declared:
                raise ConfigError(f"unknown setting {name}")
            setattr(self, name, value)
        self.validate()

    @classmethod
    def declared(cls) -> dict[str, type]:
        """Every setting the environment may set, with its type."""
        hints = get_type_hints(cls, include_extras=False)
        return {
            name: kind
            for name, kind in hints.items()
            if name.isupper() and name not in ("DEBUG", "TESTING")
        }

    def validate(self) -> None:
        """Reject settings the app cannot run with."""
        if self.MONGO_DRIVER not in ("motor", "pymongo"):
            raise ConfigError(
                f"MONGO_DRIVER must be 'motor' or 'pymongo', got {self.MONGO_DRIVER!r}"
            )
        if self.LOG_FORMAT not in ("", "json", "text"):
            raise ConfigError(f"LOG_FORMAT must be 'json' or 'text', got {self.LOG_FORMAT!r}")
        self.sentinel_addresses  # noqa: B018 (raises ConfigError for a malformed list)
        if bool(self.FIRST_ADMIN_EMAIL) != bool(self.FIRST_ADMIN_PASSWORD):
            raise ConfigError("FIRST_ADMIN_EMAIL and FIRST_ADMIN_PASSWORD go together: set both")
        if not 0 < 2 * self.JOB_HEARTBEAT_SECONDS <= self.JOB_STALE_SECONDS:
            # A live job that misses one beat (a slow write) must not be taken for dead.
            raise ConfigError(
                "JOB_STALE_SECONDS must be at least twice JOB_HEARTBEAT_SECONDS (both positive)"
            )

    @property
    def broker_url(self) -> str:
        """CELERY_BROKER_URL, else the Redis of REDIS_URL: through Kombu's sentinel transport
        (one `sentinel://` URL per sentinel, with REDIS_URL's database and password) when
        REDIS_SENTINELS is set."""
        if self.CELERY_BROKER_URL or not self.REDIS_SENTINELS:
            return self.CELERY_BROKER_URL or self.REDIS_URL
        parsed = urlsplit(self.REDIS_URL)
        login = f":{parsed.password}@" if parsed.password else ""
        database = parsed.path if parsed.path not in ("", "/") else "/0"
        return ";".join(
            f"sentinel://{login}{host}:{port}{database}" for host, port in self.sentinel_addresses
        )

    @property
    def sentinel_addresses(self) -> list[tuple[str, int]]:
        """REDIS_SENTINELS as (host, port) pairs; ConfigError for a malformed entry."""
        addresses = []
        for entry in filter(None, (part.strip() for part in self.REDIS_SENTINELS.split(","))):
            host, _, port = entry.rpartition(":")
            if not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise ConfigError(f"REDIS_SENTINELS must be host:port,... got {entry!r}")
            addresses.append((host, int(port)))
        return addresses

    @property
    def access_token_lifetime(self) -> timedelta:
        return timedelta(minutes=self.JWT_ACCESS_TOKEN_MINUTES)

    @property
    def refresh_token_lifetime(self) -> timedelta:
        return timedelta(days=self.JWT_REFRESH_TOKEN_DAYS)

    def quart_config(self) -> dict[str, Any]:
        """What Quart and quart-jwt-extended read from `app.config` (the app's own code reads
        the typed settings instead)."""
        return {
            "DEBUG": self.DEBUG,
            "TESTING": self.TESTING,
            # The largest body any route takes; JSON routes lower it to MAX_JSON_BYTES.
            "MAX_CONTENT_LENGTH": max(self.MAX_IMPORT_BYTES, self.MAX_JSON_BYTES),
            "JWT_SECRET_KEY": self.JWT_SECRET_KEY,
            "JWT_ALGORITHM": JWT_ALGORITHM,
            "JWT_DECODE_ALGORITHMS": [JWT_ALGORITHM],
            "JWT_TOKEN_LOCATION": ["headers"],
            "JWT_IDENTITY_CLAIM": "sub",
            "JWT_DECODE_ISSUER": self.JWT_ISSUER,
            "JWT_DECODE_AUDIENCE": self.JWT_AUDIENCE,
            "JWT_ACCESS_TOKEN_EXPIRES": self.access_token_lifetime,
            "JWT_REFRESH_TOKEN_EXPIRES": self.refresh_token_lifetime,
            # Errors render as problem details, never as Quart's debug page.
            "PROPAGATE_EXCEPTIONS": False,
        }


class DevelopmentConfig(Config):
    DEBUG = True


class TestingConfig(Config):
    TESTING = True
    MONGO_URI = "mongodb://127.0.0.1:27017/bookapi_test"


class ProductionConfig(Config):
    JWT_SECRET_KEY = ""
    REDIS_CHECK_PERSISTENCE = True
    SMTP_STARTTLS = True

    def validate(self) -> None:
        super().validate()
        value = self.JWT_SECRET_KEY
        if not value:
            raise ConfigError("JWT_SECRET_KEY is not set: set it to a random string of 32+ bytes")
        if value in DEV_SECRETS:
            raise ConfigError("JWT_SECRET_KEY is a development default: set a secret of your own")
        if len(value.encode()) < MIN_SECRET_BYTES:
            raise ConfigError(
                f"JWT_SECRET_KEY is shorter than {MIN_SECRET_BYTES} bytes: set a longer one"
            )
        for previous in self.JWT_PREVIOUS_SECRET_KEYS.split(","):
            previous = previous.strip()
            if previous and (previous in DEV_SECRETS or len(previous.encode()) < MIN_SECRET_BYTES):
                raise ConfigError(
                    "JWT_PREVIOUS_SECRET_KEYS holds a development or short key: drop it"
                )


CONFIG_CLASSES: dict[str, type[Config]] = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def load_settings(environ: Mapping[str, str] | None = None) -> Config:
    """Build the config class that `BOOKAPI_ENV` names, filled from the environment."""
    env = read_environment() if environ is None else environ
    # Unset means production: a deployment that forgets to say what it is must not start
    # with development secrets. The repository's `.env` says development for local runs.
    name = env.get("BOOKAPI_ENV", "production")
    try:
        config_class = CONFIG_CLASSES[name]
    except KeyError as error:
        choices = ", ".join(CONFIG_CLASSES)
        raise ConfigError(f"BOOKAPI_ENV must be one of {choices}, got {name!r}") from error
    return config_class(env)
