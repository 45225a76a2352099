"""final/ as gunicorn serves it in production, on a SQLite file: no PostgreSQL or Redis needed.

What production refuses to start with, and what it writes to its log: one JSON object a line.
tests/integration/ serves it the same way on PostgreSQL and Redis.
"""

import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from app import create_app
from app.extensions import db
from tests.conftest import BOOK
from tests.integration.conftest import SECRET_KEY, Server, free_port, json_lines

FINAL = Path(__file__).parents[1]
NOWHERE = "redis://127.0.0.1:1/0"  # nothing listens on port 1: every connection is refused


def production(tmp_path, **settings) -> dict:
    """The environment of a production server on a SQLite file with its tables, without REDIS_URL
    unless `settings` name one."""
    url = f"sqlite:///{tmp_path}/app.db"
    app = create_app({"APP_CONFIG": "testing", "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        db.create_all()
        db.engine.dispose()
    inherited = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "WEB_CONCURRENCY")}
    return {
        **inherited,
        "APP_CONFIG": "production",
        "DATABASE_URL": url,
        "SECRET_KEY": SECRET_KEY,
        "BIND": f"127.0.0.1:{free_port()}",
        **settings,
    }


@contextmanager
def gunicorn(environment: dict, log: Path):
    """gunicorn, serving; on exit, SIGTERM to the master and wait until it has stopped."""
    with open(log, "w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn"],
            cwd=FINAL,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: killpg() reaches every worker
        )
        server = Server(f"http://{environment['BIND']}", process, log)
        try:
            deadline = time.monotonic() + 30
            while not _answers(server):
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
            yield server
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def _answers(server: Server) -> bool:
    try:
        return server.request("GET", "/health").status == 200
    except OSError:
        return False


@pytest.mark.parametrize(
    ("arguments", "settings", "refusal"),
    [
        ([], {}, "4 workers and no REDIS_URL: each worker would keep its own cache"),
        (["--workers", "2"], {"WEB_CONCURRENCY": "1"}, "2 workers and no REDIS_URL"),
        ([], {"WEB_CONCURRENCY": "1", "SECRET_KEY": ""}, "SECRET_KEY is missing"),
    ],
    ids=["4 workers by default", "2 workers on the command line", "no secret"],
)
def test_production_refuses_to_start_with_one_json_line(tmp_path, arguments, settings, refusal):
    result = subprocess.run(
        [sys.executable, "-m", "gunicorn", *arguments],
        cwd=FINAL,
        env=production(tmp_path, **settings),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    refusals = [
        line for line in json_lines(result.stdout + result.stderr) if line["level"] == "CRITICAL"
    ]
    assert len(refusals) == 1
    assert refusals[0]["logger"] == "gunicorn.error"
    assert refusals[0]["message"].startswith(refusal)


def test_one_worker_without_redis_is_allowed(tmp_path):
    with gunicorn(production(tmp_path, WEB_CONCURRENCY="1"), tmp_path / "gunicorn.log") as server:
        response = server.request("GET", "/books")
    assert response.status == 200
    assert response.body["data"] == []
    assert server.process.returncode == 0


def test_every_log_line_is_one_json_object(tmp_path):
    # Redis does not answer: Flask-Caching and Flask-Limiter log errors, tracebacks included.
    environment = production(tmp_path, WEB_CONCURRENCY="2", REDIS_URL=NOWHERE)
    log = tmp_path / "gunicorn.log"
    requests = [
        ("GET", "/books", None, 200),
        ("GET", "/books/99", None, 404),
        ("GET", "/books/99", None, 404),
        ("GET", "/books?include_deleted=maybe", None, 400),
        ("GET", "/books?include_deleted=maybe", None, 400),
        ("GET", "/books/search?q=%00", None, 400),
        ("POST", "/books", BOOK, 401),
        ("POST", "/users/login", {"email": "nobody@example.com", "password": "wrong"}, 401),
        ("PATCH", "/books", {}, 405),
        ("GET", "/health/ready", None, 503),
    ]
    with gunicorn(environment, log) as server:
        statuses = [server.request(method, path, body).status for method, path, body, _ in requests]
    assert statuses == [status for *_, status in requests]
    assert server.process.returncode == 0

    lines = json_lines(log.read_text())
    assert {"gunicorn.error", "app", "flask_caching", "flask-limiter"} <= {
        line["logger"] for line in lines
    }
    answered = [line for line in lines if "status" in line and line["path"] != "/health"]
    assert [line["status"] for line in answered] == statuses
    assert all(len(line["request_id"]) == 32 for line in answered)
    # A traceback is a field of its line, not twenty lines of its own.
    assert any(line.get("exception", "").startswith("Traceback") for line in lines)
    assert lines[-1]["message"] == "Shutting down: Master"


def test_a_python_warning_is_a_json_line_too():
    # SQLAlchemy warns through Python's warnings, which print two plain lines unless captured.
    code = "\n".join(
        [
            "import logging.config, runpy, warnings",
            "from sqlalchemy.exc import SAWarning",
            "settings = runpy.run_path('gunicorn.conf.py')",
            "logging.config.dictConfig(settings['logconfig_dict'])",
            "warnings.warn('relationship X will copy column Y', SAWarning)",
        ]
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=FINAL, capture_output=True, text=True, timeout=60
    )
    [line] = json_lines(result.stderr)
    assert line["logger"] == "py.warnings"
    assert "SAWarning: relationship X will copy column Y" in line["message"]
