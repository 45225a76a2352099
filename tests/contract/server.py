"""final/ served for real on 127.0.0.1: werkzeug's server in a thread, SQLite in a folder of
its own, an admin and the demo catalogue. The contract checks call it over HTTP, as any client
would."""

import logging
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import Flask
from werkzeug.serving import make_server

FINAL = Path(__file__).resolve().parents[2] / "final"
ADMIN = {"email": "admin@example.com", "password": "contract-admin-password"}
UNLIMITED = "1000000 per hour"  # the checks send thousands of requests: no 429 in their way


@contextmanager
def serve_final(folder: Path) -> Iterator[tuple[str, Flask]]:
    """Serve final/ until the block ends; yields its base URL (http://127.0.0.1:40123) and app."""
    sys.path.insert(0, str(FINAL))  # this process imports no other stage's `app`
    from app import create_app

    app = create_app(
        {
            "APP_CONFIG": "development",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'library.db'}",
            "RATELIMIT_DEFAULT": UNLIMITED,
            "RATELIMIT_WRITE": UNLIMITED,
            "LOGIN_RATE_LIMIT": UNLIMITED,
            # The checks register hundreds of accounts: a fast hash, as the tests' config has.
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        }
    )
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request: the app's
    app.logger.setLevel(logging.WARNING)  # own log says the same, and the checks send thousands
    runner = app.test_cli_runner()
    for args in (
        ["init-db"],
        ["seed"],
        ["create-admin", "--email", ADMIN["email"], "--password", ADMIN["password"]],
    ):
        result = runner.invoke(args=args)
        assert result.exit_code == 0, result.output
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", app
    finally:
        server.shutdown()
        thread.join()


if __name__ == "__main__":  # serve by hand: python tests/contract/server.py
    import tempfile
    import time

    with tempfile.TemporaryDirectory() as tmp, serve_final(Path(tmp)) as (url, _):
        print(f"Serving final/ on {url}; admin: {ADMIN['email']} / {ADMIN['password']}", flush=True)
        while True:
            time.sleep(3600)
