from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Loan
from tests.conftest import BOOK


def count_loans(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Loan.id)))


@pytest.fixture
def second_book(client):
    return client.post("/books", json={**BOOK, "title": "Dune Messiah"}).get_json()


def test_create_loan_returns_201_the_loan_and_its_location(client, user, book):
    response = client.post("/loans", json={"user_id": user["id"], "book_ids": [book["id"]]})
    assert response.status_code == 201
    body = response.get_json()
    assert body == {
        "id": body["id"],
        "user_id": user["id"],
        "loan_date": date.today().isoformat(),
        "due_date": (date.today() + timedelta(days=14)).isoformat(),
        "return_date": None,
        "books": [book],
    }
    assert response.headers["Location"] == f"/loans/{body['id']}"


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"book_ids": []}, "book_ids", "Length must be between 1 and 10."),
        ({"book_ids": [1, 1]}, "book_ids", "A book can only be listed once."),
        ({"book_ids": ["1"]}, "book_ids", {"0": ["Not a valid integer."]}),
        ({"book_ids": 1}, "book_ids", "Not a valid list."),
        ({"book_ids": list(range(1, 12))}, "book_ids", "Length must be between 1 and 10."),
        (
            {"book_ids": [2**40]},
            "book_ids",
            {"0": ["Must be greater than or equal to 1 and less than or equal to 2147483647."]},
        ),
        ({"loan_date": "2020-01-01"}, "loan_date", "Unknown field."),
    ],
)
def test_create_loan_with_invalid_input_is_400(app, client, user, book, body, field, message):
    response = client.post("/loans", json={"user_id": user["id"], "book_ids": [book["id"]], **body})
    assert response.status_code == 400
    errors = response.get_json()["errors"]
    assert errors[field] == (message if isinstance(message, dict) else [message])
    assert count_loans(app) == 0


def test_create_loan_for_a_missing_user_is_404(app, client, book):
    response = client.post("/loans", json={"user_id": 42, "book_ids": [book["id"]]})
    assert response.status_code == 404
    assert response.get_json()["detail"] == "User 42 does not exist."
    assert count_loans(app) == 0


def test_create_loan_with_a_missing_book_is_404(app, client, user, book):
    response = client.post("/loans", json={"user_id": user["id"], "book_ids": [book["id"], 7, 9]})
    assert response.status_code == 404
    assert response.get_json()["detail"] == "Books do not exist: [7, 9]."
    assert count_loans(app) == 0


def test_list_and_get_loans(client, loan):
    assert client.get("/loans").get_json() == [loan]
    assert client.get(f"/loans/{loan['id']}").get_json() == loan


def test_get_a_missing_loan_is_404(client):
    response = client.get("/loans/5")
    assert response.status_code == 404
    assert response.get_json()["detail"] == "Loan 5 does not exist."


def test_add_a_book_to_a_loan(client, loan, second_book):
    response = client.put(f"/loans/{loan['id']}/books/{second_book['id']}")
    assert response.status_code == 200
    assert [b["title"] for b in response.get_json()["books"]] == ["Dune", "Dune Messiah"]


def test_adding_a_book_already_on_the_loan_is_409(client, loan, book):
    response = client.put(f"/loans/{loan['id']}/books/{book['id']}")
    assert response.status_code == 409
    assert response.get_json()["detail"] == f"Book {book['id']} is already on loan {loan['id']}."


def test_remove_a_book_from_a_loan(client, loan, book):
    response = client.delete(f"/loans/{loan['id']}/books/{book['id']}")
    assert response.status_code == 200
    assert response.get_json()["books"] == []


def test_removing_a_book_not_on_the_loan_is_404(client, loan, second_book):
    response = client.delete(f"/loans/{loan['id']}/books/{second_book['id']}")
    assert response.status_code == 404
    assert response.get_json()["detail"] == (
        f"Book {second_book['id']} is not on loan {loan['id']}."
    )


@pytest.mark.parametrize("method", ["put", "delete"])
def test_changing_books_on_a_missing_loan_or_book_is_404(client, loan, book, method):
    assert getattr(client, method)(f"/loans/99/books/{book['id']}").status_code == 404
    assert getattr(client, method)(f"/loans/{loan['id']}/books/99").status_code == 404


@pytest.mark.parametrize("method", ["put", "delete"])
def test_a_returned_loan_cannot_change(app, client, loan, book, second_book, method):
    with app.app_context():
        db.session.get(Loan, loan["id"]).return_date = date.today()
        db.session.commit()
    book_id = second_book["id"] if method == "put" else book["id"]
    response = getattr(client, method)(f"/loans/{loan['id']}/books/{book_id}")
    assert response.status_code == 409
    assert response.get_json()["detail"] == f"Loan {loan['id']} was returned; it cannot change."
