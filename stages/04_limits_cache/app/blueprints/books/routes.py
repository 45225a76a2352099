"""The catalogue: list, read, create, replace, update and delete books."""

from flask import request, url_for
from sqlalchemy import select

from app.auth import admin_required
from app.blueprints.books import books_bp
from app.blueprints.books.schemas import book_schema, books_schema
from app.caching import invalidate, key_prefix
from app.extensions import cache, db, write_limit
from app.http_caching import check_if_match
from app.models import Book


def get_book_or_404(book_id: int) -> Book:
    return db.get_or_404(Book, book_id, description=f"Book {book_id} does not exist.")


@books_bp.get("")
@cache.cached(key_prefix=key_prefix("books"))
def list_books():
    query = select(Book).order_by(Book.id)  # the whole catalogue: stage 05 adds pages
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
    check_if_match(book, book_schema)  # a client that sent If-Match gets a 412 if it is stale
    for field, value in changes.items():
        setattr(book, field, value)
    db.session.commit()
    invalidate("books")  # a changed book is never served stale
    return book_schema.jsonify(book)


@books_bp.delete("/<int:book_id>")
@write_limit
@admin_required
def delete_book(book_id: int):
    book = get_book_or_404(book_id)
    check_if_match(book, book_schema)
    db.session.delete(book)
    db.session.commit()
    invalidate("books")
    return "", 204
