"""bookapi: an async book-catalog REST and websocket service."""

from __future__ import annotations

import logging

from quart import Quart
from quart_jwt_extended import JWTManager
from quart_schema import HttpSecurityScheme, Info, QuartSchema

from settings import Config, load_settings

from . import commands, errors, json_body, mongo, rate_limits, redis_store
from .blueprints import auth, books, health
from .repos.books import ensure_book_indexes
from .repos.users import ensure_user_indexes


def create_app(settings: Config | None = None) -> Quart:
    """Build the app from `settings` (default: the environment's config class)."""
    settings = settings or load_settings()
    app = Quart(__name__, static_folder=None)
    app.config.from_mapping(settings.quart_config())
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
    json_body.init_app(app)
    mongo.init_app(app, index_builders=[ensure_book_indexes, ensure_user_indexes])
    redis_store.init_app(app)
    rate_limits.init_app(app)
    commands.init_app(app)
    app.register_blueprint(health.blueprint)
    app.register_blueprint(auth.blueprint)
    app.register_blueprint(books.blueprint)
    return app
