"""Attacks and bad input: every write endpoint refuses it with a problem body and writes nothing."""

import json

import pytest

from app.models import Book, Loan, User
from tests.conftest import BOOK, PASSWORD_HASH, USER, count

# (method, path, a valid body) for every endpoint that reads a JSON body.
WRITE_ENDPOINTS = [
    ("POST", "/users", {**USER, "email": "new@example.com"}),
    ("POST", "/users/login", {"email": USER["email"], "password": USER["password"]}),
    ("PATCH", "/users/me", {"address": "Ockham Park"}),
    ("PATCH", "/users/1", {"role": "admin"}),
    ("POST", "/books", {**BOOK, "title": "New"}),
    ("PUT", "/books/1", {**BOOK, "title": "Replaced"}),
    ("PATCH", "/books/1", {"copies": 2}),
    ("POST", "/loans", {"book_ids": [1]}),
]
TOO_BIG = "x" * (1024 * 1024 + 1)


def bad_bodies(valid: dict) -> dict[str, tuple[str, str]]:
    """Name -> (raw body, content type): each is wrong in one way."""

    first_field = next(iter(valid))
    return {
        "not json": ("title=Dune", "text/plain"),
        "form body": ("title=Dune", "application/x-www-form-urlencoded"),
        "malformed json": ('{"title": ', "application/json"),
        "json array": (json.dumps([valid]), "application/json"),
        "json null": ("null", "application/json"),
        "json number": ("42", "application/json"),
        "wrong type": (json.dumps({**valid, first_field: {"$gt": ""}}), "application/json"),
        "10 000 characters": (json.dumps({**valid, first_field: "x" * 10_000}), "application/json"),
        "unknown field": (json.dumps({**valid, "is_admin": True}), "application/json"),
        "null byte": (json.dumps({**valid, first_field: "Du\x00ne"}), "application/json"),
        "lone surrogate": (json.dumps({**valid, first_field: "\ud800"}), "application/json"),
        "over 1 MiB": (json.dumps({**valid, first_field: TOO_BIG}), "application/json"),
    }


CASES = [
    pytest.param(method, path, name, body, content_type, id=f"{method} {path}: {name}")
    for method, path, valid in WRITE_ENDPOINTS
    for name, (body, content_type) in bad_bodies(valid).items()
]


@pytest.fixture
def world(app, client, admin, member, book):
    """A member, an admin and a book; returns how to snapshot everything stored."""

    def snapshot():
        return (
            count(app, User),
            count(app, Book),
            count(app, Loan),
            client.get("/users/me", headers=member).get_json(),
            client.get("/books/1").get_json(),
            client.get("/users/1", headers=admin).get_json(),
        )

    return snapshot


@pytest.mark.parametrize(("method", "path", "name", "body", "content_type"), CASES)
def test_bad_input_is_refused_and_changes_nothing(
    client, world, admin, method, path, name, body, content_type
):
    before = world()
    response = client.open(path, method=method, data=body, content_type=content_type, headers=admin)
    assert response.status_code in (400, 413, 415), response.get_json()
    assert response.mimetype == "application/problem+json"
    assert set(response.get_json()) >= {
        "type",
        "title",
        "status",
        "detail",
        "instance",
        "request_id",
    }
    assert world() == before


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/books", {**BOOK, "copies": -1}, "copies"),
        ("/books", {**BOOK, "copies": 10**20}, "copies"),
        ("/books", {**BOOK, "publish_date": "2024-02-30"}, "publish_date"),
        ("/books", {**BOOK, "publish_date": "0000-01-01"}, "publish_date"),
        ("/books", {**BOOK, "isbn": "' OR '1'='1"}, "isbn"),
        ("/loans", {"book_ids": [-1]}, "book_ids"),
        ("/loans", {"book_ids": [10**20]}, "book_ids"),
        ("/loans", {"book_ids": [1], "user_id": 0}, "user_id"),
        ("/users", {**USER, "email": "a@b.c" + "m" * 300}, "email"),
        ("/users", {**USER, "date_of_birth": "1990-13-45"}, "date_of_birth"),
    ],
)
def test_out_of_range_values_are_400_naming_the_field(app, client, admin, book, path, body, field):
    before = (count(app, Book), count(app, Loan), count(app, User))
    response = client.post(path, json=body, headers=admin)
    assert response.status_code == 400
    assert field in response.get_json()["errors"]
    assert (count(app, Book), count(app, Loan), count(app, User)) == before


@pytest.mark.parametrize("query", ["q=%00", "q=a%00b", "q=ok&page=%00"])
def test_unstorable_text_in_a_query_is_400(client, query):
    response = client.get(f"/books/search?{query}")
    assert response.status_code == 400


PUBLIC_WRITES = {"/users", "/users/login"}


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        *(
            pytest.param(
                method, path, {**valid, next(iter(valid)): "Du\x00ne"}, id=f"{method} {path}"
            )
            for method, path, valid in WRITE_ENDPOINTS
            if path not in PUBLIC_WRITES
        ),
        pytest.param("GET", "/users/me?q=%00", None, id="GET /users/me?q=%00"),
        pytest.param("GET", "/loans?page=%00", None, id="GET /loans?page=%00"),
    ],
)
def test_without_a_token_every_protected_route_is_401_whatever_the_text(client, method, path, body):
    # Who is calling comes first: an anonymous caller learns nothing about the input rules.
    response = client.open(path, method=method, json=body)
    assert response.status_code == 401
    assert response.get_json()["detail"] == "Send a token: 'Authorization: Bearer <token>'."


@pytest.mark.parametrize(
    ("method", "path", "valid"),
    [(method, path, valid) for method, path, valid in WRITE_ENDPOINTS if path in PUBLIC_WRITES],
)
def test_a_public_route_refuses_text_a_database_cannot_store(client, method, path, valid):
    response = client.open(path, method=method, json={**valid, next(iter(valid)): "Du\x00ne"})
    assert response.status_code == 400
    assert response.get_json()["detail"] == "Text must be valid UTF-8 without NUL characters."


def test_a_403_reveals_nothing_about_the_caller(client, member):
    response = client.post("/books", json=BOOK, headers=member)
    assert response.status_code == 403
    text = response.get_data(as_text=True)
    for detail in ("ada@example.com", "member", "Ada", '"id"'):
        assert detail not in text


def test_a_constraint_violation_is_409_without_the_databases_words(client, admin, book):
    response = client.post("/books", json=BOOK, headers=admin)
    assert response.status_code == 409
    text = response.get_data(as_text=True).lower()
    for word in ("unique", "constraint", "integrity", "insert", "sqlite", "psycopg", "books."):
        assert word not in text


def test_the_leak_scanner_would_catch_a_hash(app):
    # The client every test uses fails on any response that carries a password hash.
    with app.app_context():
        user = User(first_name="A", last_name="B", email="a@example.com")
        user.set_password("correct horse battery staple")
        assert PASSWORD_HASH.search(f'{{"x": "{user.password_hash}"}}')
