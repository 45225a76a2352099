"""Extensions are created once, here, and bound to each app in create_app() with init_app()."""

import sqlite3

from flask import current_app
from flask_caching import Cache
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_marshmallow import Marshmallow
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import Engine, event
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)
ma = Marshmallow()
cache = Cache()

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


@event.listens_for(Engine, "connect")
def configure_sqlite(dbapi_connection, connection_record):
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")  # SQLite ignores them unless asked, per connection
        cursor.execute("PRAGMA case_sensitive_like=ON")  # LIKE as in PostgreSQL; ILIKE for the rest
        cursor.close()
