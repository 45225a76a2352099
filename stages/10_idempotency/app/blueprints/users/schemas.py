"""What a client may send about a user, and what it gets back."""

from marshmallow import ValidationError, fields, post_load, validate, validates
from marshmallow_sqlalchemy import auto_field

from app.extensions import ma
from app.models import User

ROLES = ("member", "admin")


class UserSchema(ma.SQLAlchemyAutoSchema):
    class Meta:
        model = User
        exclude = ("password_hash", "token_version")  # never in any output, never loaded
        dump_only = ("id", "role")  # shown, but never taken from a client: no self-made admins

    email = auto_field(validate=[validate.Length(max=254), validate.Email()])
    password = fields.String(required=True, load_only=True, validate=validate.Length(8, 128))

    @validates("first_name", "last_name")
    def not_blank(self, value: str, data_key: str) -> None:
        if not value.strip():
            raise ValidationError("Must not be blank.")

    @post_load
    def normalise_email(self, data: dict, **kwargs) -> dict:
        if "email" in data:
            data["email"] = data["email"].lower()
        return data


class AdminUserSchema(UserSchema):
    """What an admin may change about any user: everything a user may, plus the role."""

    class Meta(UserSchema.Meta):
        dump_only = ("id",)

    role = auto_field(validate=validate.OneOf(ROLES))


class LoginSchema(ma.Schema):
    email = fields.Email(required=True, validate=validate.Length(max=254))
    password = fields.String(required=True, load_only=True, validate=validate.Length(max=128))


user_schema = UserSchema()
users_schema = UserSchema(many=True)
admin_user_schema = AdminUserSchema()
login_schema = LoginSchema()


class TokenSchema(ma.Schema):
    token = fields.String()
    token_type = fields.String(metadata={"example": "Bearer"})
    expires_in = fields.Integer(metadata={"description": "seconds until the token expires"})
