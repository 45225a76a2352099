"""final/ as it is deployed: gunicorn with four workers, PostgreSQL (or SQLite) and Redis."""

import random
import threading
import time
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from tests.conftest import BOOK
from tests.integration.conftest import at_once

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


def test_a_write_through_one_worker_refreshes_every_workers_cache(serve, tokens):
    server = serve(workers=4)
    admin = tokens(1, role="admin", prefix="admin")[0]
    book_id = server.request("POST", "/books", BOOK, admin).body["id"]
    read = lambda: server.request("GET", f"/books/{book_id}").body["title"]  # noqa: E731
    assert set(at_once([read] * 12)) == {"Dune"}  # cached by whichever workers served them
    server.request("PATCH", f"/books/{book_id}", {"title": "Dune (revised)"}, admin)
    assert set(at_once([read] * 12)) == {"Dune (revised)"}


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


def test_a_load_run_has_no_5xx_and_loses_no_loan(serve, tokens, database_url):
    server = serve(workers=4)
    admin = tokens(1, role="admin", prefix="admin")[0]
    book_ids = [
        server.request("POST", "/books", {**BOOK, "title": f"Load {n}", "copies": 2}, admin).body[
            "id"
        ]
        for n in range(10)
    ]
    members = tokens(8)
    statuses, created_loans, lock = [], [], threading.Lock()
    stop_at = time.monotonic() + 15  # a bounded run

    def client(token, seed):
        rng = random.Random(seed)
        my_loans = []
        while time.monotonic() < stop_at:
            action = rng.random()
            if action < 0.4:
                response = server.request("GET", f"/books?page={rng.randint(1, 2)}&per_page=5")
            elif action < 0.55:
                response = server.request("GET", "/books/popular")
            elif action < 0.8:
                response = server.request(
                    "POST", "/loans", {"book_ids": [rng.choice(book_ids)]}, token
                )
                if response.status == 201:
                    my_loans.append(response.body["id"])
                    with lock:
                        created_loans.append(response.body["id"])
            elif my_loans:
                response = server.request("POST", f"/loans/{my_loans.pop(0)}/return", token=token)
            else:
                response = server.request("GET", "/loans", token=token)
            with lock:
                statuses.append(response.status)

    threads = [threading.Thread(target=client, args=(t, n)) for n, t in enumerate(members)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(statuses) > 100
    assert not [status for status in statuses if status >= 500]
    assert set(statuses) <= {200, 201, 409}
    with database(database_url) as connection:
        loans = connection.execute(text("SELECT id FROM loans ORDER BY id")).scalars().all()
        assert loans == sorted(created_loans)  # none lost, none duplicated
        mismatches = connection.execute(text(BOOKS_WHOSE_COUNT_IS_WRONG)).all()
        assert mismatches == []  # every book's available count matches the loans table


@contextmanager
def database(url):
    """A plain connection to the server's database, to check what was really written."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()
