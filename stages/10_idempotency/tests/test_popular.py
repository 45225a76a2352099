from datetime import date

import pytest
from sqlalchemy import event

from app.extensions import db
from app.models import Book
from tests.conftest import BOOK

book_fields = {**BOOK, "publish_date": date(1965, 8, 1)}


@pytest.fixture
def loans(client, auth, shelf):
    """Emma borrowed three times (one returned), Dune Messiah twice, Dune once."""
    members = [auth.headers(f"reader{n}@example.com") for n in range(3)]
    made = []
    for headers, book_ids in [
        (members[0], [3, 2]),
        (members[1], [3, 2]),
        (members[2], [3, 1]),
    ]:
        made.append(client.post("/loans", json={"book_ids": book_ids}, headers=headers))
    assert [r.status_code for r in made] == [201, 201, 201]
    client.post(f"/loans/{made[0].get_json()['id']}/return", headers=members[0])
    return made


def test_popular_books_are_ranked_by_every_loan_ever_made(client, loans):
    body = client.get("/books/popular").get_json()
    assert set(body) == {"data"}  # not paginated: no meta, no links
    ranking = [(row["book"]["title"], row["loan_count"]) for row in body["data"]]
    assert ranking == [
        ("Emma", 3),  # the returned loan counts too
        ("Dune Messiah", 2),
        ("Dune", 1),
        ("50% Off", 0),  # ties by id
        ("Anna_Karenina", 0),
    ]
    assert body["data"][0]["book"]["available"] == 1


def test_popular_limit_defaults_to_5_and_is_clamped_to_50(app, client, loans):
    with app.app_context():
        db.session.add_all(Book(**{**book_fields, "title": f"Volume {n}"}) for n in range(60))
        db.session.commit()
    assert len(client.get("/books/popular").get_json()["data"]) == 5
    assert len(client.get("/books/popular?limit=2").get_json()["data"]) == 2
    assert len(client.get("/books/popular?limit=500").get_json()["data"]) == 50


@pytest.mark.parametrize("limit", ["0", "-1", "abc", "2.5", ""])
def test_popular_limit_must_be_a_positive_integer(client, limit):
    response = client.get(f"/books/popular?limit={limit}")
    assert response.status_code == 400
    assert response.get_json()["errors"] == {"limit": ["Must be a positive integer."]}


def test_popular_leaves_out_withdrawn_books(client, admin, loans):
    client.delete("/books/3", headers=admin)
    titles = [row["book"]["title"] for row in client.get("/books/popular").get_json()["data"]]
    assert "Emma" not in titles


def test_popular_is_one_query_however_many_books(app, client, loans):
    statements = []
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    client.get("/books/popular?limit=50")
    assert len(statements) == 1
    assert "count" in statements[0].lower() and "group by" in statements[0].lower()


def test_popular_is_cached_and_refreshed_when_loans_change(client, auth, loans):
    assert client.get("/books/popular?limit=1").get_json()["data"][0]["loan_count"] == 3
    grace = auth.headers("grace@example.com")
    client.post("/loans", json={"book_ids": [2]}, headers=grace)
    client.post("/loans", json={"book_ids": [2]}, headers=auth.headers("alan@example.com"))
    top = client.get("/books/popular?limit=1").get_json()["data"][0]
    assert (top["book"]["title"], top["loan_count"]) == ("Dune Messiah", 4)
