"""Request ids and logs: every response carries X-Request-ID, and so does its log line.

Where log lines go, and as what, is the process's choice, not the app's: under gunicorn,
gunicorn.conf.py writes every logger's lines as JSON objects; `flask run` uses Flask's default
handler. The factory only adds what is the same for every app (the filter, the level), so the
many apps of one test run or notebook never change each other's logging.
"""

import logging
import re
import time
from uuid import uuid4

from flask import Flask, Response, g, has_request_context, request

# An incoming id is echoed only if it is short and plain; anything else gets a fresh one.
SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def request_id() -> str:
    if "request_id" not in g:
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if SAFE_REQUEST_ID.fullmatch(incoming) else uuid4().hex
    return g.request_id


class RequestIdFilter(logging.Filter):
    """Adds the current request's id to every log record made while handling it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if has_request_context():
            record.request_id = request_id()
        return True


REQUEST_ID_FILTER = RequestIdFilter()


def init_app(app: Flask) -> None:
    # Every app of this package shares one logger, "app": adding the same filter again is a no-op.
    app.logger.addFilter(REQUEST_ID_FILTER)
    app.logger.setLevel(logging.INFO)

    @app.before_request
    def start_timer() -> None:
        g.started = time.perf_counter()

    @app.after_request
    def log_request(response: Response) -> Response:
        response.headers["X-Request-ID"] = request_id()
        duration_ms = round((time.perf_counter() - g.get("started", time.perf_counter())) * 1000, 1)
        app.logger.info(
            "%s %s %s %.1fms",
            request.method,
            request.full_path.rstrip("?"),
            response.status_code,
            duration_ms,
            extra={
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": duration_ms,
                "remote_addr": request.remote_addr,
            },
        )
        return response
