import threading
from datetime import date, timedelta

import pytest
import time_machine

from app import create_app
from app.auth import encode_token
from app.extensions import db
from app.models import Book, Loan, User
from tests.conftest import BOOK, count


@pytest.fixture
def second_book(client, admin):
    return client.post("/books", json={**BOOK, "title": "Dune Messiah"}, headers=admin).get_json()


@pytest.fixture
def grace(auth):
    """`Authorization` headers of a second member, grace@example.com."""
    return auth.headers("grace@example.com")


def available(client, book_id: int) -> int:
    return client.get(f"/books/{book_id}").get_json()["available"]


def test_borrowing_returns_201_the_loan_and_takes_a_copy(client, member, book):
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
    assert available(client, book["id"]) == 0


def test_the_last_copy_cannot_be_borrowed_twice(app, client, grace, loan, book):
    response = client.post("/loans", json={"book_ids": [book["id"]]}, headers=grace)
    assert response.status_code == 409
    assert response.get_json()["detail"] == f"No copy of book {book['id']} is available."
    assert count(app, Loan) == 1


def test_a_refused_loan_takes_no_copy_at_all(app, client, grace, loan, book, second_book):
    # The second book is free, the first is not: the whole loan is refused, atomically.
    response = client.post(
        "/loans", json={"book_ids": [second_book["id"], book["id"]]}, headers=grace
    )
    assert response.status_code == 409
    assert available(client, second_book["id"]) == 1


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"book_ids": []}, "book_ids", ["Length must be between 1 and 10."]),
        ({"book_ids": [1, 1]}, "book_ids", ["A book can only be listed once."]),
        ({"book_ids": ["1"]}, "book_ids", {"0": ["Not a valid integer."]}),
        (
            {"book_ids": [0]},
            "book_ids",
            {"0": ["Must be greater than or equal to 1 and less than or equal to 2147483647."]},
        ),
        (
            {"book_ids": [2**40]},
            "book_ids",
            {"0": ["Must be greater than or equal to 1 and less than or equal to 2147483647."]},
        ),
        ({"book_ids": 1}, "book_ids", ["Not a valid list."]),
        ({"user_id": "me"}, "user_id", ["Not a valid integer."]),
        ({"loan_date": "2020-01-01"}, "loan_date", ["Unknown field."]),
    ],
)
def test_create_loan_with_invalid_input_is_400(app, client, member, book, body, field, message):
    response = client.post("/loans", json={"book_ids": [book["id"]], **body}, headers=member)
    assert response.status_code == 400
    assert response.get_json()["errors"][field] == message
    assert count(app, Loan) == 0


def test_a_missing_or_withdrawn_book_is_404(app, client, admin, member, book, second_book):
    client.delete(f"/books/{second_book['id']}", headers=admin)
    response = client.post(
        "/loans", json={"book_ids": [book["id"], second_book["id"], 99]}, headers=member
    )
    assert response.status_code == 404
    assert response.get_json()["detail"] == f"Books do not exist: [{second_book['id']}, 99]."
    assert count(app, Loan) == 0
    assert available(client, book["id"]) == 1


def test_an_admin_lends_to_another_user_and_a_member_cannot(client, admin, member, grace, book):
    graces_id = client.get("/users/me", headers=grace).get_json()["id"]
    loan = {"user_id": graces_id, "book_ids": [book["id"]]}
    assert client.post("/loans", json=loan, headers=member).status_code == 403
    as_admin = client.post("/loans", json=loan, headers=admin)
    assert as_admin.status_code == 201
    assert as_admin.get_json()["user_id"] == graces_id


def test_return_a_loan_gives_the_copies_back(client, member, loan, book):
    response = client.post(f"/loans/{loan['id']}/return", headers=member)
    assert response.status_code == 200
    assert response.get_json()["return_date"] == date.today().isoformat()
    assert available(client, book["id"]) == 1
    again = client.post(f"/loans/{loan['id']}/return", headers=member)
    assert again.status_code == 409
    assert again.get_json()["detail"] == f"Loan {loan['id']} was returned; it cannot change."
    assert available(client, book["id"]) == 1


def test_members_list_their_own_loans_and_admins_all(client, loan, grace, admin, second_book):
    graces = client.post("/loans", json={"book_ids": [second_book["id"]]}, headers=grace)
    mine = client.get("/loans", headers=grace).get_json()
    assert mine["data"] == [graces.get_json()]
    assert mine["meta"]["total"] == 1
    everyone = client.get("/loans", headers=admin).get_json()["data"]
    assert [item["id"] for item in everyone] == [loan["id"], graces.get_json()["id"]]


def test_loans_by_status(app, client, auth, member, book, second_book):
    with time_machine.travel(date.today() - timedelta(days=30), tick=False):
        then = auth.headers()  # today's token would be issued in the future: refused
        overdue = client.post("/loans", json={"book_ids": [book["id"]]}, headers=then)
    active = client.post("/loans", json={"book_ids": [second_book["id"]]}, headers=member)
    client.post(f"/loans/{active.get_json()['id']}/return", headers=member)
    returned_id, overdue_id = active.get_json()["id"], overdue.get_json()["id"]
    again = client.post("/loans", json={"book_ids": [second_book["id"]]}, headers=member)

    def ids(status):
        response = client.get(f"/loans?status={status}", headers=member)
        return [item["id"] for item in response.get_json()["data"]]

    assert ids("active") == [overdue_id, again.get_json()["id"]]
    assert ids("overdue") == [overdue_id]
    assert ids("returned") == [returned_id]
    bad = client.get("/loans?status=lost", headers=member)
    assert bad.status_code == 400
    assert bad.get_json()["errors"] == {"status": ["Must be one of: active, returned, overdue."]}


def test_another_members_loan_is_404_like_a_missing_one(client, loan, grace, book):
    for path, method in [
        (f"/loans/{loan['id']}", "get"),
        (f"/loans/{loan['id']}/return", "post"),
        (f"/loans/{loan['id']}/books/{book['id']}", "delete"),
        (f"/loans/{loan['id']}/books/{book['id']}", "put"),
    ]:
        response = getattr(client, method)(path, headers=grace)
        assert response.status_code == 404
        assert response.get_json()["detail"] == f"Loan {loan['id']} does not exist."
    assert (
        client.get("/loans/999", headers=grace).get_json()["detail"] == "Loan 999 does not exist."
    )


def test_add_and_remove_books_on_a_loan(client, member, loan, book, second_book):
    added = client.put(f"/loans/{loan['id']}/books/{second_book['id']}", headers=member)
    assert added.status_code == 200
    assert [b["id"] for b in added.get_json()["books"]] == [book["id"], second_book["id"]]
    assert available(client, second_book["id"]) == 0
    removed = client.delete(f"/loans/{loan['id']}/books/{book['id']}", headers=member)
    assert removed.status_code == 200
    assert [b["id"] for b in removed.get_json()["books"]] == [second_book["id"]]
    assert available(client, book["id"]) == 1


def test_adding_a_book_with_no_copy_left_is_409(client, member, grace, loan, book, second_book):
    graces = client.post("/loans", json={"book_ids": [second_book["id"]]}, headers=grace)
    response = client.put(f"/loans/{graces.get_json()['id']}/books/{book['id']}", headers=grace)
    assert response.status_code == 409
    assert response.get_json()["detail"] == f"No copy of book {book['id']} is available."


def test_adding_a_book_already_on_the_loan_is_409(client, member, loan, book):
    response = client.put(f"/loans/{loan['id']}/books/{book['id']}", headers=member)
    assert response.status_code == 409
    assert response.get_json()["detail"] == f"Book {book['id']} is already on loan {loan['id']}."


def test_removing_a_book_not_on_the_loan_is_404(client, member, loan, second_book):
    response = client.delete(f"/loans/{loan['id']}/books/{second_book['id']}", headers=member)
    assert response.status_code == 404
    assert response.get_json()["detail"] == f"Book {second_book['id']} is not on loan {loan['id']}."


@pytest.mark.parametrize("method", ["put", "delete"])
def test_a_returned_loan_cannot_change(client, member, loan, book, second_book, method):
    client.post(f"/loans/{loan['id']}/return", headers=member)
    book_id = second_book["id"] if method == "put" else book["id"]
    response = getattr(client, method)(f"/loans/{loan['id']}/books/{book_id}", headers=member)
    assert response.status_code == 409
    assert available(client, second_book["id"]) == 1


def test_only_admins_delete_loans_and_copies_come_back(app, client, member, admin, loan, book):
    assert client.delete(f"/loans/{loan['id']}", headers=member).status_code == 403
    assert client.delete(f"/loans/{loan['id']}", headers=admin).status_code == 204
    assert count(app, Loan) == 0
    assert available(client, book["id"]) == 1
    assert client.delete(f"/loans/{loan['id']}", headers=admin).status_code == 404


def test_an_account_with_books_out_cannot_be_deleted(app, client, member, loan):
    response = client.delete("/users/me", headers=member)
    assert response.status_code == 409
    client.post(f"/loans/{loan['id']}/return", headers=member)
    assert client.delete("/users/me", headers=member).status_code == 204
    assert count(app, Loan) == 0


def test_many_members_borrowing_the_last_copy_at_once_exactly_one_wins(tmp_path):
    # A file database and real threads: each request has its own connection and transaction.
    app = create_app(
        {"APP_CONFIG": "testing", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/c.db"}
    )
    with app.app_context():
        db.create_all()
        db.session.add(Book(**{**BOOK, "publish_date": date(1965, 8, 1)}, copies=1))
        members = [
            User(first_name="M", last_name=str(n), email=f"m{n}@example.com") for n in range(12)
        ]
        for member in members:
            member.password_hash = "not used"
        db.session.add_all(members)
        db.session.commit()
        tokens = [encode_token(member) for member in members]

    start = threading.Barrier(len(tokens))
    statuses = []

    def borrow(token):
        client = app.test_client()
        start.wait()
        response = client.post(
            "/loans", json={"book_ids": [1]}, headers={"Authorization": f"Bearer {token}"}
        )
        statuses.append(response.status_code)

    threads = [threading.Thread(target=borrow, args=(token,)) for token in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201] + [409] * (len(tokens) - 1)
    with app.app_context():
        assert count(app, Loan) == 1
        assert db.session.get(Book, 1).available == 0
