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
