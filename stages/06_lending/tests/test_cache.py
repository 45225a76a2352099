import inspect

import pytest
from flask import request
from sqlalchemy import event, update

from app import create_app
from app.auth import token_required
from app.blueprints.books.schemas import book_schema
from app.extensions import cache, db
from app.models import Book, User
from tests.conftest import BOOK


def change_behind_the_apis_back(app, model, row_id, **values):
    """Write straight to the database, so only a cached response can still show the old value."""
    with app.app_context():
        db.session.execute(update(model).where(model.id == row_id).values(**values))
        db.session.commit()


def add_behind_the_apis_back(app, **fields) -> None:
    """Insert a book straight into the database: no write through the API, no new generation."""
    with app.app_context():
        db.session.add(Book(**book_schema.load(fields)))
        db.session.commit()


def cached_answer(app, path: str):
    """What the cache holds for GET `path`, under the key its view would use; None if nothing."""
    with app.test_request_context(path):
        view = app.view_functions[request.endpoint]
        return cache.get(view.make_cache_key(use_request=True, **request.view_args))


def test_a_book_is_served_from_the_cache(app, client, book):
    client.get(f"/books/{book['id']}")
    change_behind_the_apis_back(app, Book, book["id"], title="Changed in the database")
    assert client.get(f"/books/{book['id']}").get_json()["title"] == "Dune"


def test_a_changed_book_is_never_served_stale(client, admin, book):
    client.get(f"/books/{book['id']}")
    client.get("/books")
    client.patch(f"/books/{book['id']}", json={"title": "Dune (revised)"}, headers=admin)
    assert client.get(f"/books/{book['id']}").get_json()["title"] == "Dune (revised)"
    assert client.get("/books").get_json()["data"][0]["title"] == "Dune (revised)"


def test_a_deleted_book_disappears_from_cached_reads(client, admin, book):
    client.get(f"/books/{book['id']}")
    client.get("/books")
    client.delete(f"/books/{book['id']}", headers=admin)
    assert client.get(f"/books/{book['id']}").status_code == 404
    assert client.get("/books").get_json()["data"] == []


def test_a_new_book_appears_in_cached_lists(client, admin, book):
    assert client.get("/books").get_json()["meta"]["total"] == 1
    client.post("/books", json={**BOOK, "title": "Children of Dune"}, headers=admin)
    assert client.get("/books").get_json()["meta"]["total"] == 2


def test_each_page_has_its_own_cache_entry(client, admin):
    # The source material says "don't cache paginated routes": cached by path alone, page 2
    # would be served page 1. query_string=True gives each page and query its own entry.
    for title in ("Emma", "Beloved", "Dracula"):
        client.post("/books", json={**BOOK, "title": title}, headers=admin)
    first = client.get("/books?per_page=2&page=1").get_json()["data"]
    second = client.get("/books?per_page=2&page=2").get_json()["data"]
    assert [b["title"] for b in first] == ["Emma", "Beloved"]
    assert [b["title"] for b in second] == ["Dracula"]
    same_query = client.get("/books?page=2&per_page=2").get_json()["data"]  # order does not matter
    assert same_query == second


def counts_run(app) -> list[str]:
    """Every COUNT statement the app's database runs from now on, in order."""
    seen = []
    with app.app_context():
        engine = db.engine

    @event.listens_for(engine, "before_cursor_execute")
    def record(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT COUNT"):
            seen.append(statement)

    return seen


def test_every_page_of_a_listing_shares_one_count(app, client, admin):
    for title in ("Emma", "Beloved", "Dracula"):
        client.post("/books", json={**BOOK, "title": title}, headers=admin)
    counts = counts_run(app)
    pages = [client.get(f"/books?per_page=1&page={n}").get_json()["meta"] for n in (1, 2, 3)]
    assert [meta["total"] for meta in pages] == [3, 3, 3]
    assert len(counts) == 1  # page 1 counted; pages 2 and 3 reused its total
    assert client.get("/books?per_page=1&title__eq=Emma").get_json()["meta"]["total"] == 1
    assert len(counts) == 2  # other filters, another count
    assert client.get("/books/search?q=Dracula").get_json()["meta"]["total"] == 1
    assert len(counts) == 3  # another listing, another count


def test_a_write_starts_a_new_count(client, admin, book):
    assert client.get("/books?per_page=1&page=1").get_json()["meta"]["total"] == 1
    client.post("/books", json={**BOOK, "title": "Children of Dune"}, headers=admin)
    # A page nobody asked for yet, and the cached page 1: both count the new book.
    assert client.get("/books?per_page=1&page=2").get_json()["meta"]["total"] == 2
    assert client.get("/books?per_page=1&page=1").get_json()["meta"]["total"] == 2
    client.delete(f"/books/{book['id']}", headers=admin)
    assert client.get("/books?per_page=1&page=2").get_json()["meta"] == {
        "page": 2,
        "per_page": 1,
        "total": 1,
        "pages": 1,
    }


def test_a_failing_cache_still_counts(app, client, book, monkeypatch, caplog):
    def unavailable(*args, **kwargs):
        raise ConnectionError("the cache backend does not answer")

    with app.app_context():
        monkeypatch.setattr(cache.cache, "get", unavailable)
    response = client.get("/books")
    assert response.status_code == 200
    assert response.get_json()["meta"] == {"page": 1, "per_page": 20, "total": 1, "pages": 1}
    assert "Cache unavailable: counted without it" in caplog.messages


def test_the_cache_keeps_the_bytes_that_were_sent(app, client, book):
    path = f"/books/{book['id']}"
    miss = client.get(path)
    body, status, headers = cached_answer(app, path)  # data, not a pickled Response object
    assert (body, status) == (miss.get_data(), 200)
    assert ("Content-Type", "application/json") in headers
    hit = client.get(path)
    assert hit.get_data() == miss.get_data()  # sent as stored: nothing encoded again
    assert hit.content_type == "application/json"
    assert hit.headers["ETag"] == miss.headers["ETag"]


def test_a_write_leaves_no_stale_bytes_in_the_cache(app, client, admin, book):
    path = f"/books/{book['id']}"
    client.get(path)
    client.patch(path, json={"title": "Dune (revised)"}, headers=admin)
    assert cached_answer(app, path) is None  # the new generation has no entry yet
    assert client.get(path).get_json()["title"] == "Dune (revised)"
    body, _, _ = cached_answer(app, path)
    assert b"Dune (revised)" in body


def test_only_a_successful_answer_is_cached(app, client, book):
    assert client.get("/books").status_code == 200
    assert cached_answer(app, "/books") is not None


@pytest.mark.parametrize(
    ("path", "status", "detail"),
    [
        ("/books?page=0", 400, "The query string is invalid."),
        ("/books?include_deleted=maybe", 400, "The query string is invalid."),
        ("/books/search?q=", 400, "The query string is invalid."),
        ("/books/popular?limit=0", 400, "The query string is invalid."),
        ("/books?include_deleted=true", 403, "Only admins can list withdrawn books."),
        ("/books/2", 404, "Book 2 does not exist."),
    ],
)
def test_an_error_is_never_cached(app, client, book, caplog, path, status, detail):
    # Flask-Caching 2.5 would store the abort() and raise it again from the cache; it cannot
    # read an InvalidQuery back, and would log a traceback for each repeated bad query.
    for _ in range(2):
        response = client.get(path)
        assert response.status_code == status
        assert response.get_json()["detail"] == detail
    assert cached_answer(app, path) is None
    assert [record for record in caplog.records if record.name == "flask_caching"] == []


def test_a_404_ends_as_soon_as_the_book_exists(app, client, book):
    assert client.get("/books/2").status_code == 404
    add_behind_the_apis_back(app, **{**BOOK, "title": "Children of Dune"})
    response = client.get("/books/2")
    assert response.status_code == 200
    assert response.get_json()["title"] == "Children of Dune"


def test_my_profile_is_cached_per_user(app, client, auth, member):
    grace = auth.headers("grace@example.com")
    ada_profile = client.get("/users/me", headers=member).get_json()
    change_behind_the_apis_back(app, User, ada_profile["id"], address="Changed in the database")
    assert client.get("/users/me", headers=member).get_json() == ada_profile  # from the cache

    graces_profile = client.get("/users/me", headers=grace).get_json()
    assert graces_profile["email"] == "grace@example.com"  # never Ada's cached entry
    anonymous = client.get("/users/me")
    assert anonymous.status_code == 401
    assert "ada@example.com" not in anonymous.get_data(as_text=True)


def test_changing_my_profile_refreshes_the_cache(client, member):
    client.get("/users/me", headers=member)
    client.patch("/users/me", json={"address": "Ockham Park"}, headers=member)
    assert client.get("/users/me", headers=member).get_json()["address"] == "Ockham Park"


def test_a_role_change_by_an_admin_refreshes_the_cache(client, member, admin):
    me = client.get("/users/me", headers=member).get_json()
    client.patch(f"/users/{me['id']}", json={"role": "admin"}, headers=admin)
    assert client.get("/users/me", headers=member).get_json()["role"] == "admin"


def test_cache_above_auth_would_serve_one_users_data_to_anyone(app, client, auth):
    # The app's own GET /users/me, rebuilt in the source material's order: @cache.cached above
    # the auth decorator. The cache answers before the token is even looked at, under a key that
    # does not name the user. test_my_profile_is_cached_per_user is the same route in the app's
    # order: the anonymous caller gets a 401 there.
    get_me = inspect.unwrap(app.view_functions["users.get_me"])  # the view, undecorated
    app.view_functions["users.get_me"] = cache.cached()(token_required(get_me))

    member = auth.headers()
    assert client.get("/users/me", headers=member).get_json()["email"] == "ada@example.com"
    leaked = client.get("/users/me")  # no token at all
    assert leaked.status_code == 200
    assert leaked.get_json()["email"] == "ada@example.com"


def test_a_full_cache_keeps_its_generation():
    # SimpleCache holds CACHE_THRESHOLD entries. A generation stored as "never expires" was the
    # first one a full cache evicted: every answer then started a new generation, and a full
    # cache never served a hit again.
    app = create_app({"APP_CONFIG": "testing", "CACHE_THRESHOLD": 5})
    with app.app_context():
        db.create_all()
    for n in range(10):
        add_behind_the_apis_back(app, **{**BOOK, "title": f"Volume {n}"})
    client = app.test_client()
    client.get("/books/1")
    with app.app_context():
        generation = cache.get("books:generation")
    for book_id in range(2, 11):  # nine more cached answers: more than the cache holds
        assert client.get(f"/books/{book_id}").status_code == 200
    with app.app_context():
        assert cache.get("books:generation") == generation
