"""gunicorn settings for final/. From this folder: `gunicorn` (it reads this file by itself).

The environment configures the app (APP_CONFIG, DATABASE_URL, REDIS_URL, SECRET_KEY, ...) and
where and how it is served (BIND, WEB_CONCURRENCY). Several workers share nothing but the
database and Redis: without REDIS_URL, each worker counts rate limits and caches on its own.
"""

import os

# Served by gunicorn means production unless said otherwise: its checks refuse a missing or
# default SECRET_KEY, where the development config would quietly sign tokens with a known key.
os.environ.setdefault("APP_CONFIG", "production")

wsgi_app = "app:create_app()"
bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "4"))
timeout = 30
graceful_timeout = 20
accesslog = None  # the app logs every request itself, with its request id
errorlog = "-"


def on_starting(server):
    """Build the app once in the master first: a bad setting (say, no SECRET_KEY) then stops
    gunicorn with its message, instead of failing in every worker it keeps restarting."""
    from app import create_app

    create_app()
