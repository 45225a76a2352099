"""The catalogue: list, filter, search, read, create, replace, update and delete books."""

from datetime import date

from flask import request, url_for
from sqlalchemy import or_, select

from app.auth import admin_required
from app.blueprints.books import books_bp
from app.blueprints.books.schemas import book_schema, sparse_book_schema
from app.caching import invalidate, key_prefix
from app.errors import InvalidQuery
from app.extensions import cache, db, write_limit
from app.http_caching import check_if_match
from app.models import Book
from app.pagination import PAGING_PARAMETERS, paginate, reject_unknown_parameters
from app.query import Field, integer, parse_fields, parse_filters, parse_sort

# The allow-list: the only fields a client can filter, sort or select on.
BOOK_FIELDS = {
    "id": Field(Book.id, integer),
    "title": Field(Book.title),
    "author": Field(Book.author),
    "genre": Field(Book.genre),
    "age_category": Field(Book.age_category),
    "publish_date": Field(Book.publish_date, date.fromisoformat),
}
LIST_PARAMETERS = (*PAGING_PARAMETERS, "sort", "fields")


def get_book_or_404(book_id: int) -> Book:
    return db.get_or_404(Book, book_id, description=f"Book {book_id} does not exist.")


@books_bp.get("")
@cache.cached(query_string=True, key_prefix=key_prefix("books"))  # one entry per page and query
def list_books():
    conditions = parse_filters(request.args, BOOK_FIELDS, LIST_PARAMETERS)
    order = parse_sort(request.args.get("sort"), BOOK_FIELDS)
    schema = sparse_book_schema(parse_fields(request.args.get("fields"), BOOK_FIELDS))
    query = select(Book).where(conditions).order_by(*order, Book.id)  # id last: stable pages
    return paginate(query, schema, cache_group="books")


@books_bp.get("/search")
@cache.cached(query_string=True, key_prefix=key_prefix("books"))
def search_books():
    """Search titles and authors, case-insensitively; `%` and `_` match themselves."""
    reject_unknown_parameters("q", *PAGING_PARAMETERS)
    q = request.args.get("q", "")
    if not 1 <= len(q) <= 100:
        raise InvalidQuery({"q": ["Required: 1 to 100 characters."]})
    matches = or_(
        Book.title.icontains(q, autoescape=True), Book.author.icontains(q, autoescape=True)
    )
    query = select(Book).where(matches).order_by(Book.id)
    return paginate(query, book_schema, cache_group="books")


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
