"""Users: register, list, read, replace and delete."""

from flask import request, url_for
from sqlalchemy import select

from app.blueprints.users import users_bp
from app.blueprints.users.schemas import user_schema, users_schema
from app.extensions import db
from app.models import User


def get_user_or_404(user_id: int) -> User:
    return db.get_or_404(User, user_id, description=f"User {user_id} does not exist.")


@users_bp.post("")
def register():
    data = user_schema.load(request.get_json())
    password = data.pop("password")
    user = User(**data)
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    return user_schema.jsonify(user), 201, {"Location": url_for(".get_user", user_id=user.id)}


@users_bp.get("")
def list_users():
    return users_schema.jsonify(db.session.scalars(select(User).order_by(User.id)))


@users_bp.get("/<int:user_id>")
def get_user(user_id: int):
    return user_schema.jsonify(get_user_or_404(user_id))


@users_bp.put("/<int:user_id>")
def replace_user(user_id: int):
    user = get_user_or_404(user_id)
    data = user_schema.load(request.get_json(), partial=("password",))  # keep it if not sent
    if "password" in data:
        user.set_password(data.pop("password"))
    for field, value in data.items():
        setattr(user, field, value)
    db.session.commit()
    return user_schema.jsonify(user)


@users_bp.delete("/<int:user_id>")
def delete_user(user_id: int):
    db.session.delete(get_user_or_404(user_id))  # the user's loans go too (cascade)
    db.session.commit()
    return "", 204
