"""gunicorn settings for final/. From this folder: `gunicorn` (it reads this file by itself).

The environment configures the app (APP_CONFIG, DATABASE_URL, REDIS_URL, SECRET_KEY, ...) and
where and how it is served (BIND, WEB_CONCURRENCY). Several workers share nothing but the
database and Redis: without REDIS_URL, each would count rate limits and cache on its own, so
more than one worker without it refuses to start.
"""

import logging
import os

# Served by gunicorn means production unless said otherwise: its checks refuse a missing or
# default SECRET_KEY, where the development config would quietly sign tokens with a known key.
os.environ.setdefault("APP_CONFIG", "production")

wsgi_app = "app:create_app()"
bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "4"))
timeout = 30
graceful_timeout = 20  # on SIGTERM, each worker finishes the request it is serving, for up to 20 s

# Every log line is one JSON object: gunicorn's own, the app's (with its request id), and those of
# Flask-Caching, Flask-Limiter and SQLAlchemy, which reach the root logger.
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "datefmt": "%Y-%m-%dT%H:%M:%S%z",
            "rename_fields": {
                "asctime": "time",
                "levelname": "level",
                "name": "logger",
                "exc_info": "exception",  # a traceback is one string in the object, not 20 lines
            },
        }
    },
    "filters": {"request_id": {"()": "app.observability.RequestIdFilter"}},
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stderr",
            "formatter": "json",
            "filters": ["request_id"],
        }
    },
    "root": {"level": "INFO", "handlers": ["stderr"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["stderr"], "propagate": False},
        # The app logs every request itself, with its request id. Set INFO to have gunicorn's
        # access line as well (as JSON too).
        "gunicorn.access": {"level": "WARNING", "handlers": ["stderr"], "propagate": False},
    },
}
logging.captureWarnings(True)  # Python warnings (SQLAlchemy's, say) as log records, so JSON too


def on_starting(server):
    """Build the app once in the master first: a bad setting (say, no SECRET_KEY) then stops
    gunicorn with its message, instead of failing in every worker it keeps restarting."""
    from app import create_app
    from config import ConfigError

    try:
        app = create_app()
        in_memory = (
            app.config["RATELIMIT_STORAGE_URI"] == "memory://"
            or app.config["CACHE_TYPE"] == "SimpleCache"
        )
        if server.cfg.workers > 1 and in_memory:
            raise ConfigError(
                f"{server.cfg.workers} workers and no REDIS_URL: each worker would keep its own "
                "cache and rate limits, and serve data another worker has changed. "
                "Set REDIS_URL, or run one worker (WEB_CONCURRENCY=1)."
            )
    except ConfigError as error:
        server.log.critical(str(error))  # one line, JSON like every other
        raise SystemExit(1) from None
