import pytest

from app import create_app
from app.extensions import db, limiter
from tests.conftest import USER

CREDENTIALS = {"email": USER["email"], "password": USER["password"]}


@pytest.fixture
def make_client():
    """A client of a new app with these settings (e.g. small limits), its tables created."""

    def make(**settings):
        app = create_app({"APP_CONFIG": "testing", **settings})
        with app.app_context():
            db.create_all()
        limiter.reset()
        return app.test_client()

    return make


def test_every_response_says_how_much_is_left(client):
    response = client.get("/books")
    assert response.headers["X-RateLimit-Limit"] == "200"
    assert response.headers["X-RateLimit-Remaining"] == "199"
    assert "Retry-After" not in response.headers  # only a 429 says when to try again


def test_the_sixth_login_in_ten_minutes_is_429(client, user):
    bad = {**CREDENTIALS, "password": "not the password"}
    statuses = [client.post("/users/login", json=bad).status_code for _ in range(4)]
    statuses.append(client.post("/users/login", json=CREDENTIALS).status_code)
    assert statuses == [401, 401, 401, 401, 200]  # good and bad attempts count alike

    response = client.post("/users/login", json=CREDENTIALS)
    assert response.status_code == 429
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["title"] == "Too Many Requests"
    assert "5 per 10 minute" in response.get_json()["detail"]
    assert 0 < int(response.headers["Retry-After"]) <= 600


def test_the_login_limit_is_per_client_address(client, user):
    for _ in range(5):
        client.post("/users/login", json=CREDENTIALS, environ_base={"REMOTE_ADDR": "10.0.0.1"})
    blocked = client.post(
        "/users/login", json=CREDENTIALS, environ_base={"REMOTE_ADDR": "10.0.0.1"}
    )
    other = client.post("/users/login", json=CREDENTIALS, environ_base={"REMOTE_ADDR": "10.0.0.2"})
    assert blocked.status_code == 429
    assert other.status_code == 200


def test_writes_share_a_stricter_budget(make_client):
    client = make_client(RATELIMIT_WRITE="2 per minute")
    first = client.post("/users", json=USER)
    second = client.post("/users", json={**USER, "email": "grace@example.com"})
    third = client.post("/users", json={**USER, "email": "alan@example.com"})
    assert [first.status_code, second.status_code, third.status_code] == [201, 201, 429]
    login = {"email": "grace@example.com", "password": USER["password"]}
    token = client.post("/users/login", json=login).get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    loan = client.post("/loans", json={"book_ids": [1]}, headers=headers)
    assert loan.status_code == 429  # another write route, the same budget
    assert client.get("/books").status_code == 200  # reads are not writes


def test_reads_have_the_default_limit(make_client):
    client = make_client(RATELIMIT_DEFAULT="3 per minute")
    statuses = [client.get("/books").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]


def test_health_is_never_limited(make_client):
    client = make_client(RATELIMIT_DEFAULT="1 per minute")
    assert [client.get("/health").status_code for _ in range(3)] == [200, 200, 200]
