import logging

import pytest

from app import create_app
from app.extensions import db
from tests.conftest import BOOK

NOWHERE = "redis://127.0.0.1:1/0"  # nothing listens on port 1: every connection is refused


@pytest.fixture
def app_without_redis():
    app = create_app(
        {
            "APP_CONFIG": "testing",
            "CACHE_TYPE": "RedisCache",
            "CACHE_REDIS_URL": NOWHERE,
            "RATELIMIT_STORAGE_URI": NOWHERE,
        }
    )
    with app.app_context():
        db.create_all()
    return app


def test_when_redis_is_down_the_api_keeps_serving(app_without_redis, auth_for, caplog):
    client = app_without_redis.test_client()
    admin = auth_for(app_without_redis).admin_headers()
    with caplog.at_level(logging.WARNING):
        created = client.post("/books", json=BOOK, headers=admin)  # writes invalidate the cache
        book_id = created.get_json()["id"]
        reads = [client.get(f"/books/{book_id}").status_code for _ in range(3)]
        changed = client.patch(f"/books/{book_id}", json={"title": "Dune (revised)"}, headers=admin)
    assert created.status_code == 201
    assert reads == [200, 200, 200]
    assert changed.get_json()["title"] == "Dune (revised)"
    assert client.get(f"/books/{book_id}").get_json()["title"] == "Dune (revised)"
    assert any("Cache unavailable" in record.getMessage() for record in caplog.records)


def test_when_redis_is_down_limits_still_hold_in_memory(app_without_redis):
    client = app_without_redis.test_client()
    credentials = {"email": "nobody@example.com", "password": "not a password"}
    statuses = [client.post("/users/login", json=credentials).status_code for _ in range(6)]
    assert statuses == [401, 401, 401, 401, 401, 429]


def test_when_redis_is_down_the_server_is_not_ready(app_without_redis):
    client = app_without_redis.test_client()
    response = client.get("/health/ready")
    assert response.status_code == 503
    assert response.get_json()["detail"] == "Redis does not answer."
    assert client.get("/health").get_json() == {"status": "ok"}
