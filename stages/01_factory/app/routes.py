"""First routes, registered on the app by the factory. Stage 02 moves them into blueprints."""

from datetime import date

from flask import Flask, abort, request, url_for
from sqlalchemy import select

from app.errors import InvalidBody
from app.extensions import db
from app.models import Book

BOOK_FIELDS = ("title", "author", "genre", "age_category", "publish_date")
MAX_TEXT_LENGTH = {"title": 200, "author": 200, "genre": 100, "age_category": 50}


def book_to_dict(book: Book) -> dict:
    return {
        "id": book.id,
        "title": book.title,
        "author": book.author,
        "genre": book.genre,
        "age_category": book.age_category,
        "publish_date": book.publish_date.isoformat(),
    }


def book_from_request() -> dict:
    """Read and validate a complete book from the JSON body; raise InvalidBody if it is not."""
    data = request.get_json()  # 415 if the body is not JSON, 400 if it is malformed
    if not isinstance(data, dict):
        raise InvalidBody({"_schema": ["Expected a JSON object."]})

    errors = {field: ["Unknown field."] for field in data if field not in BOOK_FIELDS}
    book = {}
    for field, max_length in MAX_TEXT_LENGTH.items():
        value = data.get(field)
        if not isinstance(value, str) or not value.strip():
            errors[field] = ["Required: a non-empty string."]
        elif len(value) > max_length:
            errors[field] = [f"Longer than maximum length {max_length}."]
        else:
            book[field] = value.strip()
    try:
        book["publish_date"] = date.fromisoformat(data.get("publish_date"))
    except (TypeError, ValueError):
        errors["publish_date"] = ["Required: a date as YYYY-MM-DD."]

    if errors:
        raise InvalidBody(errors)
    return book


def get_book_or_404(book_id: int) -> Book:
    book = db.session.get(Book, book_id)
    if book is None:
        abort(404, f"Book {book_id} does not exist.")
    return book


def register_routes(app: Flask) -> None:
    @app.get("/health")
    def health():
        db.session.execute(select(1))  # proves the database answers
        return {"status": "ok"}

    @app.get("/books")
    def list_books():
        query = select(Book).order_by(Book.id)  # the whole catalogue: stage 05 adds pages
        return [book_to_dict(book) for book in db.session.scalars(query)]

    @app.post("/books")
    def create_book():
        book = Book(**book_from_request())
        db.session.add(book)
        db.session.commit()
        return book_to_dict(book), 201, {"Location": url_for("get_book", book_id=book.id)}

    @app.get("/books/<int:book_id>")
    def get_book(book_id: int):
        return book_to_dict(get_book_or_404(book_id))

    @app.put("/books/<int:book_id>")
    def replace_book(book_id: int):
        book = get_book_or_404(book_id)
        for field, value in book_from_request().items():
            setattr(book, field, value)
        db.session.commit()
        return book_to_dict(book)

    @app.delete("/books/<int:book_id>")
    def delete_book(book_id: int):
        book = get_book_or_404(book_id)
        db.session.delete(book)
        db.session.commit()
        return "", 204
