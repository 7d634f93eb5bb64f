"""The application factory: `create_app(settings)` says what the app is made of."""

from __future__ import annotations

from typing import Any, cast

from hypercorn.middleware import ProxyFixMiddleware
from quart import Quart
from quart_jwt_extended import JWTManager
from quart_schema import HttpSecurityScheme, Info, QuartSchema

from settings import Config, load_settings

from ..domain.accounts.user_repository import ensure_user_indexes
from ..domain.books.book_repository import ensure_book_indexes
from ..domain.jobs.job_repository import ensure_job_indexes
from ..observability.logs import configure_logging
from ..storage.broker import create_celery
from .http import body_limits, json_body, no_sessions, problems
from .http.json_provider import OrjsonProvider
from .http.paths import OPENAPI_PATH
from .middleware.asgi_types import ASGIApp
from .middleware.cached_reads import CachedReads
from .middleware.compression import Compression
from .middleware.request_log import RequestLog
from .middleware.websocket_denials import WebsocketDenials
from .openapi import completion
from .openapi.problem_schema import document_dependency_outages
from .pages import console_page, docs_page, metrics_page
from .routes import (
    auth_routes,
    book_routes,
    health_routes,
    job_event_routes,
    job_routes,
    user_routes,
)
from .security.signing_keys import verify_with
from .services import app_services
from .services.app_services import AppServices
from .services.connections import StartupWrite

INDEX_BUILDERS: list[StartupWrite] = [ensure_book_indexes, ensure_user_indexes, ensure_job_indexes]
ROUTES = (health_routes, auth_routes, user_routes, book_routes, job_routes, job_event_routes)


def create_app(settings: Config | None = None) -> Quart:
    """Build the app from `settings` (default: the environment's config class)."""
    settings = settings or load_settings()
    configure_logging(settings)
    app = Quart(__name__, static_folder=None)
    app.config.from_mapping(settings.quart_config())
    services = AppServices(settings, create_celery(settings), INDEX_BUILDERS)
    app_services.attach(app, services)
    document_with_openapi(app)
    verify_with(JWTManager(app), services.signing_keys)
    no_sessions.init_app(app)
    # Request hooks run in the order registered: the body limit before anything reads a body.
    body_limits.init_app(app, settings)
    json_body.init_app(app)
    problems.init_app(app)
    metrics_page.init_app(app, settings)
    docs_page.init_app(app)
    console_page.init_app(app)
    for routes in ROUTES:
        app.register_blueprint(routes.blueprint)
    document_dependency_outages(app, "/api/")
    # Around the app, outermost first: the client's address from trusted proxies; the
    # request id, log line, metrics and common headers of every request; cache hits
    # answered before Quart builds a request; gzip for the rest; a refused websocket
    # handshake's body in one message (Granian takes no more).
    quart_app = cast(ASGIApp, app.asgi_app)
    app.asgi_app = behind_trusted_proxies(  # type: ignore[assignment,method-assign]
        RequestLog(CachedReads(Compression(WebsocketDenials(quart_app)), services)),
        settings.TRUSTED_PROXY_HOPS,
    )
    return app


def document_with_openapi(app: Quart) -> None:
    QuartSchema(
        app,
        info=Info(title="bookapi", version="1.0.0", description="Async book catalog API"),
        openapi_path=OPENAPI_PATH,
        swagger_ui_path=None,  # pages/docs_page.py serves it without a CDN
        redoc_ui_path=None,
        scalar_ui_path=None,
        security_schemes={"bearer": HttpSecurityScheme(scheme="bearer", bearer_format="JWT")},
    )
    # After QuartSchema, which installs a JSON provider of its own (the standard library's
    # json); ours keeps its `default` for the types it knows.
    app.json = OrjsonProvider(app, fallback=app.json)
    completion.init_app(app)


def behind_trusted_proxies(app: ASGIApp, hops: int) -> ASGIApp:
    if not hops:
        return app
    # Behind a load balancer the client's address (which rate limits key on) is the one the
    # trusted proxies put in X-Forwarded-For, not the proxy's own.
    return cast(ASGIApp, ProxyFixMiddleware(cast(Any, app), mode="legacy", trusted_hops=hops))
