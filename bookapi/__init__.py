"""bookapi: an async book-catalog REST and websocket service."""

from __future__ import annotations

import logging

from hypercorn.middleware import ProxyFixMiddleware
from quart import Quart
from quart_jwt_extended import JWTManager
from quart_schema import HttpSecurityScheme, Info, QuartSchema

from settings import Config, load_settings

from . import (
    body_limits,
    commands,
    errors,
    job_commands,
    job_events,
    job_queue,
    json_body,
    mongo,
    rate_limits,
    redis_store,
)
from .blueprints import auth, books, health, job_stream, jobs
from .celery_app import create_celery
from .repos.books import ensure_book_indexes
from .repos.jobs import ensure_job_indexes
from .repos.users import ensure_user_indexes


def create_app(settings: Config | None = None) -> Quart:
    """Build the app from `settings` (default: the environment's config class)."""
    settings = settings or load_settings()
    app = Quart(__name__, static_folder=None)
    app.config.from_mapping(settings.quart_config())
    app.extensions["settings"] = settings  # for the CLI commands that run job code
    if settings.TRUSTED_PROXY_HOPS:
        # Behind a load balancer the client's address (which rate limits key on) is the
        # one the trusted proxies put in X-Forwarded-For, not the proxy's own.
        app.asgi_app = ProxyFixMiddleware(  # type: ignore[method-assign]
            app.asgi_app, mode="legacy", trusted_hops=settings.TRUSTED_PROXY_HOPS
        )
    logging.basicConfig(level=logging.INFO)
    logging.getLogger("bookapi").setLevel(logging.DEBUG if settings.DEBUG else logging.INFO)

    QuartSchema(
        app,
        info=Info(title="bookapi", version="1.0.0", description="Async book catalog API"),
        openapi_path="/openapi.json",
        swagger_ui_path="/docs",
        redoc_ui_path=None,
        scalar_ui_path=None,
        security_schemes={"bearer": HttpSecurityScheme(scheme="bearer", bearer_format="JWT")},
    )
    JWTManager(app)
    errors.init_app(app)
    body_limits.init_app(app)
    json_body.init_app(app)
    mongo.init_app(
        app, index_builders=[ensure_book_indexes, ensure_user_indexes, ensure_job_indexes]
    )
    redis_store.init_app(app)
    rate_limits.init_app(app)
    job_queue.init_app(app, create_celery(settings))
    job_events.init_app(app)
    commands.init_app(app)
    job_commands.init_app(app)
    for module in (health, auth, books, jobs, job_stream):
        app.register_blueprint(module.blueprint)
    return app
