"""What a client may send about a book, and what it gets back."""

from functools import cache

from marshmallow import ValidationError, validates

from app.extensions import ma
from app.models import Book


class BookSchema(ma.SQLAlchemyAutoSchema):
    # Fields, types, lengths and "required" come from the model's columns.
    class Meta:
        model = Book
        dump_only = ("id",)

    @validates("title", "author", "genre", "age_category")
    def not_blank(self, value: str, data_key: str) -> None:
        if not value.strip():
            raise ValidationError("Must not be blank.")


book_schema = BookSchema()
books_schema = BookSchema(many=True)


@cache
def sparse_book_schema(only: frozenset[str] | None) -> BookSchema:
    """`?fields=` schemas, built once per set of fields, not once per request."""
    return BookSchema(only=only) if only else book_schema
