"""Extensions are created once, here, and bound to each app in create_app() with init_app()."""

import sqlite3
from functools import wraps

from flask import Response, current_app
from flask_caching import Cache
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_marshmallow import Marshmallow
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import Engine, MetaData, event
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    # Named constraints: a migration can then drop or alter them by name, on any database.
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class SuccessOnlyCache(Cache):
    """@cache.cached keeps a view's answer only when it is a 200, never an error, and keeps the
    bytes that were sent.

    Since 2.5, Flask-Caching also stores an abort() and raises it again from the cache: a 404
    would outlive the book's creation (by the CLI, say) for five minutes, each bad query would
    take an entry, and an exception that cannot be unpickled logs a traceback on every repeat.

    Flask-Caching pickles whatever the view returns: a whole Response object, or a dict that
    every hit would encode to JSON again. Here it gets the answer as sent (as_sent): a hit
    unpickles bytes and a few headers, and sends the same bytes as the first answer.
    """

    def cached(self, *args, **kwargs):
        cached = super().cached(*args, response_filter=is_200, **kwargs)
        return lambda view: cached(as_sent(view))


def as_sent(view):
    """The view, answering with its response's body, status and headers: plain data to store."""

    @wraps(view)
    def answer(*args, **kwargs):
        response = current_app.make_response(view(*args, **kwargs))  # encoded here, once
        return response.get_data(), response.status_code, response.headers.to_wsgi_list()

    return answer


def is_200(response) -> bool:
    """The filter gets what the view returned (a dict, a tuple, a Response) or the error's
    response; Flask turns any of them into a Response the same way."""
    return current_app.make_response(response).status_code == 200


db = SQLAlchemy(model_class=Base)
ma = Marshmallow()
cache = SuccessOnlyCache()
migrate = Migrate(render_as_batch=True)  # batch mode: SQLite can only ALTER by copying a table

# Limits are callables that read the current app's config on each request: Flask-Limiter would
# otherwise keep the first app's limits for every app the factory makes (and every test).
limiter = Limiter(
    key_func=get_remote_address,  # one budget per client address
    default_limits=[lambda: current_app.config["RATELIMIT_DEFAULT"]],
    headers_enabled=True,  # X-RateLimit-* on every response, Retry-After on a 429
)
# Writes share one budget per client; logins have their own, stricter one.
write_limit = limiter.shared_limit(lambda: current_app.config["RATELIMIT_WRITE"], scope="write")
login_limit = limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"])


def retry_after_only_on_429(response: Response) -> Response:
    """Flask-Limiter writes Retry-After on every response, a 200 included. It means "wait before
    you try again": only a 429 keeps it."""
    if response.status_code != 429:
        response.headers.remove("Retry-After")
    return response


@event.listens_for(Engine, "connect")
def configure_sqlite(dbapi_connection, connection_record):
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")  # SQLite ignores them unless asked, per connection
        cursor.execute("PRAGMA case_sensitive_like=ON")  # LIKE as in PostgreSQL; ILIKE for the rest
        cursor.close()
