from datetime import date

import pytest

from app.extensions import db
from app.models import Book

CATALOGUE = [
    # title, author, genre, publish_date
    ("Dune", "Frank Herbert", "SciFi", "1965-08-01"),
    ("Emma", "Jane Austen", "Romance", "1815-12-23"),
    ("A Wizard of Earthsea", "Ursula K. Le Guin", "Fantasy", "1968-11-01"),
    ("The Hobbit", "J. R. R. Tolkien", "Fantasy", "1937-09-21"),
    ("100% Pure_Fiction", "Anonymous", "Satire", "2001-01-01"),
    ("Neuromancer", "William Gibson", "SciFi", "1984-07-01"),
]


@pytest.fixture
def catalogue(app):
    with app.app_context():
        for title, author, genre, published in CATALOGUE:
            db.session.add(
                Book(
                    title=title,
                    author=author,
                    genre=genre,
                    age_category="Adult",
                    publish_date=date.fromisoformat(published),
                )
            )
        db.session.commit()


def titles(response) -> list[str]:
    assert response.status_code == 200, response.get_json()
    return [book["title"] for book in response.get_json()["data"]]


def test_a_list_is_data_meta_and_links(client, catalogue):
    body = client.get("/books?per_page=4").get_json()
    assert len(body["data"]) == 4
    assert body["meta"] == {"page": 1, "per_page": 4, "total": 6, "pages": 2}
    assert body["links"] == {
        "self": "http://localhost/books?per_page=4&page=1",
        "first": "http://localhost/books?per_page=4&page=1",
        "prev": None,
        "next": "http://localhost/books?per_page=4&page=2",
        "last": "http://localhost/books?per_page=4&page=2",
    }


def test_the_links_are_also_a_link_header(client, catalogue):
    # RFC 8288: clients that page through headers (GitHub's API does) need no body to follow.
    response = client.get("/books?per_page=2&page=2")
    assert response.headers["Link"] == (
        '<http://localhost/books?per_page=2&page=2>; rel="self", '
        '<http://localhost/books?per_page=2&page=1>; rel="first", '
        '<http://localhost/books?per_page=2&page=1>; rel="prev", '
        '<http://localhost/books?per_page=2&page=3>; rel="next", '
        '<http://localhost/books?per_page=2&page=3>; rel="last"'
    )


@pytest.mark.parametrize("path", ["/books", "/books/search?q=e", "/loans", "/users"])
def test_every_list_has_a_link_header_without_the_missing_links(client, admin, catalogue, path):
    response = client.get(path, headers=admin)
    links = response.get_json()["links"]
    assert (links["prev"], links["next"]) == (None, None)  # one page: no prev, no next
    assert response.headers["Link"] == (
        f'<{links["self"]}>; rel="self", <{links["first"]}>; rel="first", '
        f'<{links["last"]}>; rel="last"'
    )


def test_a_page_served_from_the_cache_keeps_its_link_header(app, client, catalogue):
    fresh = client.get("/books?per_page=4")
    with app.app_context():  # behind the API's back: the cache is not told
        db.session.add(
            Book(
                title="New", author="A", genre="G", age_category="Adult", publish_date=date.today()
            )
        )
        db.session.commit()
    cached = client.get("/books?per_page=4")
    assert cached.get_json() == fresh.get_json()  # the cached page
    assert cached.headers["Link"] == fresh.headers["Link"]
    assert 'rel="next"' in cached.headers["Link"]


def test_links_keep_the_filters_and_sort(client, catalogue):
    links = client.get("/books?genre__eq=SciFi&sort=title&per_page=1&page=2").get_json()["links"]
    assert links["prev"] == "http://localhost/books?genre__eq=SciFi&sort=title&per_page=1&page=1"
    assert links["next"] is None


def test_default_page_size_is_20_and_at_most_100(client, catalogue):
    assert client.get("/books").get_json()["meta"]["per_page"] == 20
    clamped = client.get("/books?per_page=1000").get_json()
    assert clamped["meta"]["per_page"] == 100
    assert clamped["links"]["self"] == "http://localhost/books?per_page=100&page=1"


def test_a_page_past_the_end_is_empty(client, catalogue):
    body = client.get("/books?page=9&per_page=4").get_json()
    assert body["data"] == []
    assert body["meta"]["total"] == 6
    assert body["links"]["prev"] == "http://localhost/books?page=2&per_page=4"


def test_an_empty_collection(client):
    body = client.get("/books").get_json()
    assert body["meta"] == {"page": 1, "per_page": 20, "total": 0, "pages": 0}
    assert body["links"]["last"] == "http://localhost/books?per_page=20&page=1"


@pytest.mark.parametrize(
    "query", ["page=0", "page=-1", "page=abc", "per_page=0", "per_page=2.5", "page=", "page=１"]
)
def test_a_bad_page_parameter_is_400_naming_it(client, query):
    response = client.get(f"/books?{query}")
    assert response.status_code == 400
    name = query.split("=")[0]
    assert response.get_json()["errors"] == {name: ["Must be a positive integer."]}


def test_pages_are_ordered_by_id_by_default(client, catalogue):
    assert titles(client.get("/books?per_page=3")) == ["Dune", "Emma", "A Wizard of Earthsea"]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("title", ["100% Pure_Fiction", "A Wizard of Earthsea", "Dune"]),
        ("-publish_date", ["100% Pure_Fiction", "Neuromancer", "A Wizard of Earthsea"]),
        ("genre,-title", ["The Hobbit", "A Wizard of Earthsea", "Emma"]),
    ],
)
def test_sort(client, catalogue, sort, expected):
    assert titles(client.get(f"/books?sort={sort}&per_page=3")) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("genre__eq=Fantasy", ["A Wizard of Earthsea", "The Hobbit"]),
        ("genre__ne=SciFi&genre__ne=Fantasy", ["Emma", "100% Pure_Fiction"]),
        (
            "publish_date__ge=1965-01-01&publish_date__lt=1985-01-01",
            ["Dune", "A Wizard of Earthsea", "Neuromancer"],
        ),
        ("publish_date__le=1900-01-01", ["Emma"]),
        ("id__in=2,4,99", ["Emma", "The Hobbit"]),
        ("genre__in=Romance,Satire", ["Emma", "100% Pure_Fiction"]),
        ("title__ilike=DUNE", ["Dune"]),
        ("title__like=dune", []),  # like is case-sensitive
        ("title__like=Dun", ["Dune"]),
        ("author__ilike=le gu", ["A Wizard of Earthsea"]),
        ("title__ilike=%25", ["100% Pure_Fiction"]),  # % and _ are literal characters
        ("title__ilike=_", ["100% Pure_Fiction"]),
        ("title__ilike=d_n", []),  # "_" would match the "u" of Dune as a wildcard
    ],
)
def test_filters(client, catalogue, query, expected):
    assert titles(client.get(f"/books?{query}")) == expected


def test_sparse_fields_always_include_the_id(client, catalogue):
    data = client.get("/books?fields=title,genre&per_page=2").get_json()["data"]
    assert data == [
        {"id": 1, "title": "Dune", "genre": "SciFi"},
        {"id": 2, "title": "Emma", "genre": "Romance"},
    ]


@pytest.mark.parametrize(
    ("query", "parameter", "message"),
    [
        ("password_hash__eq=x", "password_hash__eq", "Unknown parameter."),
        ("title=Dune", "title", "Unknown parameter."),
        ("title__regex=D.*", "title__regex", "Unknown operator 'regex'."),
        ("id__ilike=1", "id__ilike", "'ilike' only works on text fields."),
        ("id__gt=abc", "id__gt", "Not an integer: 'abc'."),
        ("id__gt=99999999999", "id__gt", "Not an integer: '99999999999'."),
        ("publish_date__ge=yesterday", "publish_date__ge", "Not a date (YYYY-MM-DD): 'yesterday'."),
        ("id__in=" + ",".join(["1"] * 51), "id__in", "At most 50 comma-separated values."),
        ("sort=password_hash", "sort", "Cannot sort on 'password_hash'."),
        ("sort=-", "sort", "Cannot sort on ''."),
        ("fields=title,password_hash", "fields", "Unknown fields: password_hash."),
    ],
)
def test_anything_not_allowed_is_400_naming_the_parameter(
    client, catalogue, query, parameter, message
):
    response = client.get(f"/books?{query}")
    assert response.status_code == 400
    errors = response.get_json()["errors"]
    assert list(errors) == [parameter]
    assert errors[parameter][0].startswith(message)
