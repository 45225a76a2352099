import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
from jose import jwt

from app.auth import encode_token
from app.extensions import db
from app.models import User
from tests.conftest import USER

CREDENTIALS = {"email": USER["email"], "password": USER["password"]}


def test_login_returns_a_bearer_token(client, user):
    response = client.post("/users/login", json=CREDENTIALS)
    assert response.status_code == 200
    body = response.get_json()
    assert body == {"token": body["token"], "token_type": "Bearer", "expires_in": 3600}
    assert response.headers["Cache-Control"] == "no-store"  # a token is kept by no cache


def test_the_token_says_who_what_and_until_when(app, client, user):
    token = client.post("/users/login", json=CREDENTIALS).get_json()["token"]
    claims = jwt.decode(token, app.config["SECRET_KEY"], algorithms=["HS256"])
    assert claims["sub"] == str(user["id"])  # a string, as the JWT spec requires
    assert claims["role"] == "member"
    assert claims["exp"] - claims["iat"] == 3600


def test_login_is_case_insensitive_on_the_email(client, user):
    response = client.post("/users/login", json={**CREDENTIALS, "email": "Ada@Example.com"})
    assert response.status_code == 200


def test_wrong_password_and_unknown_email_get_the_same_401(client, user):
    wrong_password = client.post(
        "/users/login", json={**CREDENTIALS, "password": "not the password"}
    )
    unknown_email = client.post("/users/login", json={**CREDENTIALS, "email": "nobody@example.com"})
    assert wrong_password.status_code == unknown_email.status_code == 401
    assert wrong_password.get_json() == unknown_email.get_json()
    assert wrong_password.get_json()["detail"] == "Invalid email or password."
    assert wrong_password.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(
    ("body", "field"),
    [({"email": "ada@example.com"}, "password"), ({"password": "x" * 8}, "email")],
)
def test_login_with_a_missing_field_is_400(client, body, field):
    response = client.post("/users/login", json=body)
    assert response.status_code == 400
    assert response.get_json()["errors"] == {field: ["Missing data for required field."]}


def unsigned_token(claims: dict) -> str:
    """A token with `alg: none`: no signature at all."""

    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def claims_for(user_id: int, **changes) -> dict:
    now = datetime.now(UTC)
    claims = {"sub": str(user_id), "iat": now, "exp": now + timedelta(hours=1), "role": "member"}
    claims.update(changes)
    return {key: value for key, value in claims.items() if value is not None}


def sign(claims: dict, key: str, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, key, algorithm=algorithm)


BAD_AUTHORIZATION = {
    "no header": lambda app, uid: None,
    "Bearer and no token": lambda app, uid: "Bearer",
    "Bearer and spaces": lambda app, uid: "Bearer   ",
    "Basic scheme": lambda app, uid: "Basic YWRhOnBhc3N3b3Jk",
    "token without a scheme": lambda app, uid: sign(claims_for(uid), app.config["SECRET_KEY"]),
    "garbage": lambda app, uid: "Bearer not-a-jwt",
    "three garbage parts": lambda app, uid: "Bearer aaa.bbb.ccc",
    "signed with another key": lambda app, uid: "Bearer " + sign(claims_for(uid), "x" * 40),
    "alg none": lambda app, uid: "Bearer " + unsigned_token({"sub": str(uid), "exp": 2**40}),
    "alg HS512": lambda app, uid: (
        "Bearer " + sign(claims_for(uid), app.config["SECRET_KEY"], "HS512")
    ),
    "expired": lambda app, uid: (
        "Bearer "
        + sign(
            claims_for(uid, exp=datetime.now(UTC) - timedelta(seconds=1)), app.config["SECRET_KEY"]
        )
    ),
    "exp missing": lambda app, uid: (
        "Bearer " + sign({"sub": str(uid), "iat": datetime.now(UTC)}, app.config["SECRET_KEY"])
    ),
    "sub missing": lambda app, uid: (
        "Bearer " + sign(claims_for(uid, sub=None), app.config["SECRET_KEY"])
    ),
    "sub not a user id": lambda app, uid: (
        "Bearer " + sign(claims_for(uid, sub="ada"), app.config["SECRET_KEY"])
    ),
    "sub of no user": lambda app, uid: "Bearer " + sign(claims_for(999), app.config["SECRET_KEY"]),
    "forged admin role, another key": lambda app, uid: (
        "Bearer " + sign(claims_for(uid, role="admin"), "y" * 40)
    ),
}


@pytest.mark.parametrize("case", BAD_AUTHORIZATION)
def test_every_bad_token_is_401_with_www_authenticate(app, client, user, case):
    header = BAD_AUTHORIZATION[case](app, user["id"])
    response = client.get("/users/me", headers={"Authorization": header} if header else {})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["title"] == "Unauthorized"


def test_a_token_of_a_deleted_user_is_401(app, client, member):
    client.delete("/users/me", headers=member)
    response = client.get("/users/me", headers=member)
    assert response.status_code == 401
    assert response.get_json()["detail"] == "The token's user no longer exists."


def test_an_expired_token_is_401_not_403(app, client, user):
    # The source material answers 403 here: "forbidden" is for a known caller who may not act.
    with app.app_context():
        app.config["TOKEN_LIFETIME"] = timedelta(seconds=-1)
        token = encode_token(db.session.get(User, user["id"]))
    response = client.get("/users/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.get_json()["detail"] == "The token is invalid or has expired."
