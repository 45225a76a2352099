from datetime import date, timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from app.extensions import db
from app.models import Loan
from tests.conftest import BOOK


def count_loans(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Loan.id)))


@pytest.fixture
def second_book(client, admin):
    return client.post("/books", json={**BOOK, "title": "Dune Messiah"}, headers=admin).get_json()


@pytest.fixture
def grace(auth):
    """`Authorization` headers of a second member, grace@example.com."""
    return auth.headers("grace@example.com")


def test_create_loan_for_yourself(client, member, book):
    response = client.post("/loans", json={"book_ids": [book["id"]]}, headers=member)
    assert response.status_code == 201
    body = response.get_json()
    me = client.get("/users/me", headers=member).get_json()
    assert body == {
        "id": body["id"],
        "user_id": me["id"],
        "loan_date": date.today().isoformat(),
        "due_date": (date.today() + timedelta(days=14)).isoformat(),
        "return_date": None,
        "books": [{**book, "available": 0}],
    }
    assert response.headers["Location"] == f"/loans/{body['id']}"


def test_loans_need_a_token(client, book):
    assert client.post("/loans", json={"book_ids": [book["id"]]}).status_code == 401
    assert client.get("/loans").status_code == 401


def test_an_admin_can_lend_to_another_user(client, admin, user, book):
    body = {"user_id": user["id"], "book_ids": [book["id"]]}
    response = client.post("/loans", json=body, headers=admin)
    assert response.status_code == 201
    assert response.get_json()["user_id"] == user["id"]


def test_a_member_cannot_lend_to_another_user(app, client, member, admin, book):
    admin_id = client.get("/users/me", headers=admin).get_json()["id"]
    body = {"user_id": admin_id, "book_ids": [book["id"]]}
    response = client.post("/loans", json=body, headers=member)
    assert response.status_code == 403
    assert count_loans(app) == 0


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
def test_create_loan_with_invalid_input_is_400(app, client, member, book, body, field, message):
    response = client.post("/loans", json={"book_ids": [book["id"]], **body}, headers=member)
    assert response.status_code == 400
    errors = response.get_json()["errors"]
    assert errors[field] == (message if isinstance(message, dict) else [message])
    assert count_loans(app) == 0


def test_create_loan_for_a_missing_user_is_404(app, client, admin, book):
    response = client.post("/loans", json={"user_id": 42, "book_ids": [book["id"]]}, headers=admin)
    assert response.status_code == 404
    assert response.get_json()["detail"] == "User 42 does not exist."
    assert count_loans(app) == 0


def test_create_loan_with_a_missing_book_is_404(app, client, member, book):
    response = client.post("/loans", json={"book_ids": [book["id"], 7, 9]}, headers=member)
    assert response.status_code == 404
    assert response.get_json()["detail"] == "Books do not exist: [7, 9]."
    assert count_loans(app) == 0


def test_members_list_their_own_loans_and_admins_all(client, loan, grace, admin, second_book):
    graces = client.post("/loans", json={"book_ids": [second_book["id"]]}, headers=grace).get_json()
    assert client.get("/loans", headers=grace).get_json()["data"] == [graces]
    assert client.get("/loans", headers=admin).get_json()["data"] == [loan, graces]


def test_the_borrower_and_an_admin_read_a_loan(client, member, admin, loan):
    for headers in (member, admin):
        assert client.get(f"/loans/{loan['id']}", headers=headers).get_json() == loan


def test_another_members_loan_is_404_like_a_missing_one(client, loan, grace):
    for loan_id in (loan["id"], 999):
        response = client.get(f"/loans/{loan_id}", headers=grace)
        assert response.status_code == 404
        assert response.get_json()["detail"] == f"Loan {loan_id} does not exist."


@pytest.mark.parametrize("method", ["put", "delete"])
def test_nobody_changes_another_members_loan(client, loan, book, second_book, grace, method):
    book_id = second_book["id"] if method == "put" else book["id"]
    response = getattr(client, method)(f"/loans/{loan['id']}/books/{book_id}", headers=grace)
    assert response.status_code == 404
    assert response.get_json()["detail"] == f"Loan {loan['id']} does not exist."


def test_add_a_book_to_a_loan(client, member, loan, second_book):
    response = client.put(f"/loans/{loan['id']}/books/{second_book['id']}", headers=member)
    assert response.status_code == 200
    assert [b["title"] for b in response.get_json()["books"]] == ["Dune", "Dune Messiah"]


def test_adding_a_book_already_on_the_loan_is_409(client, member, loan, book):
    response = client.put(f"/loans/{loan['id']}/books/{book['id']}", headers=member)
    assert response.status_code == 409
    assert response.get_json()["detail"] == f"Book {book['id']} is already on loan {loan['id']}."


def test_remove_a_book_from_a_loan(client, member, loan, book, second_book):
    client.put(f"/loans/{loan['id']}/books/{second_book['id']}", headers=member)
    response = client.delete(f"/loans/{loan['id']}/books/{book['id']}", headers=member)
    assert response.status_code == 200
    assert [b["id"] for b in response.get_json()["books"]] == [second_book["id"]]


def test_removing_a_book_not_on_the_loan_is_404(client, member, loan, second_book):
    response = client.delete(f"/loans/{loan['id']}/books/{second_book['id']}", headers=member)
    assert response.status_code == 404
    assert response.get_json()["detail"] == (
        f"Book {second_book['id']} is not on loan {loan['id']}."
    )


@pytest.mark.parametrize("method", ["put", "delete"])
def test_changing_books_on_a_missing_loan_or_book_is_404(client, member, loan, book, method):
    change = getattr(client, method)
    assert change(f"/loans/99/books/{book['id']}", headers=member).status_code == 404
    assert change(f"/loans/{loan['id']}/books/99", headers=member).status_code == 404


@pytest.mark.parametrize("method", ["put", "delete"])
def test_a_returned_loan_cannot_change(app, client, member, loan, book, second_book, method):
    with app.app_context():
        db.session.get(Loan, loan["id"]).return_date = date.today()
        db.session.commit()
    book_id = second_book["id"] if method == "put" else book["id"]
    response = getattr(client, method)(f"/loans/{loan['id']}/books/{book_id}", headers=member)
    assert response.status_code == 409
    assert response.get_json()["detail"] == f"Loan {loan['id']} was returned; it cannot change."


def test_loans_by_status(client, auth, member, book, second_book):
    with time_machine.travel(date.today() - timedelta(days=30), tick=False):
        then = auth.headers()  # a token of that day: today's would be issued in the future
        overdue = client.post("/loans", json={"book_ids": [book["id"]]}, headers=then).get_json()
    returned = client.post("/loans", json={"book_ids": [second_book["id"]]}, headers=member)
    client.post(f"/loans/{returned.get_json()['id']}/return", headers=member)

    def ids(status):
        response = client.get(f"/loans?status={status}", headers=member)
        return [item["id"] for item in response.get_json()["data"]]

    assert ids("active") == ids("overdue") == [overdue["id"]]
    assert ids("returned") == [returned.get_json()["id"]]
    bad = client.get("/loans?status=lost", headers=member)
    assert bad.status_code == 400
    assert bad.get_json()["errors"] == {"status": ["Must be one of: active, returned, overdue."]}
