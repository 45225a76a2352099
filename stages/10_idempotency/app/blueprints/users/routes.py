"""Users: register, log in, manage your own profile; admins manage everyone."""

from flask import current_app, g, request, url_for
from sqlalchemy import select
from werkzeug.exceptions import Forbidden
from werkzeug.security import check_password_hash, generate_password_hash

from app import lending
from app.auth import ADMIN, AuthError, admin_required, encode_token, token_required
from app.blueprints.users import users_bp
from app.blueprints.users.schemas import admin_user_schema, login_schema, user_schema
from app.caching import user_key
from app.extensions import cache, db, login_limit, write_limit
from app.http_caching import check_if_match
from app.idempotency import idempotent
from app.models import User
from app.pagination import PAGING_PARAMETERS, paginate, reject_unknown_parameters

# Checked when the email is unknown, so that a wrong email takes as long as a wrong password
# and the response time does not reveal which emails have an account.
DUMMY_PASSWORD_HASH = generate_password_hash("no account has this password")


def get_user_or_404(user_id: int) -> User:
    return db.get_or_404(User, user_id, description=f"User {user_id} does not exist.")


def apply_changes(user: User, changes: dict) -> None:
    if "password" in changes:
        user.set_password(changes.pop("password"))
    for field, value in changes.items():
        setattr(user, field, value)


@users_bp.post("")
@write_limit
@idempotent
def register():
    """Create a member account. The role is always `member`.
    ---
    post:
      tags: [users]
      summary: Register
      requestBody: {required: true, content: {application/json: {schema: UserCreate}}}
      responses:
        201:
          content: {application/json: {schema: User}}
          headers: {Location: Location}
    """
    data = user_schema.load(request.get_json())
    password = data.pop("password")
    user = User(**data)
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    return user_schema.jsonify(user), 201, {"Location": url_for(".get_user", user_id=user.id)}


@users_bp.post("/login")
@login_limit
def login():
    """Exchange an email and password for a bearer token.
    ---
    post:
      tags: [users]
      summary: Log in
      requestBody: {required: true, content: {application/json: {schema: Login}}}
      responses:
        200: {content: {application/json: {schema: Token}}}
        401: Unauthorized
    """
    credentials = login_schema.load(request.get_json())
    user = db.session.scalar(select(User).where(User.email == credentials["email"].lower()))
    if user is None:
        check_password_hash(DUMMY_PASSWORD_HASH, credentials["password"])
    if user is None or not user.check_password(credentials["password"]):
        # One answer for both cases: no hint about which emails have an account.
        raise AuthError("Invalid email or password.")
    lifetime = current_app.config["TOKEN_LIFETIME"]
    body = {
        "token": encode_token(user),
        "token_type": "Bearer",
        "expires_in": int(lifetime.total_seconds()),
    }
    return body


@users_bp.post("/logout")
@write_limit
@token_required
def logout():
    """End every token you hold, on every device; log in again for a new one.
    ---
    post:
      tags: [users]
      summary: Log out
      responses:
        204: {description: Logged out}
    """
    # Ends every token of the caller, on every device: the version they carry is now too old.
    g.current_user.revoke_tokens()
    db.session.commit()
    return "", 204


@users_bp.get("")
@admin_required
def list_users():
    """Every account, a page at a time.
    ---
    get:
      tags: [users]
      summary: List users (admin)
      parameters:
        - Page
        - PerPage
      responses:
        200: {content: {application/json: {schema: UserPage}}}
    """
    reject_unknown_parameters(*PAGING_PARAMETERS)
    return paginate(select(User).order_by(User.id), user_schema)


@users_bp.get("/me")
@token_required
@cache.cached(make_cache_key=lambda: user_key(g.current_user.id))  # below the auth: never above
def get_me():
    """Your own account.
    ---
    get:
      tags: [users]
      summary: Get your account
      responses:
        200: {content: {application/json: {schema: User}}}
    """
    return user_schema.jsonify(g.current_user)


@users_bp.patch("/me")
@write_limit
@token_required
def update_me():
    """Change some fields of your account (not your role).
    ---
    patch:
      tags: [users]
      summary: Update your account
      requestBody: {required: true, content: {application/json: {schema: UserUpdate}}}
      responses:
        200: {content: {application/json: {schema: User}}}
    """
    changes = user_schema.load(request.get_json(), partial=True)
    check_if_match(g.current_user, user_schema)
    apply_changes(g.current_user, changes)
    db.session.commit()
    cache.delete(user_key(g.current_user.id))
    return user_schema.jsonify(g.current_user)


@users_bp.delete("/me")
@write_limit
@token_required
def delete_me():
    """Delete your account (once every loan is returned).
    ---
    delete:
      tags: [users]
      summary: Delete your account
      responses:
        204: {description: Deleted}
    """
    lending.delete_account(g.current_user)
    cache.delete(user_key(g.current_user.id))
    return "", 204


@users_bp.get("/<int:user_id>")
@token_required
def get_user(user_id: int):
    # Decided before the lookup, so a member learns nothing about other ids.
    """An account: admins read any, members only their own.
    ---
    get:
      tags: [users]
      summary: Get a user (admin, or yourself)
      responses:
        200: {content: {application/json: {schema: User}}}
    """
    if g.current_user.role != ADMIN and g.current_user.id != user_id:
        raise Forbidden("You can only read your own account.")
    return user_schema.jsonify(get_user_or_404(user_id))


@users_bp.patch("/<int:user_id>")
@write_limit
@admin_required
def update_user(user_id: int):
    """Change any account, its role included.
    ---
    patch:
      tags: [users]
      summary: Update a user (admin)
      requestBody: {required: true, content: {application/json: {schema: AdminUserUpdate}}}
      responses:
        200: {content: {application/json: {schema: User}}}
    """
    user = get_user_or_404(user_id)
    changes = admin_user_schema.load(request.get_json(), partial=True)
    if changes.get("role", ADMIN) != ADMIN:
        lending.keep_an_admin(user)
    check_if_match(user, user_schema)  # the representation a GET answers
    apply_changes(user, changes)
    db.session.commit()
    cache.delete(user_key(user_id))
    return admin_user_schema.jsonify(user)


@users_bp.delete("/<int:user_id>")
@write_limit
@admin_required
def delete_user(user_id: int):
    """Delete an account (once every loan is returned).
    ---
    delete:
      tags: [users]
      summary: Delete a user (admin)
      responses:
        204: {description: Deleted}
    """
    lending.delete_account(get_user_or_404(user_id))
    cache.delete(user_key(user_id))
    return "", 204
