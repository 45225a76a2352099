"""Idempotency-Key (app/idempotency.py): a retried POST happens once and gets the first answer."""

import threading
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, update

from app import create_app
from app.auth import encode_token
from app.extensions import db
from app.models import Book, IdempotencyKey, Loan, User
from tests.conftest import BOOK, USER

KEY = "4b1f9a4e-63c2-4b0e-9d55-3f8e2a7c1d20"


def age_keys(app, hours: int) -> None:
    """Move every stored key `hours` into the past."""
    with app.app_context():
        for key in db.session.scalars(select(IdempotencyKey)):
            key.created_at -= timedelta(hours=hours)
        db.session.commit()


def loans_of(client, headers) -> int:
    return client.get("/loans", headers=headers).get_json()["meta"]["total"]


def test_a_retry_with_the_same_key_gets_the_first_answer_and_borrows_once(client, member, book):
    headers = {**member, "Idempotency-Key": KEY}
    first = client.post("/loans", json={"book_ids": [book["id"]]}, headers=headers)
    retry = client.post("/loans", json={"book_ids": [book["id"]]}, headers=headers)
    assert first.status_code == retry.status_code == 201
    assert retry.get_json() == first.get_json()
    assert retry.headers["Location"] == first.headers["Location"]
    assert retry.headers["ETag"] == first.headers["ETag"]
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert loans_of(client, member) == 1
    assert client.get(f"/books/{book['id']}").get_json()["available"] == 0


def test_without_a_key_a_retry_borrows_again(client, member, admin, book):
    client.patch(f"/books/{book['id']}", json={"copies": 2}, headers=admin)
    for _ in range(2):
        assert (
            client.post("/loans", json={"book_ids": [book["id"]]}, headers=member).status_code
            == 201
        )
    assert loans_of(client, member) == 2  # the problem the header solves


def test_a_retried_registration_creates_one_account(client, admin):
    first = client.post("/users", json=USER, headers={"Idempotency-Key": KEY})
    retry = client.post("/users", json=USER, headers={"Idempotency-Key": KEY})
    assert first.status_code == retry.status_code == 201
    assert retry.get_json()["id"] == first.get_json()["id"]
    assert client.get("/users", headers=admin).get_json()["meta"]["total"] == 2  # ada + admin
    # Without the key, the same body is a new request: the email is taken.
    assert client.post("/users", json=USER).status_code == 409


def test_the_same_key_with_another_request_is_422_and_changes_nothing(client, member, shelf):
    headers = {**member, "Idempotency-Key": KEY}
    assert client.post("/loans", json={"book_ids": [1]}, headers=headers).status_code == 201
    other = client.post("/loans", json={"book_ids": [2]}, headers=headers)
    assert other.status_code == 422
    assert other.get_json()["type"].endswith("/idempotency-key-reused")
    assert loans_of(client, member) == 1
    assert client.get("/books/2").get_json()["available"] == 3


def test_keys_belong_to_their_caller(client, auth, shelf):
    ada, grace = auth.headers(), auth.headers("grace@example.com")
    for caller in (ada, grace):
        response = client.post(
            "/loans", json={"book_ids": [2]}, headers={**caller, "Idempotency-Key": KEY}
        )
        assert response.status_code == 201
        assert loans_of(client, caller) == 1
    assert client.get("/books/2").get_json()["available"] == 1


def test_an_error_is_not_kept_so_its_retry_runs_again(client, member, admin, loan, book):
    headers = {**member, "Idempotency-Key": KEY}
    refused = client.post("/loans", json={"book_ids": [book["id"]]}, headers=headers)
    assert refused.status_code == 409  # the only copy is on `loan`
    client.patch(f"/books/{book['id']}", json={"copies": 2}, headers=admin)
    retry = client.post("/loans", json={"book_ids": [book["id"]]}, headers=headers)
    assert retry.status_code == 201 and "Idempotent-Replayed" not in retry.headers


def test_a_retry_while_the_first_request_runs_is_409(app, client, member, book):
    headers = {**member, "Idempotency-Key": KEY}
    assert (
        client.post("/loans", json={"book_ids": [book["id"]]}, headers=headers).status_code == 201
    )
    with app.app_context():  # as if the first request had not finished yet
        db.session.execute(update(IdempotencyKey).values(status=None))
        db.session.commit()
    retry = client.post("/loans", json={"book_ids": [book["id"]]}, headers=headers)
    assert retry.status_code == 409
    assert retry.get_json()["type"].endswith("/idempotency-key-in-use")
    assert loans_of(client, member) == 1


def test_a_key_is_kept_for_a_day(app, client, member, admin, book):
    client.patch(f"/books/{book['id']}", json={"copies": 2}, headers=admin)
    headers = {**member, "Idempotency-Key": KEY}
    first = client.post("/loans", json={"book_ids": [book["id"]]}, headers=headers)
    age_keys(app, 23)
    assert (
        client.post("/loans", json={"book_ids": [book["id"]]}, headers=headers).headers["Location"]
        == first.headers["Location"]
    )
    age_keys(app, 2)
    later = client.post("/loans", json={"book_ids": [book["id"]]}, headers=headers)
    assert later.status_code == 201 and later.headers["Location"] != first.headers["Location"]
    assert loans_of(client, member) == 2


@pytest.mark.parametrize("key", ["", " ", "a" * 256, "two words", "tab\there", "clé"])
def test_a_bad_key_is_400_and_changes_nothing(client, member, book, key):
    response = client.post(
        "/loans", json={"book_ids": [book["id"]]}, headers={**member, "Idempotency-Key": key}
    )
    assert response.status_code == 400
    assert "Idempotency-Key" in response.get_json()["detail"]
    assert loans_of(client, member) == 0


def test_purge_deletes_only_expired_keys(app, runner, client, member, book):
    client.post(
        "/loans", json={"book_ids": [book["id"]]}, headers={**member, "Idempotency-Key": "a"}
    )
    age_keys(app, 25)
    grace = {**USER, "email": "grace@example.com"}
    assert client.post("/users", json=grace, headers={"Idempotency-Key": "b"}).status_code == 201
    result = runner.invoke(args=["purge-idempotency-keys"])
    assert result.exit_code == 0 and "Deleted 1 expired" in result.output
    with app.app_context():
        assert list(db.session.scalars(select(IdempotencyKey.key))) == ["b"]


def test_the_spec_documents_the_header_and_its_answers(client):
    paths = client.get("/openapi.json").get_json()["paths"]
    for path in ("/loans", "/users"):
        operation = paths[path]["post"]
        assert {"$ref": "#/components/parameters/IdempotencyKey"} in operation["parameters"]
        assert {"409", "422"} <= set(operation["responses"])
        assert "Idempotent-Replayed" in operation["responses"]["201"]["headers"]
    assert "IdempotencyKey" not in str(paths["/books"]["post"])


@pytest.fixture
def shared_app(app, tmp_path):
    """`app`, unless its database is in memory, where each connection has its own: then an app
    on a file database, which every thread's connection shares (as gunicorn's workers would)."""
    if app.config["SQLALCHEMY_DATABASE_URI"] != "sqlite://":
        return app
    app = create_app(
        {"APP_CONFIG": "testing", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/r.db"}
    )
    with app.app_context():
        db.create_all()
    return app


def test_retries_sent_at_once_borrow_once(shared_app):
    """Eight copies of one request at once, as a client retrying on a short timeout might: one
    loan is made; every other answer is that loan again or "still running" (409)."""
    app = shared_app
    with app.app_context():
        member = User(first_name="M", last_name="M", email="m@example.com", password_hash="-")
        book = Book(**{**BOOK, "publish_date": date(1965, 8, 1)}, copies=5)
        db.session.add_all([member, book])
        db.session.commit()
        headers = {"Authorization": f"Bearer {encode_token(member)}", "Idempotency-Key": KEY}
        book_id = book.id
    start, answers = threading.Barrier(8), []

    def send():
        client = app.test_client()
        start.wait()
        response = client.post("/loans", json={"book_ids": [book_id]}, headers=headers)
        kind = response.get_json().get("type", "").rpartition("/")[2]  # a problem's type
        answers.append((response.status_code, kind or response.headers["Location"]))

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    created = {location for status, location in answers if status == 201}
    assert len(created) == 1
    assert set(answers) - {(201, *created)} <= {(409, "idempotency-key-in-use")}
    with app.app_context():
        assert db.session.scalar(select(func.count(Loan.id))) == 1
        assert db.session.get(Book, book_id).on_loan == 1
