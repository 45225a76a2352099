import hashlib
import threading

import pytest

from app import create_app
from app.auth import encode_token
from app.blueprints.books.schemas import book_schema
from app.extensions import db
from app.models import Book, User
from tests.conftest import BOOK


def stored(app, book_id: int) -> dict | None:
    """The book as the database holds it, past any cache; None if it is gone."""
    with app.app_context():
        book = db.session.get(Book, book_id)
        return None if book is None else book_schema.dump(book)


# ETag and If-None-Match: a client asks "is my copy current?" and gets a 304 without a body.


def test_a_book_has_a_strong_etag_made_from_its_body(client, book):
    response = client.get(f"/books/{book['id']}")
    assert response.status_code == 200
    assert response.headers["ETag"] == f'"{hashlib.sha1(response.data).hexdigest()}"'  # no W/
    assert response.headers["Cache-Control"] == "no-cache"  # keep it, but check it on each use
    assert "Authorization" in response.vary


@pytest.mark.parametrize("if_none_match", ["{etag}", "W/{etag}", '"other", {etag}', "*"])
def test_if_none_match_with_the_current_etag_is_304_without_a_body(client, book, if_none_match):
    path = f"/books/{book['id']}"
    etag = client.get(path).headers["ETag"]
    # Answered from the server cache: the same bytes, so the same ETag.
    response = client.get(path, headers={"If-None-Match": if_none_match.format(etag=etag)})
    assert response.status_code == 304
    assert response.data == b""
    assert response.headers["ETag"] == etag
    assert response.headers["Cache-Control"] == "no-cache"
    assert "Authorization" in response.vary


def test_if_none_match_with_a_stale_etag_is_200_with_the_new_book(client, admin, book):
    path = f"/books/{book['id']}"
    old = client.get(path).headers["ETag"]
    assert client.get(path).headers["ETag"] == old  # from the server cache: the same bytes
    client.patch(path, json={"title": "Dune (revised)"}, headers=admin)
    response = client.get(path, headers={"If-None-Match": old})
    assert response.status_code == 200
    assert response.get_json()["title"] == "Dune (revised)"
    assert response.headers["ETag"] not in (old, "")


def test_a_list_is_conditional_too(client, admin, book):
    etag = client.get("/books").headers["ETag"]
    assert client.get("/books", headers={"If-None-Match": etag}).status_code == 304
    client.post("/books", json={**BOOK, "title": "Emma"}, headers=admin)
    assert client.get("/books", headers={"If-None-Match": etag}).status_code == 200


def test_an_error_has_no_etag(client):
    response = client.get("/books/99", headers={"If-None-Match": "*"})
    assert response.status_code == 404
    assert "ETag" not in response.headers


def test_every_read_varies_on_authorization(client, admin, book):
    # Even a public read: a later stage shows admins more than anonymous clients.
    for headers in ({}, admin):
        response = client.get(f"/books/{book['id']}", headers=headers)
        assert response.status_code == 200
        assert "Authorization" in response.vary


@pytest.mark.parametrize("path", ["/users/me", "/users/{user_id}", "/loans", "/loans/{loan_id}"])
def test_personal_answers_are_never_stored_but_are_conditional(client, member, loan, path):
    path = path.format(user_id=loan["user_id"], loan_id=loan["id"])
    response = client.get(path, headers=member)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert "Authorization" in response.vary
    again = client.get(path, headers={**member, "If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304
    assert again.data == b""


def test_a_write_answers_with_the_etag_a_read_gives(client, admin, member, book):
    created = client.post("/books", json={**BOOK, "title": "Emma"}, headers=admin)
    assert created.status_code == 201
    assert created.headers["Cache-Control"] == "no-store"
    assert created.headers["ETag"] == client.get(created.headers["Location"]).headers["ETag"]
    path = f"/books/{book['id']}"
    patched = client.patch(path, json={"genre": "Space Opera"}, headers=admin)
    assert patched.headers["ETag"] == client.get(path).headers["ETag"]
    replaced = client.put(path, json={**BOOK, "title": "Dune Messiah"}, headers=admin)
    assert replaced.status_code == 200
    assert "ETag" not in replaced.headers  # RFC 9110: the stored book is not the body sent
    loan = client.post("/loans", json={"book_ids": [book["id"]]}, headers=member)
    read = client.get(loan.headers["Location"], headers=member)
    assert loan.headers["ETag"] == read.headers["ETag"]


# If-Match: two admins edit one book; the second to save, with what it read, must not overwrite.


@pytest.mark.parametrize(
    ("method", "body"),
    [
        ("put", {**BOOK, "title": "Dune Messiah"}),
        ("patch", {"title": "Dune Messiah"}),
        ("delete", None),
    ],
)
def test_a_write_with_a_stale_if_match_is_412_and_changes_nothing(
    app, client, admin, book, method, body
):
    path = f"/books/{book['id']}"
    read = client.get(path).headers["ETag"]
    client.patch(path, json={"genre": "Space Opera"}, headers=admin)  # another admin saves first
    response = getattr(client, method)(path, json=body, headers={**admin, "If-Match": read})
    assert response.status_code == 412
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert (problem["status"], problem["title"]) == (412, "Precondition Failed")
    assert problem["detail"] == (
        f"Book {book['id']} changed since you read it (If-Match): read it again."
    )
    assert stored(app, book["id"]) == {**book, "genre": "Space Opera"}


@pytest.mark.parametrize("if_match", ["{etag}", '"other", {etag}', "*"])
def test_a_write_with_the_current_etag_or_a_star_goes_ahead(client, admin, book, if_match):
    path = f"/books/{book['id']}"
    etag = client.get(path).headers["ETag"]
    headers = {**admin, "If-Match": if_match.format(etag=etag)}
    response = client.patch(path, json={"title": "Dune Messiah"}, headers=headers)
    assert response.status_code == 200
    assert response.get_json()["title"] == "Dune Messiah"
    deleted = client.delete(path, headers={**admin, "If-Match": response.headers["ETag"]})
    assert deleted.status_code == 204


def test_if_match_compares_strongly_a_weak_etag_never_matches(app, client, admin, book):
    path = f"/books/{book['id']}"
    headers = {**admin, "If-Match": "W/" + client.get(path).headers["ETag"]}
    response = client.patch(path, json={"title": "Dune Messiah"}, headers=headers)
    assert response.status_code == 412
    assert stored(app, book["id"]) == book


def test_without_if_match_a_write_goes_ahead_as_before(client, admin, book):
    response = client.patch(f"/books/{book['id']}", json={"title": "Dune Messiah"}, headers=admin)
    assert response.status_code == 200


def test_a_404_401_403_or_400_comes_before_the_412(client, admin, member, book):
    stale = {"If-Match": '"stale"'}
    missing = client.patch("/books/99", json={"title": "X"}, headers={**admin, **stale})
    assert missing.status_code == 404
    assert client.patch(f"/books/{book['id']}", json={}, headers=stale).status_code == 401
    forbidden = client.patch(f"/books/{book['id']}", json={}, headers={**member, **stale})
    assert forbidden.status_code == 403
    invalid = client.patch(f"/books/{book['id']}", json={"title": ""}, headers={**admin, **stale})
    assert invalid.status_code == 400


def test_my_profile_is_protected_by_if_match(client, member):
    read = client.get("/users/me", headers=member).headers["ETag"]
    client.patch("/users/me", json={"address": "Ockham Park"}, headers=member)  # another device
    headers = {**member, "If-Match": read}
    assert client.patch("/users/me", json={"address": "London"}, headers=headers).status_code == 412
    current = client.get("/users/me", headers=member)
    assert current.get_json()["address"] == "Ockham Park"
    headers = {**member, "If-Match": current.headers["ETag"]}
    assert client.patch("/users/me", json={"address": "London"}, headers=headers).status_code == 200


def test_an_admin_editing_a_user_with_a_stale_etag_gets_412(client, admin, member):
    me = client.get("/users/me", headers=member)
    path = f"/users/{me.get_json()['id']}"
    read = client.get(path, headers=admin).headers["ETag"]
    assert read == me.headers["ETag"]  # one user, one representation, one ETag
    client.patch("/users/me", json={"address": "Ockham Park"}, headers=member)
    response = client.patch(path, json={"role": "admin"}, headers={**admin, "If-Match": read})
    assert response.status_code == 412
    assert client.get("/users/me", headers=member).get_json()["role"] == "member"
    fresh = client.get(path, headers=admin).headers["ETag"]
    promoted = client.patch(path, json={"role": "admin"}, headers={**admin, "If-Match": fresh})
    assert promoted.status_code == 200


def test_two_admins_saving_one_book_at_once_with_the_same_etag_one_wins(tmp_path):
    # A file database, so that every thread's connection sees the same data.
    app = create_app(
        {"APP_CONFIG": "testing", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/r.db"}
    )
    with app.app_context():
        db.create_all()
        admins = [
            User(
                first_name=name,
                last_name="A",
                email=f"{name}@example.com",
                password_hash="-",
                role="admin",
            )
            for name in ("ada", "grace")
        ]
        db.session.add_all(admins)
        db.session.commit()
        tokens = {admin.first_name: f"Bearer {encode_token(admin)}" for admin in admins}
    client = app.test_client()
    book = client.post("/books", json=BOOK, headers={"Authorization": tokens["ada"]}).get_json()
    path = f"/books/{book['id']}"
    read = client.get(path).headers["ETag"]  # both admins read the book...
    start = threading.Barrier(len(tokens))
    statuses = {}

    def save(name: str) -> None:  # ...and both save their change at once, with what they read
        headers = {"Authorization": tokens[name], "If-Match": read}
        start.wait()
        response = app.test_client().patch(path, json={"title": f"{name}'s Dune"}, headers=headers)
        statuses[name] = response.status_code

    threads = [threading.Thread(target=save, args=(name,)) for name in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses.values()) == [200, 412]
    winner = next(name for name, status in statuses.items() if status == 200)
    assert stored(app, book["id"])["title"] == f"{winner}'s Dune"
    with app.app_context():
        db.engine.dispose()
