"""Real servers: the app under gunicorn with several workers, on PostgreSQL, SQLite and Redis.

These tests run when TEST_SERVICES=1 (`make test` sets it, and starts nothing itself: it runs
them when TEST_DATABASE_URL and TEST_REDIS_URL name reachable servers; .ci/run starts them with
tools/services.sh). Each test starts its own gunicorn and stops it, whatever happens.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from sqlalchemy import text

from app import create_app
from app.auth import encode_token
from app.extensions import db
from app.models import User
from tests.conftest import ON_SERVICES

FINAL = Path(__file__).parents[2]
SECRET_KEY = "integration-tests-only-" + "x" * 32
NO_LIMITS = "1000000 per hour"


def pytest_collection_modifyitems(items):
    skip = pytest.mark.skip(reason="needs PostgreSQL and Redis: see tools/services.sh")
    for item in items:
        if "integration" in item.path.parts:
            item.add_marker(pytest.mark.integration)
            if not ON_SERVICES:
                item.add_marker(skip)


@dataclass
class Response:
    status: int
    headers: dict
    body: object


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    log: Path  # what gunicorn wrote: stdout and stderr

    def request(self, method, path, body=None, token=None) -> Response:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data, headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                raw, status, response_headers = response.read(), response.status, response.headers
        except urllib.error.HTTPError as error:
            raw, status, response_headers = error.read(), error.code, error.headers
        return Response(status, dict(response_headers), json.loads(raw) if raw else None)

    def kill(self) -> None:
        """SIGKILL the whole process group: master and workers, no chance to clean up."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> int:
        """SIGTERM to the master, as a deploy or systemd sends it; its exit status once stopped."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=60)


def json_lines(output: str) -> list[dict]:
    """Every line of the output as a dict; fails at the first line that is not a JSON object."""
    entries = []
    for line in output.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            pytest.fail(f"not a JSON line: {line!r}")
        assert isinstance(entry, dict), line
        entries.append(entry)
    return entries


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def database_url(request, tmp_path):
    """An empty, migrated database: SQLite file or the PostgreSQL test database."""
    kind = getattr(request, "param", "postgresql")
    url = (
        os.environ["TEST_DATABASE_URL"] if kind == "postgresql" else f"sqlite:///{tmp_path}/app.db"
    )
    app = create_app({"APP_CONFIG": "testing", "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        db.drop_all()
        with db.engine.begin() as connection:
            connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
        db.engine.dispose()
    env = {**os.environ, "APP_CONFIG": "production", "DATABASE_URL": url, "SECRET_KEY": SECRET_KEY}
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "init-db"], cwd=FINAL, env=env, check=True
    )
    return url


@pytest.fixture
def serve(database_url, tmp_path):
    """serve(workers=4, redis=True, **environment) starts gunicorn and returns a Server."""
    servers, logs, log_dir = [], [], tmp_path
    redis.Redis.from_url(os.environ["TEST_REDIS_URL"]).flushdb()

    def start(workers=4, redis=True, **environment) -> Server:
        port = free_port()
        env = {
            **os.environ,
            "APP_CONFIG": "production",
            "DATABASE_URL": database_url,
            "SECRET_KEY": SECRET_KEY,
            "BIND": f"127.0.0.1:{port}",
            "WEB_CONCURRENCY": str(workers),
            "RATELIMIT_DEFAULT": NO_LIMITS,
            "RATELIMIT_WRITE": NO_LIMITS,
            **environment,
        }
        if redis:
            env["REDIS_URL"] = os.environ["TEST_REDIS_URL"]
        else:
            env.pop("REDIS_URL", None)
        log_path = log_dir / f"gunicorn-{port}.log"
        log = open(log_path, "w")  # noqa: SIM115 (closed below)
        logs.append(log)
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn"],
            cwd=FINAL,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: kill() reaches every worker
        )
        server = Server(f"http://127.0.0.1:{port}", process, log_path)
        servers.append(server)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if server.request("GET", "/health").status == 200:
                    return server
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("gunicorn did not start")

    yield start
    for server in servers:
        if server.process.poll() is None:
            server.kill()
    for log in logs:
        log.close()
    for path in sorted(log_dir.glob("gunicorn-*.log")):  # shown by pytest when a test fails
        print(
            f"--- {path.name}\n"
            + "".join(
                line for line in path.read_text().splitlines(keepends=True) if '"INFO"' not in line
            )
        )


@pytest.fixture
def tokens(database_url):
    """tokens(n, role="member") creates n users straight in the database; returns their tokens."""

    def make(n, role="member", prefix="member"):
        app = create_app(
            {
                "APP_CONFIG": "testing",
                "SQLALCHEMY_DATABASE_URI": database_url,
                "SECRET_KEY": SECRET_KEY,
            }
        )
        with app.app_context():
            users = [
                User(first_name="T", last_name=str(i), email=f"{prefix}{i}@example.com", role=role)
                for i in range(n)
            ]
            for user in users:
                user.password_hash = "not used: these users hold tokens"
            db.session.add_all(users)
            db.session.commit()
            minted = [encode_token(user) for user in users]
            db.session.remove()  # give its connection back before the pool is closed
            db.engine.dispose()
        return minted

    return make


def at_once(calls) -> list:
    """Run the calls in threads that all start at the same moment; their results, in order."""
    start = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(index, call):
        start.wait()
        results[index] = call()

    threads = [threading.Thread(target=run, args=item) for item in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results
