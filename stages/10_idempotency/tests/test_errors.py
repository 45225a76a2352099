import logging
import sqlite3

import pytest
from flask import abort
from sqlalchemy import func, select

from app import create_app
from app.errors import PROBLEM_TYPES
from app.extensions import db
from app.models import Book
from tests.conftest import BOOK, USER

PROBLEM_FIELDS = {"type", "title", "status", "detail", "instance", "request_id"}


def test_every_error_is_a_problem_document(client):
    response = client.get("/nowhere", headers={"X-Request-ID": "trace-42"})
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert response.get_json() == {
        "type": "https://library.example/problems/not-found",
        "title": "Not Found",
        "status": 404,
        "detail": (  # Werkzeug's own text for a URL with no route: it names no internals
            "The requested URL was not found on the server. If you entered the URL manually "
            "please check your spelling and try again."
        ),
        "instance": "/nowhere",
        "request_id": "trace-42",
    }


@pytest.mark.parametrize(
    ("method", "path", "body", "kind"),
    [
        ("POST", "/books", {"title": ""}, "validation"),
        ("GET", "/books?page=0", None, "validation"),
        ("POST", "/loans", {"book_ids": [1]}, "no-copy-available"),  # the admin holds the copy
        ("DELETE", "/users/me", None, "last-admin"),
        ("POST", "/books", BOOK, "conflict"),  # the same title and author again
        ("DELETE", "/books", None, "method-not-allowed"),
    ],
)
def test_each_kind_of_error_has_its_own_type(client, admin, book, method, path, body, kind):
    assert client.post("/loans", json={"book_ids": [book["id"]]}, headers=admin).status_code == 201
    response = client.open(path, method=method, json=body, headers=admin)
    problem = response.get_json()
    assert problem["type"] == f"https://library.example/problems/{kind}"
    assert (response.status_code, kind) in {(s, k) for k, (s, _) in PROBLEM_TYPES.items()}


def test_a_stale_if_match_is_a_precondition_failed_problem(client, admin, book):
    stale = {**admin, "If-Match": '"an-etag-from-an-older-read"'}
    response = client.patch(f"/books/{book['id']}", json={"copies": 2}, headers=stale)
    assert response.status_code == 412
    assert response.get_json()["type"] == "https://library.example/problems/precondition-failed"


def test_a_status_without_a_kind_of_its_own_is_about_blank(app, client):
    @app.get("/teapot")
    def teapot():
        abort(418)

    assert client.get("/teapot").get_json()["type"] == "about:blank"


def test_a_wrong_method_is_405_with_allow(client):
    response = client.patch("/books")
    assert response.status_code == 405
    assert set(response.get_json()) == PROBLEM_FIELDS
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS", "POST"}


def test_validation_errors_name_each_field(client, admin):
    response = client.post("/books", json={"title": ""}, headers=admin)
    body = response.get_json()
    assert response.status_code == 400
    assert set(body) == PROBLEM_FIELDS | {"errors"}
    assert body["errors"]["title"] == ["Must not be blank."]
    assert body["errors"]["author"] == ["Missing data for required field."]


def test_a_body_over_one_mebibyte_is_413_and_writes_nothing(app, client, admin):
    huge = {**BOOK, "title": "x" * (1024 * 1024)}
    response = client.post("/books", json=huge, headers=admin)
    assert response.status_code == 413
    assert response.get_json()["title"] == "Request Entity Too Large"
    with app.app_context():
        assert db.session.scalar(select(func.count(Book.id))) == 0


def test_an_unexpected_error_is_a_generic_500_with_the_request_id(caplog):
    app = create_app({"APP_CONFIG": "testing", "PROPAGATE_EXCEPTIONS": False})

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret detail: password=hunter2 SELECT * FROM users")

    with caplog.at_level(logging.ERROR):
        response = app.test_client().get("/boom", headers={"X-Request-ID": "boom-1"})
    assert response.status_code == 500
    body = response.get_json()
    assert set(body) == PROBLEM_FIELDS
    assert body["request_id"] == "boom-1"
    text = response.get_data(as_text=True)
    for leak in ("hunter2", "SELECT", "RuntimeError", "Traceback"):
        assert leak not in text
    # The details go to the log instead, with the same request id.
    assert any(r.request_id == "boom-1" and r.exc_info for r in caplog.records)


def test_a_database_that_does_not_answer_is_503_on_ready_not_on_health(tmp_path):
    app = create_app(
        {
            "APP_CONFIG": "testing",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/no/such/dir/x.db",
        }
    )
    client = app.test_client()
    response = client.get("/health/ready")
    assert response.status_code == 503
    assert response.get_json()["detail"] == "The database does not answer."
    # The process itself is fine: restarting it would not bring the database back.
    assert client.get("/health").get_json() == {"status": "ok"}


def test_a_database_busy_with_another_writer_is_a_503_without_a_traceback(tmp_path, caplog):
    database = tmp_path / "busy.db"
    app = create_app(
        {
            "APP_CONFIG": "testing",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}",
            "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"timeout": 0.1}},  # wait 0.1 s
        }
    )
    with app.app_context():
        db.create_all()
    client = app.test_client()
    other = sqlite3.connect(database)
    other.execute("BEGIN EXCLUSIVE")  # another process writes, for longer than we wait
    try:
        busy = client.post("/users", json=USER)
    finally:
        other.rollback()
        other.close()
    assert busy.status_code == 503
    assert busy.get_json()["type"] == "https://library.example/problems/unavailable"
    assert "database unavailable: database is locked" in caplog.text
    assert "Traceback" not in caplog.text and "INSERT" not in caplog.text
    assert client.post("/users", json=USER).status_code == 201  # the retry succeeds


@pytest.mark.parametrize(
    ("incoming", "echoed"),
    [("abc-123", True), ("x" * 64, True), ("x" * 65, False), ("a b", False), ("<script>", False)],
)
def test_a_sane_incoming_request_id_is_echoed_else_a_new_one(client, incoming, echoed):
    response = client.get("/health", headers={"X-Request-ID": incoming})
    assert (response.headers["X-Request-ID"] == incoming) is echoed
    assert 1 <= len(response.headers["X-Request-ID"]) <= 64


def test_every_response_has_a_request_id_and_its_log_line_too(client, caplog):
    with caplog.at_level(logging.INFO):
        response = client.get("/books")
    request_id = response.headers["X-Request-ID"]
    assert len(request_id) == 32
    line = next(r for r in caplog.records if getattr(r, "path", None) == "/books")
    assert line.request_id == request_id
    assert line.status == 200
