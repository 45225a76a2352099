"""The catalogue: list, read, create, replace, update and delete books."""

from flask import abort, request, url_for
from sqlalchemy import select

from app.auth import admin_required
from app.blueprints.books import books_bp
from app.blueprints.books.schemas import book_schema, books_schema
from app.caching import invalidate, key_prefix
from app.extensions import cache, db, write_limit
from app.models import Book

MAX_PER_PAGE = 100


def positive_int_arg(name: str, default: int) -> int:
    value = request.args.get(name, default)
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        abort(400, f"Query parameter {name!r} must be a positive integer.")
    return number


def get_book_or_404(book_id: int) -> Book:
    return db.get_or_404(Book, book_id, description=f"Book {book_id} does not exist.")


@books_bp.get("")
@cache.cached(query_string=True, key_prefix=key_prefix("books"))  # one entry per page and query
def list_books():
    page = positive_int_arg("page", default=1)
    per_page = min(positive_int_arg("per_page", default=20), MAX_PER_PAGE)
    query = select(Book).order_by(Book.id).limit(per_page).offset((page - 1) * per_page)
    return books_schema.jsonify(db.session.scalars(query))


@books_bp.post("")
@write_limit
@admin_required
def create_book():
    book = Book(**book_schema.load(request.get_json()))
    db.session.add(book)
    db.session.commit()
    invalidate("books")
    return book_schema.jsonify(book), 201, {"Location": url_for(".get_book", book_id=book.id)}


@books_bp.get("/<int:book_id>")
@cache.cached(key_prefix=key_prefix("books"))
def get_book(book_id: int):
    return book_schema.jsonify(get_book_or_404(book_id))


@books_bp.route("/<int:book_id>", methods=["PUT", "PATCH"])
@write_limit
@admin_required
def update_book(book_id: int):
    book = get_book_or_404(book_id)
    # PUT replaces the book, so every field is required; PATCH changes only the fields sent.
    changes = book_schema.load(request.get_json(), partial=request.method == "PATCH")
    for field, value in changes.items():
        setattr(book, field, value)
    db.session.commit()
    invalidate("books")  # a changed book is never served stale
    return book_schema.jsonify(book)


@books_bp.delete("/<int:book_id>")
@write_limit
@admin_required
def delete_book(book_id: int):
    db.session.delete(get_book_or_404(book_id))
    db.session.commit()
    invalidate("books")
    return "", 204
