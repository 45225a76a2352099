import pytest

from app.models import Book
from tests.conftest import BOOK, BOOK_DEFAULTS, count


def test_create_book_returns_201_the_book_and_its_location(client, admin):
    response = client.post("/books", json=BOOK, headers=admin)
    assert response.status_code == 201
    body = response.get_json()
    assert body == {"id": body["id"], **BOOK, **BOOK_DEFAULTS}
    assert response.headers["Location"] == f"/books/{body['id']}"


def test_create_book_with_copies_and_isbn(client, admin):
    response = client.post(
        "/books", json={**BOOK, "copies": 4, "isbn": "9780441013593"}, headers=admin
    )
    assert response.status_code == 201
    assert response.get_json()["available"] == 4
    assert response.get_json()["isbn"] == "9780441013593"


def test_get_book(client, book):
    response = client.get(f"/books/{book['id']}")
    assert response.status_code == 200
    assert response.get_json() == book


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"title": ""}, "title", "Must not be blank."),
        ({"title": None}, "title", "Field may not be null."),
        ({"author": 42}, "author", "Not a valid string."),
        ({"genre": "x" * 101}, "genre", "Longer than maximum length 100."),
        ({"publish_date": "1965-13-01"}, "publish_date", "Not a valid date."),
        (
            {"copies": -1},
            "copies",
            "Must be greater than or equal to 0 and less than or equal to 10000.",
        ),
        (
            {"copies": 10_001},
            "copies",
            "Must be greater than or equal to 0 and less than or equal to 10000.",
        ),
        ({"copies": "3"}, "copies", "Not a valid integer."),
        ({"copies": 2.5}, "copies", "Not a valid integer."),
        ({"isbn": "978-0441013593"}, "isbn", "Not an ISBN-10 or ISBN-13."),
        ({"isbn": "97804410135931"}, "isbn", "Not an ISBN-10 or ISBN-13."),
        ({"available": 5}, "available", "Unknown field."),
        ({"withdrawn_at": None}, "withdrawn_at", "Unknown field."),
        ({"on_loan": 0}, "on_loan", "Unknown field."),
        ({"id": 7}, "id", "Unknown field."),
    ],
)
def test_create_book_with_an_invalid_field_is_400_and_writes_nothing(
    app, client, admin, change, field, message
):
    response = client.post("/books", json={**BOOK, **change}, headers=admin)
    assert response.status_code == 400
    assert response.get_json()["errors"] == {field: [message]}
    assert count(app, Book) == 0


def test_replace_book_resets_what_is_not_sent(client, admin):
    book = client.post("/books", json={**BOOK, "copies": 3, "isbn": "0441013597"}, headers=admin)
    changed = {**BOOK, "title": "Dune Messiah"}
    response = client.put(f"/books/{book.get_json()['id']}", json=changed, headers=admin)
    assert response.status_code == 200
    assert response.get_json() == {"id": book.get_json()["id"], **changed, **BOOK_DEFAULTS}


def test_put_needs_every_required_field(client, admin, book):
    response = client.put(f"/books/{book['id']}", json={"title": "Only a title"}, headers=admin)
    assert response.status_code == 400
    assert set(response.get_json()["errors"]) == {"author", "genre", "age_category", "publish_date"}
    assert client.get(f"/books/{book['id']}").get_json() == book


def test_patch_changes_only_the_fields_sent(client, admin, book):
    response = client.patch(f"/books/{book['id']}", json={"copies": 5}, headers=admin)
    assert response.status_code == 200
    assert response.get_json() == {**book, "copies": 5, "available": 5}


def test_copies_cannot_go_below_the_copies_on_loan(client, admin, loan, book):
    response = client.patch(f"/books/{book['id']}", json={"copies": 0}, headers=admin)
    assert response.status_code == 409
    assert "1 copies of book" in response.get_json()["detail"]
    assert client.get(f"/books/{book['id']}").get_json()["copies"] == 1


@pytest.mark.parametrize(
    "duplicate",
    [BOOK, {**BOOK, "title": "Other", "isbn": "9780441013593"}],
    ids=["same title and author", "same isbn"],
)
def test_a_duplicate_book_is_409_without_the_database_message(app, client, admin, duplicate):
    client.post("/books", json={**BOOK, "isbn": "9780441013593"}, headers=admin)
    response = client.post("/books", json=duplicate, headers=admin)
    assert response.status_code == 409
    assert response.get_json()["detail"] == "The request conflicts with an existing resource."
    assert "UNIQUE" not in response.get_data(as_text=True)
    assert count(app, Book) == 1


def test_delete_withdraws_the_book_from_the_catalogue(app, client, admin, book):
    response = client.delete(f"/books/{book['id']}", headers=admin)
    assert response.status_code == 204
    assert response.data == b""
    assert client.get(f"/books/{book['id']}").status_code == 404
    assert client.get("/books").get_json()["data"] == []
    assert count(app, Book) == 1  # still in the database, for the loan history


def test_admins_still_see_a_withdrawn_book(client, admin, book):
    client.delete(f"/books/{book['id']}", headers=admin)
    response = client.get(f"/books/{book['id']}", headers=admin)
    assert response.status_code == 200
    assert response.get_json()["withdrawn_at"].startswith("20")
    assert response.get_json()["withdrawn_at"].endswith("+00:00")  # UTC, on every database
    listed = client.get("/books?include_deleted=true", headers=admin).get_json()["data"]
    assert [b["id"] for b in listed] == [book["id"]]
    assert client.get("/books?include_deleted=false", headers=admin).get_json()["data"] == []


@pytest.mark.parametrize("who", ["anonymous", "member"])
def test_only_admins_list_withdrawn_books(client, member, who):
    headers = member if who == "member" else {}
    response = client.get("/books?include_deleted=true", headers=headers)
    assert response.status_code == 403
    assert response.get_json()["detail"] == "Only admins can list withdrawn books."


def test_include_deleted_must_be_true_or_false(client):
    response = client.get("/books?include_deleted=yes")
    assert response.status_code == 400
    assert response.get_json()["errors"] == {"include_deleted": ["Must be true or false."]}


def test_a_withdrawn_book_stays_on_its_loans(client, admin, member, loan, book):
    client.delete(f"/books/{book['id']}", headers=admin)
    assert (
        client.get(f"/loans/{loan['id']}", headers=member).get_json()["books"][0]["id"]
        == book["id"]
    )


def test_withdrawing_twice_is_404(client, admin, book):
    client.delete(f"/books/{book['id']}", headers=admin)
    response = client.delete(f"/books/{book['id']}", headers=admin)
    assert response.status_code == 404
    assert response.get_json()["detail"] == f"Book {book['id']} was already withdrawn."


@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
def test_a_missing_book_is_404(client, admin, method):
    response = getattr(client, method)("/books/999", json=BOOK, headers=admin)
    assert response.status_code == 404
    assert response.get_json()["detail"] == "Book 999 does not exist."


@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
def test_an_id_too_big_for_the_database_is_404(client, admin, method):
    for book_id in (2**31, 10**22):
        response = getattr(client, method)(f"/books/{book_id}", json=BOOK, headers=admin)
        assert response.status_code == 404


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
    assert count(app, Book) == 1
    assert client.get("/books/1").get_json() == book


@pytest.mark.parametrize(
    ("data", "content_type", "status", "detail"),
    [
        ("[]", "application/json", 400, "The request body is invalid."),
        ('"a string"', "application/json", 400, "The request body is invalid."),
        ('{"title": ', "application/json", 400, None),
        ("title=Dune", "text/plain", 415, None),
        ("title=Dune", "application/x-www-form-urlencoded", 415, None),
    ],
)
def test_a_body_that_is_not_a_json_object_is_refused(
    app, client, admin, data, content_type, status, detail
):
    response = client.post("/books", data=data, content_type=content_type, headers=admin)
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    if detail:
        assert response.get_json()["detail"] == detail
    assert count(app, Book) == 0
