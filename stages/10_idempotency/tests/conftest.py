import re

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app import create_app
from app.auth import encode_token
from app.extensions import db
from app.models import User

BOOK = {
    "title": "Dune",
    "author": "Frank Herbert",
    "genre": "Science Fiction",
    "age_category": "Adult",
    "publish_date": "1965-08-01",
}
# What the API adds to a new book: one copy by default, no ISBN, all copies on the shelf.
BOOK_DEFAULTS = {"isbn": None, "copies": 1, "available": 1}
USER = {
    "first_name": "Ada",
    "last_name": "Lovelace",
    "email": "ada@example.com",
    "password": "correct horse battery staple",
}


# A stored password hash, as Werkzeug writes it: "scrypt:32768:8:1$salt$hash" or "pbkdf2:...".
PASSWORD_HASH = re.compile(r"(scrypt|pbkdf2):[\w:]+\$")


class LeakCheckingClient(FlaskClient):
    """Scans every response of the suite: no password hash ever leaves the API."""

    def open(self, *args, **kwargs):
        response = super().open(*args, **kwargs)
        if response.mimetype in ("application/json", "application/problem+json"):
            leak = PASSWORD_HASH.search(response.get_data(as_text=True))
            assert leak is None, f"a password hash leaked: {leak.group()}"
        return response


@pytest.fixture
def app():
    app = create_app("testing")  # a fresh in-memory database for every test
    app.test_client_class = LeakCheckingClient
    with app.app_context():
        db.create_all()
    return app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def count(app, model) -> int:
    """Rows in the model's table: tests check that a refused request wrote nothing."""
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def without_request_details(problem: dict) -> dict:
    """A problem body minus what differs per request."""
    return {k: v for k, v in problem.items() if k not in ("instance", "request_id")}


class AuthActions:
    """Registers users and logs them in through the API; hands out `Authorization` headers."""

    def __init__(self, app, client):
        self._app = app
        self._client = client

    def login(self, email=USER["email"], password=USER["password"]):
        return self._client.post("/users/login", json={"email": email, "password": password})

    def headers(self, email=USER["email"], role="member") -> dict:
        """Headers for a user with this email and role, created on first use."""
        with self._app.app_context():
            user = db.session.scalar(select(User).where(User.email == email))
            if user is None:
                user = User(first_name="Test", last_name=role.title(), email=email, role=role)
                user.set_password(USER["password"])
                db.session.add(user)
                db.session.commit()
            # Minted, not logged in: logins are rate limited, and tests need many tokens.
            token = encode_token(user)
        return {"Authorization": f"Bearer {token}"}

    def admin_headers(self) -> dict:
        return self.headers("admin@example.com", role="admin")


@pytest.fixture
def auth(app, client):
    return AuthActions(app, client)


@pytest.fixture
def auth_for():
    """AuthActions for an app a test made itself."""
    return lambda app: AuthActions(app, app.test_client())


@pytest.fixture
def member(auth):
    """`Authorization` headers of an ordinary member, ada@example.com."""
    return auth.headers()


@pytest.fixture
def admin(auth):
    """`Authorization` headers of an admin, admin@example.com."""
    return auth.admin_headers()


@pytest.fixture
def book(client, admin):
    """A book created through the API by an admin; the response body as a dict."""
    response = client.post("/books", json=BOOK, headers=admin)
    assert response.status_code == 201
    return response.get_json()


@pytest.fixture
def user(client):
    """A registered user; the response body as a dict."""
    response = client.post("/users", json=USER)
    assert response.status_code == 201
    return response.get_json()


@pytest.fixture
def loan(client, member, book):
    """A loan of `book` to the member ada@example.com; the response body as a dict."""
    response = client.post("/loans", json={"book_ids": [book["id"]]}, headers=member)
    assert response.status_code == 201
    return response.get_json()


@pytest.fixture
def shelf(client, admin):
    """Five books, by id: Dune, Dune Messiah, Emma, 50% Off, Anna_Karenina."""
    books = [
        BOOK,
        {**BOOK, "title": "Dune Messiah", "copies": 3},
        {**BOOK, "title": "Emma", "author": "Jane Austen", "copies": 3},
        {**BOOK, "title": "50% Off", "author": "Ann Onymous"},
        {**BOOK, "title": "Anna_Karenina", "author": "Leo Tolstoy"},
    ]
    return [client.post("/books", json=book, headers=admin).get_json() for book in books]
