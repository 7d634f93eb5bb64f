"""Configuration classes: the only place that reads the environment and `.env`.

`BOOKAPI_ENV` picks the class (`development`, `testing`, `production`). Real
environment variables win over `.env`, so a deployment never depends on a file
that happens to lie around.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from dotenv import dotenv_values

PROJECT_DIR = Path(__file__).resolve().parent

# Development defaults: fine on a laptop, refused by ProductionConfig.
DEV_SECRET_KEY = "dev-secret-key-change-me-in-production-0000"
DEV_JWT_SECRET_KEY = "dev-jwt-secret-key-change-me-in-production-00"
DEV_SECRETS = {DEV_SECRET_KEY, DEV_JWT_SECRET_KEY}
MIN_SECRET_BYTES = 32


class ConfigError(RuntimeError):
    """A setting is missing or unsafe; the message names the variable to set."""


def read_environment(env_file: Path | None = PROJECT_DIR / ".env") -> dict[str, str]:
    """Merge `.env` under the real environment (the environment wins)."""
    values: dict[str, str] = {}
    if env_file is not None and env_file.is_file():
        values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    values.update(os.environ)
    return values


def _parse(name: str, raw: str, kind: type) -> Any:
    if kind is str:
        return raw
    try:
        return kind(raw)
    except ValueError as error:
        raise ConfigError(f"{name} must be {kind.__name__}, got {raw!r}") from error


# The settings an environment variable of the same name may set.
ENVIRONMENT_SETTINGS = (
    "SECRET_KEY",
    "JWT_SECRET_KEY",
    "JWT_PREVIOUS_SECRET_KEYS",
    "JWT_ISSUER",
    "JWT_AUDIENCE",
    "MONGO_URI",
    "MONGO_DB",
    "MONGO_DRIVER",
    "MONGO_TIMEOUT_MS",
    "REDIS_URL",
    "REDIS_PREFIX",
    "CELERY_BROKER_URL",
    "MAX_JSON_BYTES",
    "MAX_IMPORT_BYTES",
    "JWT_ACCESS_TOKEN_MINUTES",
    "JWT_REFRESH_TOKEN_DAYS",
    "LOGIN_FAILURES_PER_MINUTE",
    "REGISTRATIONS_PER_HOUR",
    "CELERY_QUEUE",
    "CELERY_VISIBILITY_TIMEOUT_SECONDS",
    "BROKER_PUBLISH_TIMEOUT_SECONDS",
    "IMPORT_BATCH_SIZE",
    "WS_AUTH_TIMEOUT_SECONDS",
    "TRUSTED_PROXY_HOPS",
    "BOOK_CACHE_ENTRIES",
    "BOOK_CACHE_SECONDS",
    "REDIS_MAX_CONNECTIONS",
    "JOB_HEARTBEAT_SECONDS",
    "JOB_STALE_SECONDS",
    "JOB_MAINTENANCE_SECONDS",
    "JOB_MAX_LAPSES",
    "JOB_RETENTION_DAYS",
    "LOG_FORMAT",
    "LOG_LEVEL",
    "METRICS_TOKEN",
)


class Config:
    """Settings shared by every environment; subclasses change the defaults."""

    DEBUG = False
    TESTING = False
    SECRET_KEY = DEV_SECRET_KEY
    JWT_SECRET_KEY = DEV_JWT_SECRET_KEY
    # Keys that signed tokens before the last rotation: still verified, never used to sign.
    JWT_PREVIOUS_SECRET_KEYS = ""  # comma-separated
    JWT_ISSUER = "bookapi"  # `iss` of every token; a token from another issuer is refused
    JWT_AUDIENCE = "bookapi"  # `aud` of every token; a token for another audience is refused
    MONGO_URI = "mongodb://127.0.0.1:27017/bookapi"
    MONGO_DB = ""  # empty: the database named in MONGO_URI, else "bookapi"
    MONGO_DRIVER = "pymongo"  # PyMongo's AsyncMongoClient; "motor" (end of life) still works
    MONGO_TIMEOUT_MS = 2000
    REDIS_URL = "redis://127.0.0.1:6379/0"
    REDIS_TIMEOUT_SECONDS = 1.0
    # Connections of an API process's Redis pool; a request waits (up to the timeout) for one.
    REDIS_MAX_CONNECTIONS = 64
    REDIS_PREFIX = "bookapi:"  # every key this app writes starts with it
    CELERY_BROKER_URL = ""  # empty: REDIS_URL
    MAX_JSON_BYTES = 1024 * 1024
    MAX_IMPORT_BYTES = 100 * 1024 * 1024
    JWT_ACCESS_TOKEN_MINUTES = 15
    JWT_REFRESH_TOKEN_DAYS = 14
    RETRY_AFTER_SECONDS = 5
    LOGIN_FAILURES_PER_MINUTE = 5  # per client address and email
    REGISTRATIONS_PER_HOUR = 20  # per client address
    CELERY_QUEUE = "bookapi-jobs"
    # Redis redelivers a task nobody acknowledged after this long: longer than any job.
    CELERY_VISIBILITY_TIMEOUT_SECONDS = 6 * 60 * 60
    BROKER_PUBLISH_TIMEOUT_SECONDS = 3.0
    IMPORT_BATCH_SIZE = 500
    # A running job stamps a heartbeat this often; one silent for JOB_STALE_SECONDS is
    # taken to be dead and requeued by the reaper, or failed after JOB_MAX_LAPSES deaths.
    JOB_HEARTBEAT_SECONDS = 10.0
    JOB_STALE_SECONDS = 60.0
    JOB_MAX_LAPSES = 3
    # How often Celery beat runs the reaper and the retention purge.
    JOB_MAINTENANCE_SECONDS = 30.0
    # Ended jobs and their export files are deleted this long after they ended.
    JOB_RETENTION_DAYS = 7.0
    LOG_FORMAT = ""  # "json" or "text"; empty: JSON lines in production, text otherwise
    LOG_LEVEL = "INFO"
    METRICS_TOKEN = ""  # empty: /metrics is off; set: served to `Bearer <METRICS_TOKEN>`
    WS_AUTH_TIMEOUT_SECONDS = 5.0
    # Proxies in front of the API whose X-Forwarded-For is trusted (0: clients connect directly).
    TRUSTED_PROXY_HOPS = 0
    # Rendered books kept per API process (0: no cache), and how long an entry may live.
    BOOK_CACHE_ENTRIES = 10_000
    BOOK_CACHE_SECONDS = 60.0

    def __init__(self, environ: Mapping[str, str] | None = None, **overrides: Any) -> None:
        env = read_environment() if environ is None else environ
        for name in ENVIRONMENT_SETTINGS:
            if env.get(name, "") != "":
                setattr(self, name, _parse(name, env[name], type(getattr(self, name))))
        for name, value in overrides.items():
            if not name.isupper() or not hasattr(self, name):
                raise ConfigError(f"unknown setting {name}")
            setattr(self, name, value)
        self.validate()

    def validate(self) -> None:
        """Reject settings the app cannot run with."""
        if self.MONGO_DRIVER not in ("motor", "pymongo"):
            raise ConfigError(
                f"MONGO_DRIVER must be 'motor' or 'pymongo', got {self.MONGO_DRIVER!r}"
            )
        if self.LOG_FORMAT not in ("", "json", "text"):
            raise ConfigError(f"LOG_FORMAT must be 'json' or 'text', got {self.LOG_FORMAT!r}")
        if not 0 < 2 * self.JOB_HEARTBEAT_SECONDS <= self.JOB_STALE_SECONDS:
            # A live job that misses one beat (a slow write) must not be taken for dead.
            raise ConfigError(
                "JOB_STALE_SECONDS must be at least twice JOB_HEARTBEAT_SECONDS (both positive)"
            )

    @property
    def broker_url(self) -> str:
        return self.CELERY_BROKER_URL or self.REDIS_URL

    def quart_config(self) -> dict[str, Any]:
        """The settings as Quart and its extensions expect them."""
        values = {name: getattr(self, name) for name in dir(self) if name.isupper()}
        values.update(
            # The largest body any route takes; JSON routes lower it to MAX_JSON_BYTES.
            MAX_CONTENT_LENGTH=max(self.MAX_IMPORT_BYTES, self.MAX_JSON_BYTES),
            JWT_ALGORITHM="HS256",
            # Pinned: tokens signed with anything else (none, HS512) are refused.
            JWT_DECODE_ALGORITHMS=["HS256"],
            JWT_TOKEN_LOCATION=["headers"],
            JWT_IDENTITY_CLAIM="sub",
            JWT_DECODE_ISSUER=self.JWT_ISSUER,
            JWT_DECODE_AUDIENCE=self.JWT_AUDIENCE,
            JWT_ACCESS_TOKEN_EXPIRES=timedelta(minutes=self.JWT_ACCESS_TOKEN_MINUTES),
            JWT_REFRESH_TOKEN_EXPIRES=timedelta(days=self.JWT_REFRESH_TOKEN_DAYS),
            # Errors render as problem details, never as Quart's debug page.
            PROPAGATE_EXCEPTIONS=False,
        )
        return values


class DevelopmentConfig(Config):
    DEBUG = True


class TestingConfig(Config):
    TESTING = True
    MONGO_URI = "mongodb://127.0.0.1:27017/bookapi_test"


class ProductionConfig(Config):
    SECRET_KEY = ""
    JWT_SECRET_KEY = ""

    def validate(self) -> None:
        super().validate()
        for name in ("SECRET_KEY", "JWT_SECRET_KEY"):
            value = getattr(self, name)
            if not value:
                raise ConfigError(f"{name} is not set: set it to a random string of 32+ bytes")
            if value in DEV_SECRETS:
                raise ConfigError(f"{name} is a development default: set a secret of your own")
            if len(value.encode()) < MIN_SECRET_BYTES:
                raise ConfigError(
                    f"{name} is shorter than {MIN_SECRET_BYTES} bytes: set a longer one"
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
