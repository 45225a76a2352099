"""What a client sends to borrow books, and the loan it gets back."""

from marshmallow import ValidationError, fields, validate, validates
from marshmallow_sqlalchemy import auto_field

from app.blueprints.books.schemas import BookSchema
from app.extensions import ma
from app.lending import MAX_BOOKS_PER_LOAN
from app.models import Loan

ID = validate.Range(1, 2**31 - 1)  # an id the database's integer column can hold


class LoanSchema(ma.SQLAlchemyAutoSchema):
    class Meta:
        model = Loan
        include_fk = True  # user_id is a field like any other
        dump_only = ("id", "loan_date", "due_date", "return_date")

    user_id = auto_field(required=False, strict=True, validate=ID)  # admins may name a user
    books = fields.List(fields.Nested(BookSchema), dump_only=True)
    book_ids = fields.List(
        fields.Integer(strict=True, validate=ID),
        required=True,
        load_only=True,
        validate=validate.Length(min=1, max=MAX_BOOKS_PER_LOAN),
    )

    @validates("book_ids")
    def no_duplicates(self, value: list[int], data_key: str) -> None:
        if len(set(value)) != len(value):
            raise ValidationError("A book can only be listed once.")


loan_schema = LoanSchema()
loans_schema = LoanSchema(many=True)
