import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Book
from tests.conftest import BOOK, BOOK_DEFAULTS, without_request_details


def count_books(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Book.id)))


def test_create_book_returns_201_the_book_and_its_location(client, admin):
    response = client.post("/books", json=BOOK, headers=admin)
    assert response.status_code == 201
    body = response.get_json()
    assert body == {"id": body["id"], **BOOK, **BOOK_DEFAULTS}
    assert response.headers["Location"] == f"/books/{body['id']}"


def test_get_book(client, book):
    response = client.get(f"/books/{book['id']}")
    assert response.status_code == 200
    assert response.get_json() == book


def test_list_books_is_ordered_by_id(client, admin):
    for title in ("Emma", "Beloved", "Dracula"):
        client.post("/books", json={**BOOK, "title": title}, headers=admin)
    response = client.get("/books")
    assert response.status_code == 200
    assert [book["title"] for book in response.get_json()["data"]] == ["Emma", "Beloved", "Dracula"]


def test_replace_book(client, book, admin):
    changed = {**BOOK, "title": "Dune Messiah", "publish_date": "1969-10-15"}
    response = client.put(f"/books/{book['id']}", json=changed, headers=admin)
    assert response.status_code == 200
    assert response.get_json() == {"id": book["id"], **changed, **BOOK_DEFAULTS}
    assert client.get(f"/books/{book['id']}").get_json()["title"] == "Dune Messiah"


def test_patch_changes_only_the_fields_sent(client, book, admin):
    response = client.patch(f"/books/{book['id']}", json={"genre": "Space Opera"}, headers=admin)
    assert response.status_code == 200
    assert response.get_json() == {**book, "genre": "Space Opera"}


def test_patch_validates_the_fields_sent(client, book, admin):
    response = client.patch(f"/books/{book['id']}", json={"title": "", "pages": 412}, headers=admin)
    assert response.status_code == 400
    assert response.get_json()["errors"] == {
        "title": ["Must not be blank."],
        "pages": ["Unknown field."],
    }
    assert client.get(f"/books/{book['id']}").get_json() == book


def test_delete_book(app, client, book, admin):
    response = client.delete(f"/books/{book['id']}", headers=admin)
    assert response.status_code == 204
    assert response.data == b""
    assert client.get(f"/books/{book['id']}").status_code == 404
    assert count_books(app) == 1  # withdrawn, not erased (tests/test_lending.py)


@pytest.mark.parametrize("method", ["get", "put", "delete"])
def test_missing_book_is_a_json_404(client, method, admin):
    response = getattr(client, method)("/books/999", json=BOOK, headers=admin)
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert without_request_details(response.get_json()) == {
        "type": "https://library.example/problems/not-found",
        "title": "Not Found",
        "status": 404,
        "detail": "Book 999 does not exist.",
    }


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"title": ""}, "title", "Must not be blank."),
        ({"title": "   "}, "title", "Must not be blank."),
        ({"title": None}, "title", "Field may not be null."),
        ({"author": 42}, "author", "Not a valid string."),
        ({"genre": "x" * 101}, "genre", "Longer than maximum length 100."),
        ({"publish_date": "1965-13-01"}, "publish_date", "Not a valid date."),
        ({"publish_date": 1965}, "publish_date", "Not a valid date."),
        ({"id": 7}, "id", "Unknown field."),
        ({"isbn": "978-0441013593"}, "isbn", "Not an ISBN-10 or ISBN-13."),
        (
            {"copies": -1},
            "copies",
            "Must be greater than or equal to 0 and less than or equal to 10000.",
        ),
        ({"copies": "3"}, "copies", "Not a valid integer."),
        ({"available": 5}, "available", "Unknown field."),
        ({"on_loan": 0}, "on_loan", "Unknown field."),
    ],
)
def test_create_book_with_an_invalid_field_is_400_and_writes_nothing(
    app, client, change, field, message, admin
):
    response = client.post("/books", json={**BOOK, **change}, headers=admin)
    assert response.status_code == 400
    body = response.get_json()
    assert body["detail"] == "The request body is invalid."
    assert body["errors"] == {field: [message]}
    assert count_books(app) == 0


def test_a_missing_field_is_reported(client, admin):
    incomplete = {key: value for key, value in BOOK.items() if key != "author"}
    response = client.post("/books", json=incomplete, headers=admin)
    assert response.status_code == 400
    assert response.get_json()["errors"] == {"author": ["Missing data for required field."]}


def test_put_needs_every_field(client, book, admin):
    response = client.put(f"/books/{book['id']}", json={"title": "Only a title"}, headers=admin)
    assert response.status_code == 400
    assert set(response.get_json()["errors"]) == {"author", "genre", "age_category", "publish_date"}
    assert client.get(f"/books/{book['id']}").get_json() == book


@pytest.mark.parametrize("body", ["[]", '"a string"', "42", "null"])
def test_json_that_is_not_an_object_is_400(client, body, admin):
    response = client.post("/books", data=body, content_type="application/json", headers=admin)
    assert response.status_code == 400
    assert response.get_json()["errors"] == {"_schema": ["Invalid input type."]}


def test_malformed_json_is_400(app, client, admin):
    response = client.post(
        "/books", data='{"title": ', content_type="application/json", headers=admin
    )
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["title"] == "Bad Request"
    assert count_books(app) == 0


def test_a_body_that_is_not_json_is_415(client, admin):
    response = client.post("/books", data="title=Dune", content_type="text/plain", headers=admin)
    assert response.status_code == 415
    assert response.get_json()["title"] == "Unsupported Media Type"


def test_a_duplicate_book_is_409_without_the_database_message(app, client, book, admin):
    response = client.post("/books", json=BOOK, headers=admin)
    assert response.status_code == 409
    body = response.get_json()
    assert body["detail"] == "The request conflicts with an existing resource."
    assert "UNIQUE" not in response.get_data(as_text=True)
    assert count_books(app) == 1


@pytest.mark.parametrize("method", ["get", "put", "delete"])
def test_an_id_too_big_for_the_database_is_404_not_500(client, method, admin):
    for book_id in (2**31, 10**22):
        response = getattr(client, method)(f"/books/{book_id}", json=BOOK, headers=admin)
        assert response.status_code == 404


@pytest.mark.parametrize("title", ["Du\x00ne", "\ud800"], ids=["NUL", "lone surrogate"])
def test_text_a_database_cannot_store_is_400(app, client, title, admin):
    response = client.post("/books", json={**BOOK, "title": title}, headers=admin)
    assert response.status_code == 400
    assert response.get_json()["detail"] == "Text must be valid UTF-8 without NUL characters."
    assert count_books(app) == 0


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/books", {**BOOK, "title": "Du\x00ne"}),
        ("PATCH", "/users/me", {"address": "\x00"}),
        ("POST", "/loans", {"book_ids": ["\x00"]}),
        ("GET", "/users/me?q=%00", None),
    ],
    ids=["admin route, body", "member route, body", "loans, body", "member route, query"],
)
def test_without_a_token_a_protected_route_is_401_whatever_the_text(client, method, path, body):
    # Who is calling comes first: an anonymous caller learns nothing about the input rules.
    response = client.open(path, method=method, json=body)
    assert response.status_code == 401
    assert response.get_json()["detail"] == "Send a token: 'Authorization: Bearer <token>'."


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/users", {"first_name": "A\x00", "last_name": "B", "email": "a@example.com"}),
        ("POST", "/users/login", {"email": "\x00", "password": "x"}),
        ("GET", "/books?page=%00", None),
    ],
    ids=["register", "login", "list books"],
)
def test_a_public_route_refuses_text_a_database_cannot_store(client, method, path, body):
    response = client.open(path, method=method, json=body)
    assert response.status_code == 400
    assert response.get_json()["detail"] == "Text must be valid UTF-8 without NUL characters."


def test_an_unknown_route_is_a_json_404_not_an_html_page(client):
    response = client.get("/nowhere")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["title"] == "Not Found"


def test_a_wrong_method_is_a_json_405_with_allow(client, admin):
    response = client.patch("/books", headers=admin)
    assert response.status_code == 405
    assert response.get_json()["title"] == "Method Not Allowed"
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS", "POST"}


@pytest.mark.parametrize(
    ("method", "path"),
    [("post", "/books"), ("put", "/books/1"), ("patch", "/books/1"), ("delete", "/books/1")],
)
def test_only_admins_change_the_catalogue(app, client, book, member, method, path):
    anonymous = getattr(client, method)(path, json=BOOK)
    assert anonymous.status_code == 401
    as_member = getattr(client, method)(path, json=BOOK, headers=member)
    assert as_member.status_code == 403
    assert as_member.get_json()["detail"] == "This action needs an admin account."
    assert count_books(app) == 1
    assert client.get("/books/1").get_json() == book


def test_a_withdrawn_book_stays_on_its_loans(client, admin, member, loan, book):
    # Stages 02-05 erased the book from past loans; a soft delete keeps the history.
    assert client.delete(f"/books/{book['id']}", headers=admin).status_code == 204
    books = client.get(f"/loans/{loan['id']}", headers=member).get_json()["books"]
    assert [b["id"] for b in books] == [book["id"]]
