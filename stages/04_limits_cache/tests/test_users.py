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


def test_the_password_is_stored_hashed_and_never_returned(app, client, user, member, admin):
    for response in (client.get("/users/me", headers=member), client.get("/users", headers=admin)):
        assert response.status_code == 200
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
        ({"token_version": 0}, "token_version", "Unknown field."),  # would revive old tokens
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


def test_registering_as_admin_does_not_make_an_admin(app, client):
    client.post("/users", json={**USER, "role": "admin"})
    with app.app_context():
        assert db.session.scalar(select(User).where(User.role == "admin")) is None


def test_list_users_is_for_admins(client, user, member, admin):
    assert client.get("/users").status_code == 401
    forbidden = client.get("/users", headers=member)
    assert forbidden.status_code == 403
    response = client.get("/users", headers=admin)
    assert response.status_code == 200
    assert [u["email"] for u in response.get_json()] == ["ada@example.com", "admin@example.com"]


def test_me_is_the_caller(client, member):
    response = client.get("/users/me", headers=member)
    assert response.status_code == 200
    assert response.get_json()["email"] == "ada@example.com"


def test_patch_me_changes_only_what_is_sent(client, member):
    response = client.patch("/users/me", json={"address": "Ockham Park"}, headers=member)
    assert response.status_code == 200
    assert response.get_json()["address"] == "Ockham Park"
    assert response.get_json()["first_name"] == "Test"


def test_patch_me_can_change_the_password(client, auth, member):
    client.patch("/users/me", json={"password": "a brand new passphrase"}, headers=member)
    assert auth.login(password=USER["password"]).status_code == 401
    assert auth.login(password="a brand new passphrase").status_code == 200


def test_a_member_cannot_make_themselves_admin(app, client, member):
    response = client.patch("/users/me", json={"role": "admin"}, headers=member)
    assert response.status_code == 400
    assert response.get_json()["errors"] == {"role": ["Unknown field."]}
    assert client.get("/users/me", headers=member).get_json()["role"] == "member"


def test_delete_me(app, client, auth, member):
    assert client.delete("/users/me", headers=member).status_code == 204
    assert count_users(app) == 0
    assert auth.login().status_code == 401


def test_a_member_reads_their_own_account_but_no_other(client, member, admin):
    me = client.get("/users/me", headers=member).get_json()
    assert client.get(f"/users/{me['id']}", headers=member).get_json() == me
    other = client.get("/users/me", headers=admin).get_json()["id"]
    for user_id in (other, 999):  # same answer whether the account exists or not
        response = client.get(f"/users/{user_id}", headers=member)
        assert response.status_code == 403
        assert response.get_json()["detail"] == "You can only read your own account."


def test_an_admin_reads_any_account(client, user, admin):
    response = client.get(f"/users/{user['id']}", headers=admin)
    assert response.status_code == 200
    assert response.get_json() == user
    assert client.get("/users/999", headers=admin).status_code == 404


def test_an_admin_role_change_takes_effect_at_once(client, member, admin):
    me = client.get("/users/me", headers=member).get_json()
    assert client.get("/users", headers=member).status_code == 403
    response = client.patch(f"/users/{me['id']}", json={"role": "admin"}, headers=admin)
    assert response.status_code == 200
    assert response.get_json()["role"] == "admin"
    assert client.get("/users", headers=member).status_code == 200  # the same token


def test_an_admin_cannot_set_an_unknown_role(client, user, admin):
    response = client.patch(f"/users/{user['id']}", json={"role": "owner"}, headers=admin)
    assert response.status_code == 400
    assert response.get_json()["errors"] == {"role": ["Must be one of: member, admin."]}


@pytest.mark.parametrize("method", ["patch", "delete"])
def test_members_cannot_change_or_delete_other_accounts(app, client, user, auth, method):
    other = auth.headers("grace@example.com")
    response = getattr(client, method)(f"/users/{user['id']}", json={}, headers=other)
    assert response.status_code == 403
    assert count_users(app) == 2


def test_an_admin_deletes_a_user_and_their_loans(client, admin, loan):
    response = client.delete(f"/users/{loan['user_id']}", headers=admin)
    assert response.status_code == 204
    assert client.get(f"/loans/{loan['id']}", headers=admin).status_code == 404
    assert client.delete("/users/999", headers=admin).status_code == 404
