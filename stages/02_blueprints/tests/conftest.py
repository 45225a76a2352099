import pytest

from app import create_app
from app.extensions import db

BOOK = {
    "title": "Dune",
    "author": "Frank Herbert",
    "genre": "Science Fiction",
    "age_category": "Adult",
    "publish_date": "1965-08-01",
}
USER = {
    "first_name": "Ada",
    "last_name": "Lovelace",
    "email": "ada@example.com",
    "password": "correct horse battery staple",
}


@pytest.fixture
def app():
    app = create_app("testing")  # a fresh in-memory database for every test
    with app.app_context():
        db.create_all()
    return app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def book(client):
    """A book created through the API; the response body as a dict."""
    response = client.post("/books", json=BOOK)
    assert response.status_code == 201
    return response.get_json()


@pytest.fixture
def user(client):
    """A registered user; the response body as a dict."""
    response = client.post("/users", json=USER)
    assert response.status_code == 201
    return response.get_json()


@pytest.fixture
def loan(client, user, book):
    """A loan of `book` to `user`; the response body as a dict."""
    response = client.post("/loans", json={"user_id": user["id"], "book_ids": [book["id"]]})
    assert response.status_code == 201
    return response.get_json()
