"""The Library API: an application factory builds a new, fully configured app on each call."""

import os
from collections.abc import Mapping
from pathlib import Path

from flask import Flask
from werkzeug.exceptions import NotFound
from werkzeug.routing import IntegerConverter

from app import cli, errors, guards, http_caching, observability, openapi, routes
from app.blueprints.books import books_bp
from app.blueprints.loans import loans_bp
from app.blueprints.users import users_bp
from app.extensions import cache, db, limiter, ma, migrate, retry_after_only_on_429
from config import get_config


def create_app(config: str | Mapping | None = None) -> Flask:
    """Build the app.

    `config` is a configuration name ("development", "testing", "production"), a mapping of
    settings to override (its "APP_CONFIG" key, if any, names the base configuration), or None.
    The base configuration defaults to the APP_CONFIG environment variable, then "development".
    """
    overrides = dict(config) if isinstance(config, Mapping) else {}
    name = config if isinstance(config, str) else overrides.pop("APP_CONFIG", None)
    config_class = get_config(name or os.environ.get("APP_CONFIG", "development"))

    app = Flask(__name__, instance_relative_config=True)
    app.url_map.converters["int"] = DatabaseIdConverter
    app.config.from_object(config_class)
    app.config.from_mapping(config_class.from_environment())
    app.config.from_mapping(overrides)
    config_class.check(app.config)

    observability.init_app(app)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(app.root_path).parent / "migrations"))
    ma.init_app(app)
    # Flask runs after_request hooks last-registered first: this one runs after the limiter's.
    app.after_request(retry_after_only_on_429)
    limiter.init_app(app)
    cache.init_app(app)
    http_caching.init_app(app)
    errors.register_error_handlers(app)
    guards.init_app(app)
    cli.register_commands(app)
    routes.register_routes(app)
    app.register_blueprint(users_bp, url_prefix="/users")
    app.register_blueprint(books_bp, url_prefix="/books")
    app.register_blueprint(loans_bp, url_prefix="/loans")
    openapi.init_app(app)
    return app


class DatabaseIdConverter(IntegerConverter):
    """`<int:...>` in a URL: an id too big for the database is a 404, not a database error."""

    def to_python(self, value: str) -> int:
        number = super().to_python(value)
        if number > 2**31 - 1:
            raise NotFound()  # no such row can exist, whatever the method
        return number
