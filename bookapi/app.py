"""The application factory: `create_app(settings)` wires the extensions and blueprints."""

from __future__ import annotations

from hypercorn.middleware import ProxyFixMiddleware
from quart import Quart
from quart_jwt_extended import JWTManager
from quart_schema import HttpSecurityScheme, Info, QuartSchema

from settings import Config, load_settings

from .api import (
    body_limits,
    connections,
    console_page,
    docs_page,
    going_away,
    headers,
    job_queue,
    json_body,
    metrics_route,
    no_sessions,
    openapi_doc,
    problems,
    pubsub,
    request_log,
)
from .api.json_provider import OrjsonProvider
from .api.problem_schema import document_dependency_outages
from .auth import signing_keys
from .auth.users import ensure_user_indexes
from .blueprints import auth, books, health, jobs
from .blueprints import job_events as job_events_routes
from .books.repository import ensure_book_indexes
from .cli import admin, bulk
from .jobs.repository import ensure_job_indexes
from .observability.logs import configure_logging
from .worker.celery_app import create_celery


def create_app(settings: Config | None = None) -> Quart:
    """Build the app from `settings` (default: the environment's config class)."""
    settings = settings or load_settings()
    app = Quart(__name__, static_folder=None)
    app.config.from_mapping(settings.quart_config())
    if settings.TRUSTED_PROXY_HOPS:
        # Behind a load balancer the client's address (which rate limits key on) is the
        # one the trusted proxies put in X-Forwarded-For, not the proxy's own.
        app.asgi_app = ProxyFixMiddleware(  # type: ignore[method-assign]
            app.asgi_app, mode="legacy", trusted_hops=settings.TRUSTED_PROXY_HOPS
        )
    configure_logging(settings)

    QuartSchema(
        app,
        info=Info(title="bookapi", version="1.0.0", description="Async book catalog API"),
        openapi_path="/openapi.json",
        swagger_ui_path=None,  # api/docs_page.py serves it without a CDN
        redoc_ui_path=None,
        scalar_ui_path=None,
        security_schemes={"bearer": HttpSecurityScheme(scheme="bearer", bearer_format="JWT")},
    )
    # After QuartSchema, which installs a JSON provider of its own (the standard library's
    # json); ours keeps its `default` for the types it knows.
    app.json = OrjsonProvider(app, fallback=app.json)
    signing_keys.init_app(app, JWTManager(app))
    no_sessions.init_app(app)
    request_log.init_app(app)  # first: every later hook's log lines carry the request id
    metrics_route.init_app(app)
    problems.init_app(app)
    headers.init_app(app)
    docs_page.init_app(app)
    console_page.init_app(app)
    going_away.init_app(app)
    openapi_doc.init_app(app)
    body_limits.init_app(app)
    json_body.init_app(app)
    connections.init_app(
        app, settings, index_builders=[ensure_book_indexes, ensure_user_indexes, ensure_job_indexes]
    )
    job_queue.init_app(app, create_celery(settings))
    pubsub.init_app(app, settings)
    admin.init_app(app, settings)
    bulk.init_app(app, settings)
    for module in (health, auth, books, jobs, job_events_routes):
        app.register_blueprint(module.blueprint)
    document_dependency_outages(app, "/api/")
    return app
