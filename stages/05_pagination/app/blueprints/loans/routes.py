"""Loans: borrow books, list and read your loans, add or remove a book on a loan."""

from flask import abort, g, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.exceptions import Forbidden

from app.auth import ADMIN, token_required
from app.blueprints.loans import loans_bp
from app.blueprints.loans.schemas import loan_schema
from app.extensions import db, write_limit
from app.models import Book, Loan, User
from app.pagination import PAGING_PARAMETERS, paginate, reject_unknown_parameters


def get_loan_or_404(loan_id: int) -> Loan:
    loan = db.session.get(Loan, loan_id)
    # Another member's loan is "not found", not "forbidden": a 403 would confirm it exists.
    if loan is None or (g.current_user.role != ADMIN and loan.user_id != g.current_user.id):
        abort(404, f"Loan {loan_id} does not exist.")
    return loan


def get_book_or_404(book_id: int) -> Book:
    return db.get_or_404(Book, book_id, description=f"Book {book_id} does not exist.")


@loans_bp.post("")
@write_limit
@token_required
def create_loan():
    data = loan_schema.load(request.get_json())
    user_id = data.get("user_id", g.current_user.id)
    if user_id != g.current_user.id and g.current_user.role != ADMIN:
        raise Forbidden("Only an admin can lend books to another user.")
    user = db.get_or_404(User, user_id, description=f"User {user_id} does not exist.")
    books = db.session.scalars(select(Book).where(Book.id.in_(data["book_ids"]))).all()
    missing = set(data["book_ids"]) - {book.id for book in books}
    if missing:
        abort(404, f"Books do not exist: {sorted(missing)}.")
    loan = Loan(user=user, books=books)
    db.session.add(loan)
    db.session.commit()
    return loan_schema.jsonify(loan), 201, {"Location": url_for(".get_loan", loan_id=loan.id)}


@loans_bp.get("")
@token_required
def list_loans():
    reject_unknown_parameters(*PAGING_PARAMETERS)
    # selectinload: one extra query for all the loans' books, not one query per loan (N+1).
    query = select(Loan).options(selectinload(Loan.books)).order_by(Loan.id)
    if g.current_user.role != ADMIN:
        query = query.where(Loan.user_id == g.current_user.id)
    return paginate(query, loan_schema)


@loans_bp.get("/<int:loan_id>")
@token_required
def get_loan(loan_id: int):
    return loan_schema.jsonify(get_loan_or_404(loan_id))


@loans_bp.put("/<int:loan_id>/books/<int:book_id>")
@write_limit
@token_required
def add_book_to_loan(loan_id: int, book_id: int):
    loan = get_loan_or_404(loan_id)
    book = get_book_or_404(book_id)
    if loan.return_date is not None:
        abort(409, f"Loan {loan_id} was returned; it cannot change.")
    if book in loan.books:
        abort(409, f"Book {book_id} is already on loan {loan_id}.")
    loan.books.append(book)
    db.session.commit()
    return loan_schema.jsonify(loan)


@loans_bp.delete("/<int:loan_id>/books/<int:book_id>")
@write_limit
@token_required
def remove_book_from_loan(loan_id: int, book_id: int):
    loan = get_loan_or_404(loan_id)
    book = get_book_or_404(book_id)
    if loan.return_date is not None:
        abort(409, f"Loan {loan_id} was returned; it cannot change.")
    if book not in loan.books:
        abort(404, f"Book {book_id} is not on loan {loan_id}.")
    loan.books.remove(book)
    db.session.commit()
    return loan_schema.jsonify(loan)
