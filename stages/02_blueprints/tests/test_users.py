import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import User
from tests.conftest import USER


def count_users(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(User.id)))


def test_register_returns_201_the_user_and_its_location(client):
    response = client.post("/users", json={**USER, "date_of_birth": "1990-12-10"})
    assert response.status_code == 201
    body = response.get_json()
    assert body == {
        "id": body["id"],
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email": "ada@example.com",
        "date_of_birth": "1990-12-10",
        "address": None,
        "role": "member",
    }
    assert response.headers["Location"] == f"/users/{body['id']}"


def test_the_password_is_stored_hashed_and_never_returned(app, client, user):
    for response in (client.get(f"/users/{user['id']}"), client.get("/users")):
        text = response.get_data(as_text=True)
        assert "password" not in text
        assert USER["password"] not in text
    with app.app_context():
        stored = db.session.get(User, user["id"])
        assert stored.password_hash != USER["password"]
        assert stored.check_password(USER["password"])


def test_emails_are_case_insensitive(client, user):
    response = client.post("/users", json={**USER, "email": "ADA@Example.COM"})
    assert response.status_code == 409


def test_a_duplicate_email_is_409_and_writes_nothing(app, client, user):
    response = client.post("/users", json=USER)
    assert response.status_code == 409
    assert response.get_json()["detail"] == "The request conflicts with an existing resource."
    assert count_users(app) == 1


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"email": "not-an-email"}, "email", "Not a valid email address."),
        ({"password": "short"}, "password", "Length must be between 8 and 128."),
        ({"password": "x" * 129}, "password", "Length must be between 8 and 128."),
        ({"first_name": " "}, "first_name", "Must not be blank."),
        ({"date_of_birth": "10/12/1990"}, "date_of_birth", "Not a valid date."),
        ({"role": "admin"}, "role", "Unknown field."),  # mass assignment: refused, not applied
        ({"id": 99}, "id", "Unknown field."),
        ({"password_hash": "x"}, "password_hash", "Unknown field."),
    ],
)
def test_register_with_an_invalid_field_is_400_and_writes_nothing(
    app, client, change, field, message
):
    response = client.post("/users", json={**USER, **change})
    assert response.status_code == 400
    assert response.get_json()["errors"] == {field: [message]}
    assert count_users(app) == 0


def test_a_missing_password_is_reported(client):
    without_password = {key: value for key, value in USER.items() if key != "password"}
    response = client.post("/users", json=without_password)
    assert response.status_code == 400
    assert response.get_json()["errors"] == {"password": ["Missing data for required field."]}


def test_list_users(client, user):
    client.post("/users", json={**USER, "email": "grace@example.com", "first_name": "Grace"})
    response = client.get("/users")
    assert response.status_code == 200
    assert [u["first_name"] for u in response.get_json()] == ["Ada", "Grace"]


def test_get_a_missing_user_is_404(client):
    response = client.get("/users/42")
    assert response.status_code == 404
    assert response.get_json()["detail"] == "User 42 does not exist."


def test_replace_user_keeps_the_password_when_none_is_sent(app, client, user):
    changed = {key: value for key, value in USER.items() if key != "password"}
    changed["address"] = "12 St James's Square, London"
    response = client.put(f"/users/{user['id']}", json=changed)
    assert response.status_code == 200
    assert response.get_json()["address"] == "12 St James's Square, London"
    with app.app_context():
        assert db.session.get(User, user["id"]).check_password(USER["password"])


def test_replace_user_can_change_the_password(app, client, user):
    response = client.put(f"/users/{user['id']}", json={**USER, "password": "a new passphrase"})
    assert response.status_code == 200
    with app.app_context():
        assert db.session.get(User, user["id"]).check_password("a new passphrase")


def test_replace_user_cannot_change_the_role(client, user):
    response = client.put(f"/users/{user['id']}", json={**USER, "role": "admin"})
    assert response.status_code == 400
    assert client.get(f"/users/{user['id']}").get_json()["role"] == "member"


def test_delete_user_deletes_their_loans(app, client, loan):
    response = client.delete(f"/users/{loan['user_id']}")
    assert response.status_code == 204
    assert client.get(f"/loans/{loan['id']}").status_code == 404
    assert count_users(app) == 0


def test_delete_a_missing_user_is_404(client):
    assert client.delete("/users/42").status_code == 404
