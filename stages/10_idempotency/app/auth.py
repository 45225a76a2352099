"""JSON Web Tokens: issue them at login, check them on every protected route.

A token is signed with the app's SECRET_KEY (HS256) and carries the user's id (`sub`), when it
was issued (`iat`), when it expires (`exp`) and the user's role (for clients to read). What a
user may do is decided by the role stored in the database, so a role change takes effect at once.
It also carries the user's `token_version` (`ver`): a logout or a new password raises it in the
database, which ends every earlier token at once, in every worker.

The only module that imports python-jose: to change libraries, rewrite encode_token() and the
jwt.decode() call in user_from_token().
"""

from datetime import UTC, datetime
from functools import wraps

from flask import current_app, g, request
from jose import JWTError, jwt
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import Forbidden, Unauthorized

from app.extensions import db
from app.models import User

ALGORITHM = "HS256"
ADMIN = "admin"
CLOCK_SKEW = 10  # seconds a token's `iat` may be ahead of this server's clock


class AuthError(Unauthorized):
    """401 with `WWW-Authenticate: Bearer`, as RFC 6750 asks."""

    def __init__(self, description: str):
        super().__init__(description, www_authenticate=WWWAuthenticate("bearer"))


def encode_token(user: User) -> str:
    now = datetime.now(UTC)
    claims = {
        "sub": str(user.id),  # the JWT spec wants a string subject
        "iat": now,
        "exp": now + current_app.config["TOKEN_LIFETIME"],
        "ver": user.token_version,  # a logout or a new password raises it: this token ends
        "role": user.role,
    }
    return jwt.encode(claims, current_app.config["SECRET_KEY"], algorithm=ALGORITHM)


def user_from_token(token: str) -> User:
    try:
        claims = jwt.decode(
            token,
            current_app.config["SECRET_KEY"],
            algorithms=[ALGORITHM],  # exactly one: refuses "none", HS512 and friends
            options={"require_exp": True, "require_iat": True, "require_sub": True},
        )
        user_id, issued_at = int(claims["sub"]), int(claims["iat"])
    except (JWTError, ValueError, TypeError):  # bad signature, expired, sub not a number...
        raise AuthError("The token is invalid or has expired.") from None
    if issued_at > datetime.now(UTC).timestamp() + CLOCK_SKEW:  # a clock far ahead, or a stolen key
        raise AuthError("The token is invalid or has expired.")
    user = db.session.get(User, user_id)
    if user is None:
        raise AuthError("The token's user no longer exists.")
    if claims.get("ver") != user.token_version:
        raise AuthError("The token was revoked by a logout or a password change.")
    return user


def current_user_from_header() -> User | None:
    """The caller named by the Authorization header; None without one; 401 if it is bad."""
    if "Authorization" not in request.headers:
        return None
    auth = request.authorization  # Werkzeug parses the header; a bad one is simply None
    if auth is None or auth.type != "bearer" or not auth.token:
        raise AuthError("Send a token: 'Authorization: Bearer <token>'.")
    return user_from_token(auth.token)


def token_required(view):
    """Let the request through only with a valid token; the caller is then `g.current_user`."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        g.current_user = current_user_from_header()
        if g.current_user is None:
            raise AuthError("Send a token: 'Authorization: Bearer <token>'.")
        return view(*args, **kwargs)

    wrapper.auth = "token"  # read by app/guards.py and by app/openapi.py (the route's security)
    return wrapper


def token_optional(view):
    """Public route that shows more to some callers: `g.current_user` is the caller or None."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        g.current_user = current_user_from_header()
        return view(*args, **kwargs)

    wrapper.auth = "optional"
    return wrapper


def is_admin() -> bool:
    return g.get("current_user") is not None and g.current_user.role == ADMIN


def admin_required(view):
    """token_required, and the caller must be an admin."""

    @token_required
    @wraps(view)
    def wrapper(*args, **kwargs):
        if not is_admin():
            raise Forbidden("This action needs an admin account.")
        return view(*args, **kwargs)

    wrapper.auth = "admin"
    return wrapper
