"""final/ as it is deployed: gunicorn with four workers, PostgreSQL (or SQLite) and Redis."""

import json
import random
import signal
import socket
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from tests.conftest import BOOK
from tests.integration.conftest import at_once, json_lines

BOOKS_WHOSE_COUNT_IS_WRONG = """
    SELECT b.id FROM books b WHERE b.on_loan != (
        SELECT count(*) FROM loan_books lb JOIN loans l ON l.id = lb.loan_id
        WHERE lb.book_id = b.id AND l.return_date IS NULL
    )
"""
WRONG_LOGIN = {"email": "nobody@example.com", "password": "not the password"}


def login_statuses(server, attempts=7) -> list[int]:
    return at_once([lambda: server.request("POST", "/users/login", WRONG_LOGIN).status] * attempts)


def test_with_redis_every_worker_shares_one_login_budget(serve):
    server = serve(workers=4, redis=True)
    statuses = login_statuses(server)
    assert sum(status != 429 for status in statuses) == 5  # exactly LOGIN_RATE_LIMIT


def test_after_a_write_no_worker_serves_stale_data(serve, tokens):
    server = serve(workers=4)
    admin = tokens(1, role="admin", prefix="admin")[0]
    book_id = server.request("POST", "/books", BOOK, admin).body["id"]

    def reads() -> set:
        """24 reads at once, over all four workers: each (status, title) that came back."""
        responses = at_once([lambda: server.request("GET", f"/books/{book_id}")] * 24)
        return {(response.status, response.body["title"]) for response in responses}

    assert reads() == {(200, "Dune")}  # now cached by whichever workers served them
    assert (
        server.request("PATCH", f"/books/{book_id}", {"title": "Dune (revised)"}, admin).status
        == 200
    )
    assert reads() == {(200, "Dune (revised)")}
    assert server.request("DELETE", f"/books/{book_id}", token=admin).status == 204
    assert reads() == {(404, "Not Found")}  # a problem's title


def test_a_logout_through_one_worker_ends_the_token_in_every_worker(serve, tokens):
    server = serve(workers=4)
    token = tokens(1)[0]
    me = lambda: server.request("GET", "/users/me", token=token)  # noqa: E731
    assert {response.status for response in at_once([me] * 12)} == {200}
    assert server.request("POST", "/users/logout", token=token).status == 204
    refused = at_once([me] * 12)  # whichever workers serve them, even with /users/me cached
    assert {(response.status, response.body["detail"]) for response in refused} == {
        (401, "The token was revoked by a logout or a password change.")
    }


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_twenty_members_borrowing_the_last_copy_at_once_exactly_one_wins(
    serve, tokens, database_url
):
    server = serve(workers=4)
    admin = tokens(1, role="admin", prefix="admin")[0]
    book_id = server.request("POST", "/books", {**BOOK, "copies": 1}, admin).body["id"]
    members = tokens(20)
    borrow = [
        lambda token=token: server.request("POST", "/loans", {"book_ids": [book_id]}, token).status
        for token in members
    ]
    assert sorted(at_once(borrow)) == [201] + [409] * 19
    with database(database_url) as connection:
        assert connection.execute(text("SELECT count(*) FROM loans")).scalar() == 1
        assert connection.execute(text("SELECT on_loan FROM books")).scalar() == 1


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_every_acknowledged_write_survives_sigkill(serve, tokens, database_url):
    server = serve(workers=2)
    admin = tokens(1, role="admin", prefix="admin")[0]
    created = [
        server.request("POST", "/books", {**BOOK, "title": f"Vol {n}"}, admin) for n in range(25)
    ]
    assert {response.status for response in created} == {201}
    server.kill()  # no shutdown, no flush: only what was committed can survive
    restarted = serve(workers=2)
    for response in created:
        again = restarted.request("GET", f"/books/{response.body['id']}")
        assert again.status == 200
        assert again.body["title"] == response.body["title"]


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_a_random_mix_of_loan_changes_keeps_the_stock_true(serve, tokens, database_url):
    # Borrow, return, add, remove and delete at once through four workers; afterwards every
    # book's on_loan equals the active loans that hold it, and no acknowledged loan is lost.
    server = serve(workers=4)
    admin = tokens(1, role="admin", prefix="admin")[0]
    book_ids = [
        server.request("POST", "/books", {**BOOK, "title": f"Load {n}", "copies": 2}, admin).body[
            "id"
        ]
        for n in range(10)
    ]
    members = tokens(8)
    statuses, created, deleted, lock = [], [], [], threading.Lock()
    stop_at = time.monotonic() + 15  # a bounded run

    def client(token, seed):
        rng = random.Random(seed)
        mine = []
        while time.monotonic() < stop_at:
            action, book_id = rng.random(), rng.choice(book_ids)
            loan_id = rng.choice(mine) if mine else None
            if action < 0.3 or loan_id is None:
                response = server.request("POST", "/loans", {"book_ids": [book_id]}, token)
                if response.status == 201:
                    mine.append(response.body["id"])
                    with lock:
                        created.append(response.body["id"])
            elif action < 0.5:
                response = server.request("POST", f"/loans/{loan_id}/return", token=token)
            elif action < 0.65:
                response = server.request("PUT", f"/loans/{loan_id}/books/{book_id}", token=token)
            elif action < 0.8:
                response = server.request(
                    "DELETE", f"/loans/{loan_id}/books/{book_id}", token=token
                )
            elif action < 0.9:
                response = server.request("DELETE", f"/loans/{loan_id}", token=admin)
                if response.status == 204:
                    mine.remove(loan_id)
                    with lock:
                        deleted.append(loan_id)
            else:
                response = server.request("GET", "/books/popular")
            with lock:
                statuses.append(response.status)

    threads = [threading.Thread(target=client, args=(t, n)) for n, t in enumerate(members)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(statuses) > 100
    assert set(statuses) <= {200, 201, 204, 404, 409}  # no 5xx
    with database(database_url) as connection:
        loans = connection.execute(text("SELECT id FROM loans ORDER BY id")).scalars().all()
        # SQLite may give a new loan the id of the last one deleted: count ids, not sets.
        assert loans == sorted((Counter(created) - Counter(deleted)).elements())
        assert connection.execute(text(BOOKS_WHOSE_COUNT_IS_WRONG)).all() == []


BAD_PATHS = ["/books", "/books/1", "/books/2147483648", "/books/search", "/books/popular"]
BAD_PATHS += ["/loans", "/loans/1/return", "/users/me", "/users/login", "/users", "/nowhere"]
BAD_QUERIES = ["", "?page=0", "?per_page=-1", "?sort=nope", "?include_deleted=maybe"]
BAD_QUERIES += ["?q=", "?q=%00", "?limit=x", "?title__nope=1", "?fields=password_hash"]
BAD_BODIES = [None, b"{", b"[]", b"null", b'{"title": "Du\\u0000ne"}', b'{"email": 1}', b"\xff"]


def bad_request(server, rng) -> int:
    """One request that is wrong in a random way or two; its status."""
    method = rng.choice(["GET", "POST", "PUT", "PATCH", "DELETE"])
    url = server.url + rng.choice(BAD_PATHS) + rng.choice(BAD_QUERIES)
    headers = {"Content-Type": "application/json"}
    if rng.random() < 0.5:
        headers["Authorization"] = rng.choice(["Bearer not-a-token", "Basic abc", "Bearer"])
    request = urllib.request.Request(url, rng.choice(BAD_BODIES), headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_a_burst_of_bad_requests_logs_only_json_and_no_traceback(serve):
    server = serve(workers=4)
    rngs = [random.Random(seed % 4) for seed in range(8)]  # each sequence twice: cache hits
    statuses = at_once(
        [lambda rng=rng: [bad_request(server, rng) for _ in range(40)] for rng in rngs]
    )
    assert server.stop() == 0

    statuses = [status for batch in statuses for status in batch]
    assert not [status for status in statuses if status >= 500]
    lines = json_lines(server.log.read_text())
    answered = [line["status"] for line in lines if "status" in line and line["path"] != "/health"]
    assert sorted(answered) == sorted(statuses)  # the app logged every one of them
    assert [line for line in lines if "exception" in line or line["level"] == "ERROR"] == []
    assert [line for line in lines if line["logger"] == "flask_caching"] == []


def slow_post(server, path: str, body: dict, token: str) -> tuple[socket.socket, bytes]:
    """Start a POST like a slow client: headers and half the body now; returns the socket and
    the other half, for finish()."""
    payload = json.dumps(body).encode()
    host, port = server.url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=30)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {token}\r\nContent-Length: {len(payload)}\r\n\r\n"
    )
    sock.sendall(head.encode() + payload[: len(payload) // 2])
    return sock, payload[len(payload) // 2 :]


def finish(sock: socket.socket, rest: bytes) -> tuple[int, dict]:
    """Send the rest of the body; the status and the JSON body of the answer, (0, {}) if the
    request was lost."""
    answer = b""
    try:
        sock.sendall(rest)
        while chunk := sock.recv(65536):  # the server closes the connection after its answer
            answer += chunk
    except OSError:  # reset: the worker is gone
        pass
    finally:
        sock.close()
    if not answer:
        return 0, {}
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


def test_sigterm_lets_every_request_in_flight_finish(serve, tokens, database_url):
    server = serve(workers=4)
    admin = tokens(1, role="admin", prefix="admin")[0]
    # Four slow uploads: each of the four workers is in the middle of one.
    titles = [f"Drained {n}" for n in range(4)]
    uploads = [slow_post(server, "/books", {**BOOK, "title": title}, admin) for title in titles]
    time.sleep(1)
    server.process.send_signal(signal.SIGTERM)
    time.sleep(1)  # the workers have been told to stop, with a request half read
    answers = [finish(sock, rest) for sock, rest in uploads]
    assert server.process.wait(timeout=30) == 0

    assert sorted((status, body.get("title")) for status, body in answers) == [
        (201, title) for title in titles
    ]
    lines = json_lines(server.log.read_text())
    messages = [line["message"] for line in lines]
    term = messages.index("Handling signal: term")
    created = [n for n, line in enumerate(lines) if line.get("status") == 201]
    assert len(created) == 4 and min(created) > term  # answered after the SIGTERM, not before
    with database(database_url) as connection:
        stored = connection.execute(text("SELECT title FROM books ORDER BY title")).scalars()
        assert stored.all() == titles  # every acknowledged write was committed


@contextmanager
def database(url):
    """A plain connection to the server's database, to check what was really written."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()
