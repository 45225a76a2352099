import base64
import hashlib
import hmac
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import rsa  # installed with python-jose; only these tests use it, to make RSA keys

from app.auth import encode_token
from app.extensions import db
from app.models import User
from tests.conftest import USER, without_request_details

CREDENTIALS = {"email": USER["email"], "password": USER["password"]}
REVOKED = "The token was revoked by a logout or a password change."
RSA_PUBLIC_KEY, RSA_PRIVATE_KEY = rsa.newkeys(1024)  # small and fast: its size plays no part
JWE = "eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..aXY.Y2lwaGVydGV4dA.dGFn"  # encrypted: 5 parts


@pytest.mark.parametrize("email", ["ada@example.com", "Ada@Example.com"])  # in any case
def test_login_returns_a_bearer_token(client, user, email):
    response = client.post("/users/login", json={**CREDENTIALS, "email": email})
    assert response.status_code == 200
    body = response.get_json()
    assert body == {"token": body["token"], "token_type": "Bearer", "expires_in": 3600}
    assert response.headers["Cache-Control"] == "no-store"  # a token is kept by no cache


def test_the_token_says_who_what_and_until_when(app, client, user):
    token = client.post("/users/login", json=CREDENTIALS).get_json()["token"]
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))  # signed, not secret
    assert claims["sub"] == str(user["id"])  # a string, as the JWT spec requires
    assert claims["role"] == "member"
    assert claims["ver"] == 0  # the user's token version: a logout raises it
    assert claims["exp"] - claims["iat"] == 3600


def test_wrong_password_and_unknown_email_get_the_same_401(client, user):
    wrong_password = client.post("/users/login", json={**CREDENTIALS, "password": "wrong password"})
    unknown_email = client.post("/users/login", json={**CREDENTIALS, "email": "nobody@example.com"})
    assert wrong_password.status_code == unknown_email.status_code == 401
    # The same body, apart from what names the request.
    assert without_request_details(wrong_password.get_json()) == without_request_details(
        unknown_email.get_json()
    )
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


# Tokens are made by hand, without the JWT library: these tests judge the library, and stay
# the same if app/auth.py moves to another one.
def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def header_and_claims(algorithm: str, claims: dict) -> str:
    header = {"alg": algorithm, "typ": "JWT"}
    as_json = [json.dumps(part, default=lambda t: int(t.timestamp())) for part in (header, claims)]
    return ".".join(b64(part.encode()) for part in as_json)


def unsigned_token(claims: dict, algorithm: str = "none") -> str:
    """A token with `alg: none` (in any spelling): no signature at all."""
    return header_and_claims(algorithm, claims) + "."


def sign(claims: dict, key: str | bytes, algorithm: str = "HS256") -> str:
    signed = header_and_claims(algorithm, claims)
    digest = {"HS256": hashlib.sha256, "HS512": hashlib.sha512}[algorithm]
    key = key.encode() if isinstance(key, str) else key
    return f"{signed}.{b64(hmac.new(key, signed.encode(), digest).digest())}"


def sign_rs256(claims: dict) -> str:
    signed = header_and_claims("RS256", claims)
    return f"{signed}.{b64(rsa.sign(signed.encode(), RSA_PRIVATE_KEY, 'SHA-256'))}"


def from_now(seconds: int) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


def claims_for(user_id: int, **changes) -> dict:
    now = datetime.now(UTC)
    claims = {"sub": str(user_id), "iat": now, "exp": now + timedelta(hours=1), "role": "member"}
    claims |= {"ver": 0, **changes}  # ver 0: the user never logged out nor changed password
    return {key: value for key, value in claims.items() if value is not None}


@pytest.mark.parametrize("seconds_ahead", [0, 5])  # 5: a server clock a little ahead
def test_a_token_with_the_right_claims_and_key_is_accepted(app, client, user, seconds_ahead):
    # The control for the table below: each bad row fails for its own reason, not the helpers'.
    claims = claims_for(user["id"], iat=from_now(seconds_ahead))
    token = sign(claims, app.config["SECRET_KEY"])
    response = client.get("/users/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.get_json() == user


BAD_AUTHORIZATION = {  # each row: (the app's SECRET_KEY, the user's id) -> the header sent
    "no header": lambda key, uid: None,
    "Bearer and no token": lambda key, uid: "Bearer",
    "Bearer and spaces": lambda key, uid: "Bearer   ",
    "Basic scheme": lambda key, uid: "Basic YWRhOnBhc3N3b3Jk",
    # Werkzeug hands over the token of any scheme: only the app's own check refuses this one.
    "a valid token, another scheme": lambda key, uid: "Token " + sign(claims_for(uid), key),
    "token without a scheme": lambda key, uid: sign(claims_for(uid), key),
    "garbage": lambda key, uid: "Bearer not-a-jwt",
    "three garbage parts": lambda key, uid: "Bearer aaa.bbb.ccc",
    "signed with another key": lambda key, uid: "Bearer " + sign(claims_for(uid), "x" * 40),
    "alg none": lambda key, uid: "Bearer " + unsigned_token(claims_for(uid)),
    "alg None": lambda key, uid: "Bearer " + unsigned_token(claims_for(uid), "None"),
    "alg NONE": lambda key, uid: "Bearer " + unsigned_token(claims_for(uid), "NONE"),
    "alg HS512": lambda key, uid: "Bearer " + sign(claims_for(uid), key, "HS512"),
    "alg RS256, signed with an RSA key": lambda key, uid: "Bearer " + sign_rs256(claims_for(uid)),
    "alg ES256": lambda key, uid: (  # never verified: python-jose's ecdsa is not reached
        "Bearer " + header_and_claims("ES256", claims_for(uid)) + ".c2lnbmF0dXJl"
    ),
    # Algorithm confusion (python-jose #414): HMAC keyed with the public key, which is no secret.
    "HS256 keyed with an RSA public key, PEM": lambda key, uid: (
        "Bearer " + sign(claims_for(uid), RSA_PUBLIC_KEY.save_pkcs1("PEM"))
    ),
    "HS256 keyed with an RSA public key, DER": lambda key, uid: (
        "Bearer " + sign(claims_for(uid), RSA_PUBLIC_KEY.save_pkcs1("DER"))
    ),
    "JWE, five parts": lambda key, uid: "Bearer " + JWE,
    "expired": lambda key, uid: "Bearer " + sign(claims_for(uid, exp=from_now(-1)), key),
    "exp missing": lambda key, uid: "Bearer " + sign(claims_for(uid, exp=None), key),
    "iat in the future": lambda key, uid: "Bearer " + sign(claims_for(uid, iat=from_now(60)), key),
    "nbf in the future": lambda key, uid: "Bearer " + sign(claims_for(uid, nbf=from_now(60)), key),
    "sub missing": lambda key, uid: "Bearer " + sign(claims_for(uid, sub=None), key),
    "sub not a user id": lambda key, uid: "Bearer " + sign(claims_for(uid, sub="ada"), key),
    "sub an integer": lambda key, uid: "Bearer " + sign(claims_for(uid, sub=uid), key),
    "sub a list": lambda key, uid: "Bearer " + sign(claims_for(uid, sub=[str(uid)]), key),
    "token version missing": lambda key, uid: "Bearer " + sign(claims_for(uid, ver=None), key),
    "sub of no user": lambda key, uid: "Bearer " + sign(claims_for(999), key),
    "forged admin role, another key": lambda key, uid: (
        "Bearer " + sign(claims_for(uid, role="admin"), "y" * 40)
    ),
}


@pytest.mark.parametrize("case", BAD_AUTHORIZATION)
def test_every_bad_token_is_401_with_www_authenticate(app, client, user, case):
    header = BAD_AUTHORIZATION[case](app.config["SECRET_KEY"], user["id"])
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


def test_logout_ends_every_token_of_the_caller(client, auth, member):
    other_device = auth.headers()  # the same member, logged in twice
    response = client.post("/users/logout", headers=member)
    assert response.status_code == 204
    assert response.get_data() == b""
    refused = [client.get("/users/me", headers=headers) for headers in (member, other_device)]
    assert [(r.status_code, r.get_json()["detail"]) for r in refused] == [(401, REVOKED)] * 2
    # A login in the same second as the logout still works: versions, not timestamps.
    response = client.get("/users/me", headers=auth.headers())
    assert response.status_code == 200
    assert response.get_json()["email"] == "ada@example.com"


@pytest.mark.parametrize("by_admin", [False, True])
def test_a_new_password_ends_every_earlier_token(client, auth, member, admin, by_admin):
    user_id = client.get("/users/me", headers=member).get_json()["id"]
    url, headers = (f"/users/{user_id}", admin) if by_admin else ("/users/me", member)
    response = client.patch(url, json={"password": "a brand new passphrase"}, headers=headers)
    assert response.status_code == 200
    assert response.get_json()["email"] == "ada@example.com"
    refused = client.get("/users/me", headers=member)
    assert refused.status_code == 401
    assert refused.get_json()["detail"] == REVOKED
    token = auth.login(password="a brand new passphrase").get_json()["token"]
    response = client.get("/users/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.get_json()["id"] == user_id
    assert client.get("/users", headers=admin).status_code == 200  # other users' tokens live on


def test_only_app_auth_imports_the_jwt_library():
    # One module to rewrite to change JWT libraries (docs/security.md, "Dependency risk").
    stage = Path(__file__).parents[1]
    imports_jose = re.compile(rb"^\s*(from|import) jose\b", re.MULTILINE)
    importers = [
        path for path in sorted(stage.rglob("*.py")) if imports_jose.search(path.read_bytes())
    ]
    assert [path.relative_to(stage).as_posix() for path in importers] == ["app/auth.py"]
