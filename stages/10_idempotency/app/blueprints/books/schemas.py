"""What a client may send about a book, and what it gets back."""

from datetime import UTC
from functools import cache

from marshmallow import Schema, ValidationError, fields, post_dump, validate, validates
from marshmallow_sqlalchemy import auto_field

from app.extensions import ma
from app.models import Book

MAX_COPIES = 10_000


class UTCDateTime(fields.DateTime):
    """SQLite forgets the time zone it was given; every time here was stored in UTC."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return super()._serialize(value, attr, obj, **kwargs)


class BookSchema(ma.SQLAlchemyAutoSchema):
    # Fields, types, lengths and "required" come from the model's columns.
    class Meta:
        model = Book
        exclude = ("on_loan",)  # shown as `available` instead
        dump_only = ("id", "withdrawn_at")

    isbn = auto_field(
        validate=validate.Regexp(r"^(97[89])?\d{9}[\dX]$", error="Not an ISBN-10 or ISBN-13.")
    )
    copies = auto_field(strict=True, validate=validate.Range(0, MAX_COPIES))
    available = fields.Integer(dump_only=True, metadata={"description": "copies not on loan"})
    withdrawn_at = UTCDateTime(dump_only=True)

    @validates("title", "author", "genre", "age_category")
    def not_blank(self, value: str, data_key: str) -> None:
        if not value.strip():
            raise ValidationError("Must not be blank.")

    @post_dump
    def hide_withdrawn_at_unless_withdrawn(self, data: dict, **kwargs) -> dict:
        if data.get("withdrawn_at", "") is None:
            del data["withdrawn_at"]
        return data


class PopularBookSchema(Schema):
    book = fields.Nested(BookSchema)
    loan_count = fields.Integer(metadata={"description": "every loan ever made of the book"})


book_schema = BookSchema()
books_schema = BookSchema(many=True)
popular_books_schema = PopularBookSchema(many=True)


@cache
def sparse_book_schema(only: frozenset[str] | None) -> BookSchema:
    """`?fields=` schemas, built once per set of fields, not once per request."""
    return BookSchema(only=only) if only else book_schema
