"""Loans: borrow books, return them, list and read your loans, add or remove a book."""

from datetime import date

from flask import abort, g, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.exceptions import Forbidden

from app import lending
from app.auth import ADMIN, admin_required, token_required
from app.blueprints.loans import loans_bp
from app.blueprints.loans.schemas import loan_schema
from app.caching import invalidate
from app.errors import InvalidQuery
from app.extensions import db, write_limit
from app.idempotency import idempotent
from app.models import Book, Loan, User
from app.pagination import PAGING_PARAMETERS, paginate, reject_unknown_parameters

STATUSES = {
    "active": lambda: Loan.return_date.is_(None),
    "returned": lambda: Loan.return_date.is_not(None),
    "overdue": lambda: Loan.return_date.is_(None) & (Loan.due_date < date.today()),
}


def get_loan_or_404(loan_id: int) -> Loan:
    loan = db.session.get(Loan, loan_id)
    # Another member's loan is "not found", not "forbidden": a 403 would confirm it exists.
    if loan is None or (g.current_user.role != ADMIN and loan.user_id != g.current_user.id):
        abort(404, f"Loan {loan_id} does not exist.")
    return loan


def get_book_or_404(book_id: int) -> Book:
    book = db.session.get(Book, book_id)
    if book is None or book.withdrawn_at is not None:
        abort(404, f"Book {book_id} does not exist.")
    return book


def changed(loan: Loan):
    """Availability and popularity change with every loan: the cached catalogue starts anew."""
    invalidate("books")
    return loan_schema.jsonify(loan)


@loans_bp.post("")
@write_limit
@token_required
@idempotent  # below token_required: a key belongs to the caller
def create_loan():
    """Borrow books: for yourself, or (admins) for the user named by `user_id`.
    ---
    post:
      tags: [loans]
      summary: Borrow books
      requestBody: {required: true, content: {application/json: {schema: LoanCreate}}}
      responses:
        201:
          content: {application/json: {schema: Loan}}
          headers: {Location: Location}
    """
    data = loan_schema.load(request.get_json())
    user_id = data.get("user_id", g.current_user.id)
    if user_id != g.current_user.id and g.current_user.role != ADMIN:
        raise Forbidden("Only an admin can lend books to another user.")
    user = db.get_or_404(User, user_id, description=f"User {user_id} does not exist.")
    loan = lending.borrow(user, data["book_ids"])
    return changed(loan), 201, {"Location": url_for(".get_loan", loan_id=loan.id)}


@loans_bp.get("")
@token_required
def list_loans():
    """Your loans (admins: everyone's), a page at a time, optionally by status.
    ---
    get:
      tags: [loans]
      summary: List loans
      parameters:
        - Page
        - PerPage
        - name: status
          in: query
          description: "active: not returned; overdue: active and past its due date."
          schema: {type: string, enum: [active, returned, overdue]}
      responses:
        200: {content: {application/json: {schema: LoanPage}}}
    """
    reject_unknown_parameters("status", *PAGING_PARAMETERS)
    # selectinload: one extra query for all the loans' books, not one query per loan (N+1).
    query = select(Loan).options(selectinload(Loan.books)).order_by(Loan.id)
    if g.current_user.role != ADMIN:
        query = query.where(Loan.user_id == g.current_user.id)
    if (status := request.args.get("status")) is not None:
        if status not in STATUSES:
            raise InvalidQuery({"status": [f"Must be one of: {', '.join(STATUSES)}."]})
        query = query.where(STATUSES[status]())
    return paginate(query, loan_schema)


@loans_bp.get("/<int:loan_id>")
@token_required
def get_loan(loan_id: int):
    """One of your loans (admins: any loan).
    ---
    get:
      tags: [loans]
      summary: Get a loan
      responses:
        200: {content: {application/json: {schema: Loan}}}
    """
    return loan_schema.jsonify(get_loan_or_404(loan_id))


@loans_bp.post("/<int:loan_id>/return")
@write_limit
@token_required
def return_loan(loan_id: int):
    """Return every book of the loan.
    ---
    post:
      tags: [loans]
      summary: Return a loan
      responses:
        200: {content: {application/json: {schema: Loan}}}
    """
    loan = get_loan_or_404(loan_id)
    lending.return_loan(loan)
    return changed(loan)


@loans_bp.put("/<int:loan_id>/books/<int:book_id>")
@write_limit
@token_required
def add_book_to_loan(loan_id: int, book_id: int):
    """Add a book to an active loan.
    ---
    put:
      tags: [loans]
      summary: Add a book to a loan
      responses:
        200: {content: {application/json: {schema: Loan}}}
    """
    loan = get_loan_or_404(loan_id)
    lending.add_book(loan, get_book_or_404(book_id))
    return changed(loan)


@loans_bp.delete("/<int:loan_id>/books/<int:book_id>")
@write_limit
@token_required
def remove_book_from_loan(loan_id: int, book_id: int):
    """Give one book of an active loan back.
    ---
    delete:
      tags: [loans]
      summary: Remove a book from a loan
      responses:
        200: {content: {application/json: {schema: Loan}}}
    """
    loan = get_loan_or_404(loan_id)
    lending.remove_book(loan, book_id)
    return changed(loan)


@loans_bp.delete("/<int:loan_id>")
@write_limit
@admin_required
def delete_loan(loan_id: int):
    """Erase a loan; an active loan's copies come back first.
    ---
    delete:
      tags: [loans]
      summary: Delete a loan (admin)
      responses:
        204: {description: Deleted}
    """
    lending.delete_loan(get_loan_or_404(loan_id))
    invalidate("books")
    return "", 204
