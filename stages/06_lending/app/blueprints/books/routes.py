"""The catalogue: list, filter, search, rank, read, create, replace, update, withdraw, restore."""

from datetime import date

from flask import abort, request, url_for
from sqlalchemy import func, or_, select
from werkzeug.exceptions import Forbidden

from app import lending
from app.auth import admin_required, is_admin, token_optional
from app.blueprints.books import books_bp
from app.blueprints.books.schemas import book_schema, popular_books_schema, sparse_book_schema
from app.caching import invalidate, key_prefix
from app.errors import InvalidQuery
from app.extensions import cache, db, write_limit
from app.http_caching import check_if_match
from app.models import Book, loan_books
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
    "isbn": Field(Book.isbn),
    "copies": Field(Book.copies, integer),
    "available": Field(Book.available, integer),
}
LIST_PARAMETERS = (*PAGING_PARAMETERS, "sort", "fields", "include_deleted")
POPULAR_LIMIT, MAX_POPULAR_LIMIT = 5, 50


def get_book_or_404(book_id: int) -> Book:
    book = db.session.get(Book, book_id)
    if book is None or (book.withdrawn_at is not None and not is_admin()):
        abort(404, f"Book {book_id} does not exist.")
    return book


def include_withdrawn() -> bool:
    value = request.args.get("include_deleted", "false")
    if value not in ("true", "false"):
        raise InvalidQuery({"include_deleted": ["Must be true or false."]})
    if value == "true" and not is_admin():
        raise Forbidden("Only admins can list withdrawn books.")
    return value == "true"


# Admins see withdrawn books, so their responses never go into the shared cache.
cached_for_everyone = cache.cached(
    query_string=True, key_prefix=key_prefix("books"), unless=is_admin
)


@books_bp.get("")
@token_optional
@cached_for_everyone  # below the auth, one entry per page and query
def list_books():
    conditions = parse_filters(request.args, BOOK_FIELDS, LIST_PARAMETERS)
    order = parse_sort(request.args.get("sort"), BOOK_FIELDS)
    schema = sparse_book_schema(parse_fields(request.args.get("fields"), BOOK_FIELDS))
    query = select(Book).where(conditions).order_by(*order, Book.id)  # id last: stable pages
    if not include_withdrawn():
        query = query.where(Book.withdrawn_at.is_(None))
    return paginate(query, schema, cache_group="books")


@books_bp.get("/search")
@cached_for_everyone
def search_books():
    """Search titles and authors, case-insensitively; `%` and `_` match themselves."""
    reject_unknown_parameters("q", *PAGING_PARAMETERS)
    q = request.args.get("q", "")
    if not 1 <= len(q) <= 100:
        raise InvalidQuery({"q": ["Required: 1 to 100 characters."]})
    matches = or_(
        Book.title.icontains(q, autoescape=True), Book.author.icontains(q, autoescape=True)
    )
    query = select(Book).where(matches, Book.withdrawn_at.is_(None)).order_by(Book.id)
    return paginate(query, book_schema, cache_group="books")


@books_bp.get("/popular")
@cache.cached(query_string=True, key_prefix=key_prefix("books"))
def popular_books():
    """The most borrowed books, counted by one SQL aggregate over every loan ever made."""
    value = request.args.get("limit", str(POPULAR_LIMIT))
    if not (value.isascii() and value.isdigit()) or int(value) < 1:
        raise InvalidQuery({"limit": ["Must be a positive integer."]})
    reject_unknown_parameters("limit")
    # Count book_id, the column the join matches on: ix_loan_books_book_id then holds every value
    # the count needs, and the database never reads the loan_books rows themselves.
    loan_count = func.count(loan_books.c.book_id).label("loan_count")
    query = (
        select(Book, loan_count)
        .outerjoin(loan_books, loan_books.c.book_id == Book.id)
        .where(Book.withdrawn_at.is_(None))
        .group_by(Book.id)
        .order_by(loan_count.desc(), Book.id)
        .limit(min(int(value), MAX_POPULAR_LIMIT))
    )
    rows = db.session.execute(query).all()
    return {"data": popular_books_schema.dump({"book": b, "loan_count": n} for b, n in rows)}


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
@token_optional
@cached_for_everyone
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
    if request.method == "PUT":  # a replacement: optional fields not sent go back to defaults
        changes = {"isbn": None, "copies": 1, **changes}
    # The check gives a clear message; the database's CHECK constraint holds it under races.
    if changes.get("copies", book.copies) < book.on_loan:
        abort(409, f"{book.on_loan} copies of book {book_id} are on loan; keep at least that many.")
    for field, value in changes.items():
        setattr(book, field, value)
    db.session.commit()
    invalidate("books")  # a changed book is never served stale
    return book_schema.jsonify(book)


@books_bp.delete("/<int:book_id>")
@write_limit
@admin_required
def delete_book(book_id: int):
    """Withdraw a book: it leaves the catalogue, its loan history stays."""
    book = get_book_or_404(book_id)
    check_if_match(book, book_schema)
    lending.withdraw_book(book)
    invalidate("books")
    return "", 204


@books_bp.post("/<int:book_id>/restore")
@write_limit
@admin_required
def restore_book(book_id: int):
    """Bring a withdrawn book back, unless an identical one was catalogued meanwhile."""
    book = get_book_or_404(book_id)
    lending.restore_book(book)
    invalidate("books")
    return book_schema.jsonify(book)
