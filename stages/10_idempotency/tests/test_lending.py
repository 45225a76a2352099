"""The library's rules (app/lending.py): copies, the loan lifecycle, soft delete, the last admin.

The threaded tests use a file database: each thread's request has its own connection and
transaction, as with several gunicorn workers.
"""

import threading
from datetime import date

import pytest
from sqlalchemy import func, select

from app import create_app
from app.auth import encode_token
from app.extensions import db
from app.models import Book, Loan, User
from tests.conftest import BOOK


def available(client, book_id: int) -> int:
    return client.get(f"/books/{book_id}").get_json()["available"]


@pytest.fixture
def second_book(client, admin):
    return client.post("/books", json={**BOOK, "title": "Dune Messiah"}, headers=admin).get_json()


def test_a_loan_takes_a_copy_and_the_last_copy_cannot_be_borrowed_twice(client, auth, loan, book):
    assert available(client, book["id"]) == 0
    grace = auth.headers("grace@example.com")
    response = client.post("/loans", json={"book_ids": [book["id"]]}, headers=grace)
    assert response.status_code == 409
    assert response.get_json()["detail"] == f"No copy of book {book['id']} is available."


def test_a_refused_loan_takes_no_copy_at_all(client, member, loan, book, second_book):
    # The second book is free, the first is not: the whole loan is refused, atomically.
    ids = [second_book["id"], book["id"]]
    assert client.post("/loans", json={"book_ids": ids}, headers=member).status_code == 409
    assert available(client, second_book["id"]) == 1


def test_return_gives_the_copies_back_once(client, member, loan, book):
    response = client.post(f"/loans/{loan['id']}/return", headers=member)
    assert response.status_code == 200
    assert response.get_json()["return_date"] == date.today().isoformat()
    assert available(client, book["id"]) == 1
    again = client.post(f"/loans/{loan['id']}/return", headers=member)
    assert again.status_code == 409
    assert again.get_json()["detail"] == f"Loan {loan['id']} was returned; it cannot change."
    assert available(client, book["id"]) == 1


def test_a_loan_holds_at_most_ten_books(client, admin, member):
    ids = [
        client.post("/books", json={**BOOK, "title": f"Volume {n}"}, headers=admin).get_json()["id"]
        for n in range(11)
    ]
    loan = client.post("/loans", json={"book_ids": ids[:10]}, headers=member).get_json()
    response = client.put(f"/loans/{loan['id']}/books/{ids[10]}", headers=member)
    assert response.status_code == 409
    assert response.get_json()["detail"] == "A loan holds at most 10 books."
    assert available(client, ids[10]) == 1


def test_the_last_book_of_a_loan_cannot_be_removed(client, member, loan, book):
    response = client.delete(f"/loans/{loan['id']}/books/{book['id']}", headers=member)
    assert response.status_code == 409
    assert "return the loan instead" in response.get_json()["detail"]
    assert available(client, book["id"]) == 0


def test_deleting_an_active_loan_gives_its_copies_back(app, client, member, admin, loan, book):
    assert client.delete(f"/loans/{loan['id']}", headers=member).status_code == 403
    assert client.delete(f"/loans/{loan['id']}", headers=admin).status_code == 204
    assert available(client, book["id"]) == 1
    assert client.delete(f"/loans/{loan['id']}", headers=admin).status_code == 404


def test_copies_cannot_go_below_the_copies_on_loan(client, admin, loan, book):
    response = client.patch(f"/books/{book['id']}", json={"copies": 0}, headers=admin)
    assert response.status_code == 409
    assert response.get_json()["detail"] == (
        f"1 copies of book {book['id']} are on loan; keep at least that many."
    )


def test_a_withdrawn_book_leaves_the_catalogue_but_admins_see_it(client, admin, member, book):
    assert client.delete(f"/books/{book['id']}", headers=admin).status_code == 204
    assert client.get(f"/books/{book['id']}").status_code == 404
    assert client.get("/books").get_json()["data"] == []
    as_admin = client.get(f"/books/{book['id']}", headers=admin).get_json()
    assert as_admin["withdrawn_at"].endswith("+00:00")
    listed = client.get("/books?include_deleted=true", headers=admin).get_json()["data"]
    assert [b["id"] for b in listed] == [book["id"]]
    forbidden = client.get("/books?include_deleted=true", headers=member)
    assert forbidden.status_code == 403
    again = client.delete(f"/books/{book['id']}", headers=admin)
    assert again.status_code == 404
    assert again.get_json()["detail"] == f"Book {book['id']} was already withdrawn."


def test_a_withdrawn_book_cannot_be_borrowed(client, admin, member, book):
    client.delete(f"/books/{book['id']}", headers=admin)
    response = client.post("/loans", json={"book_ids": [book["id"]]}, headers=member)
    assert response.status_code == 404


def test_a_withdrawn_title_and_isbn_can_be_catalogued_again(client, admin):
    first = client.post("/books", json={**BOOK, "isbn": "0441013597"}, headers=admin).get_json()
    duplicate = client.post("/books", json={**BOOK, "isbn": "0441013597"}, headers=admin)
    assert duplicate.status_code == 409
    client.delete(f"/books/{first['id']}", headers=admin)
    again = client.post("/books", json={**BOOK, "isbn": "0441013597"}, headers=admin)
    assert again.status_code == 201


def test_an_admin_restores_a_withdrawn_book(client, admin, book):
    client.delete(f"/books/{book['id']}", headers=admin)
    response = client.post(f"/books/{book['id']}/restore", headers=admin)
    assert response.status_code == 200
    assert "withdrawn_at" not in response.get_json()
    assert client.get(f"/books/{book['id']}").status_code == 200
    again = client.post(f"/books/{book['id']}/restore", headers=admin)
    assert again.status_code == 409
    assert again.get_json()["detail"] == (
        f"Book {book['id']} is in the catalogue; there is nothing to restore."
    )


def test_restoring_is_409_if_an_identical_book_was_catalogued_meanwhile(client, admin, book):
    client.delete(f"/books/{book['id']}", headers=admin)
    client.post("/books", json=BOOK, headers=admin)
    response = client.post(f"/books/{book['id']}/restore", headers=admin)
    assert response.status_code == 409
    assert response.get_json()["detail"] == (
        f"An identical book was catalogued after book {book['id']} was withdrawn."
    )
    assert client.get(f"/books/{book['id']}").status_code == 404


def test_only_admins_restore_books(client, admin, member, book):
    client.delete(f"/books/{book['id']}", headers=admin)
    assert client.post(f"/books/{book['id']}/restore", headers=member).status_code == 403


def test_an_account_with_books_out_cannot_be_deleted(client, member, loan):
    response = client.delete("/users/me", headers=member)
    assert response.status_code == 409
    assert response.get_json()["detail"] == (
        "This account has books on loan; return them before deleting it."
    )
    client.post(f"/loans/{loan['id']}/return", headers=member)
    assert client.delete("/users/me", headers=member).status_code == 204


def test_the_only_admin_can_be_neither_deleted_nor_demoted(client, auth, admin):
    admin_id = client.get("/users/me", headers=admin).get_json()["id"]
    message = "This is the only admin account; make another admin first."
    for response in (
        client.delete("/users/me", headers=admin),
        client.delete(f"/users/{admin_id}", headers=admin),
        client.patch(f"/users/{admin_id}", json={"role": "member"}, headers=admin),
    ):
        assert response.status_code == 409
        assert response.get_json()["detail"] == message
    assert client.get("/users/me", headers=admin).get_json()["role"] == "admin"
    auth.headers("grace@example.com", role="admin")  # a second admin
    demoted = client.patch(f"/users/{admin_id}", json={"role": "member"}, headers=admin)
    assert demoted.status_code == 200


# Races: many requests at once on one loan. Exactly one may change it; the stock stays true.


@pytest.fixture
def race(tmp_path):
    """An app on a file database with a loan of two books, and `at_once(*requests)`."""
    app = create_app(
        {"APP_CONFIG": "testing", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/r.db"}
    )
    with app.app_context():
        db.create_all()
        books = [
            Book(**{**BOOK, "title": title, "publish_date": date(1965, 8, 1)}, copies=1, on_loan=1)
            for title in ("Dune", "Dune Messiah")
        ]
        member = User(first_name="M", last_name="M", email="m@example.com", password_hash="-")
        admin = User(first_name="A", last_name="A", email="a@example.com", password_hash="-")
        admin.role = "admin"
        db.session.add(Loan(user=member, books=books))
        db.session.add(admin)
        db.session.commit()
        headers = {"Authorization": f"Bearer {encode_token(admin)}"}

    def at_once(*requests: tuple) -> list[int]:
        start = threading.Barrier(len(requests))
        statuses = []

        def send(method: str, path: str, body: dict | None = None):
            client = app.test_client()
            start.wait()
            statuses.append(getattr(client, method)(path, json=body, headers=headers).status_code)

        threads = [threading.Thread(target=send, args=request) for request in requests]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        with app.app_context():  # each book's on_loan equals the active loans that hold it
            for book in db.session.scalars(select(Book)):
                held = [loan for loan in book.loans if loan.return_date is None]
                assert book.on_loan == len(held), book.title
        return sorted(statuses)

    return app, at_once


def test_many_returns_of_one_loan_at_once_give_the_copies_back_once(race):
    app, at_once = race
    assert at_once(*[("post", "/loans/1/return")] * 8) == [200] + [409] * 7
    with app.app_context():
        assert list(db.session.scalars(select(Book.on_loan).order_by(Book.id))) == [0, 0]


def test_a_return_and_a_removal_at_once_give_each_copy_back_once(race):
    _, at_once = race
    statuses = at_once(("post", "/loans/1/return"), ("delete", "/loans/1/books/1"))
    assert statuses in ([200, 409], [200, 200])  # the removal lost, or came first


def test_two_removals_of_one_book_at_once_give_it_back_once(race):
    _, at_once = race
    assert at_once(*[("delete", "/loans/1/books/1")] * 6) == [200] + [404] * 5


def test_many_deletes_of_one_active_loan_at_once_give_the_copies_back_once(race):
    app, at_once = race
    assert at_once(*[("delete", "/loans/1")] * 6) == [204] + [404] * 5
    with app.app_context():
        assert db.session.get(Book, 1).on_loan == 0


def test_many_borrowers_of_the_last_copy_at_once_exactly_one_wins(race):
    _, at_once = race
    at_once(("post", "/loans/1/return"))
    assert at_once(*[("post", "/loans", {"book_ids": [1]})] * 8) == [201] + [409] * 7


def test_two_admins_demoting_each_other_at_once_leave_one_admin(race):
    app, at_once = race
    with app.app_context():
        second = User(first_name="B", last_name="B", email="b@example.com", password_hash="-")
        second.role = "admin"
        db.session.add(second)
        db.session.commit()
    demote = {"role": "member"}
    statuses = at_once(("patch", "/users/3", demote), ("patch", "/users/2", demote))
    assert statuses.count(200) == 1  # the other is a 409 (the only admin) or a 403 (demoted)
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(User.role == "admin")) == 1
