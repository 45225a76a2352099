"""The library's rules, in one module that routes and CLI commands call.

Each rule checks shared state and changes it in one conditional statement (`UPDATE ... WHERE`,
then the row count), or locks the row first: "read, decide, write" lets two requests both pass.
"""

from datetime import UTC, date, datetime

from flask import abort
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from app.auth import ADMIN
from app.caching import invalidate
from app.errors import Refused
from app.extensions import db
from app.models import Book, Loan, User, loan_books

MAX_BOOKS_PER_LOAN = 10


def take_copy(book_id: int) -> None:
    """Take one copy of the book in one conditional UPDATE, or answer 409 if none is left:
    when many clients borrow the last copy at once, exactly one gets it."""
    taken = db.session.execute(
        update(Book)
        .where(Book.id == book_id, Book.on_loan < Book.copies)
        .values(on_loan=Book.on_loan + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    if taken != 1:
        db.session.rollback()
        raise Refused("no-copy-available", f"No copy of book {book_id} is available.")


def give_back_copies(book_ids: list[int]) -> None:
    if book_ids:
        db.session.execute(
            update(Book)
            .where(Book.id.in_(book_ids))
            .values(on_loan=Book.on_loan - 1)
            .execution_options(synchronize_session=False)
        )


def books_on(loan_id: int) -> list[int]:
    """The loan's books as the database has them now, not as this session first loaded them."""
    return list(
        db.session.scalars(select(loan_books.c.book_id).where(loan_books.c.loan_id == loan_id))
    )


def claim_active_loan(loan_id: int, **values) -> None:
    """Check that the loan is active and lock its row, in one statement; 409 if it is not.

    A second request on the same loan waits here until the first commits, then finds the loan
    as the first left it. `values` may end the loan (a return) or change nothing (a lock).
    """
    claimed = db.session.execute(
        update(Loan)
        .where(Loan.id == loan_id, Loan.return_date.is_(None))
        .values(return_date=values.get("return_date"))
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        db.session.rollback()
        raise Refused("loan-returned", f"Loan {loan_id} was returned; it cannot change.")


def borrow(user: User, book_ids: list[int]) -> Loan:
    book_ids = sorted(book_ids)  # one lock order for every transaction: no deadlocks
    books = db.session.scalars(
        select(Book).where(Book.id.in_(book_ids), Book.withdrawn_at.is_(None))
    ).all()
    if missing := set(book_ids) - {book.id for book in books}:
        abort(404, f"Books do not exist: {sorted(missing)}.")
    for book_id in book_ids:
        take_copy(book_id)
    loan = Loan(user=user, books=books)
    db.session.add(loan)
    db.session.commit()
    return loan


def return_loan(loan: Loan) -> None:
    claim_active_loan(loan.id, return_date=date.today())  # exactly one return wins
    give_back_copies(books_on(loan.id))
    db.session.commit()


def add_book(loan: Loan, book: Book) -> None:
    claim_active_loan(loan.id)
    book_ids = books_on(loan.id)
    if book.id in book_ids:
        raise Refused("book-already-on-loan", f"Book {book.id} is already on loan {loan.id}.")
    if len(book_ids) >= MAX_BOOKS_PER_LOAN:
        raise Refused("loan-full", f"A loan holds at most {MAX_BOOKS_PER_LOAN} books.")
    take_copy(book.id)
    db.session.execute(insert(loan_books).values(loan_id=loan.id, book_id=book.id))
    db.session.commit()


def remove_book(loan: Loan, book_id: int) -> None:
    claim_active_loan(loan.id)
    book_ids = books_on(loan.id)
    if book_id not in book_ids:
        abort(404, f"Book {book_id} is not on loan {loan.id}.")
    if len(book_ids) == 1:
        raise Refused(
            "last-book-on-loan",
            f"Book {book_id} is the last book on loan {loan.id}: return the loan instead.",
        )
    db.session.execute(
        delete(loan_books).where(loan_books.c.loan_id == loan.id, loan_books.c.book_id == book_id)
    )
    give_back_copies([book_id])
    db.session.commit()


def delete_loan(loan: Loan) -> None:
    """Erase a loan; an active loan's copies come back first (once, however many deletes)."""
    loan_id = loan.id  # read before a concurrent delete can make the object unreadable
    ended_now = db.session.execute(
        update(Loan)
        .where(Loan.id == loan_id, Loan.return_date.is_(None))
        .values(return_date=date.today())
        .execution_options(synchronize_session=False)
    ).rowcount
    if ended_now:
        give_back_copies(books_on(loan_id))
    if db.session.execute(delete(Loan).where(Loan.id == loan_id)).rowcount != 1:
        db.session.rollback()
        abort(404, f"Loan {loan_id} does not exist.")
    db.session.commit()


def withdraw_book(book: Book) -> None:
    """Soft delete: the book leaves the catalogue, its loan history stays."""
    withdrawn = db.session.execute(
        update(Book)
        .where(Book.id == book.id, Book.withdrawn_at.is_(None))
        .values(withdrawn_at=datetime.now(UTC))
        .execution_options(synchronize_session=False)
    ).rowcount
    if withdrawn != 1:
        db.session.rollback()
        abort(404, f"Book {book.id} was already withdrawn.")
    db.session.commit()


def restore_book(book: Book) -> None:
    try:
        restored = db.session.execute(
            update(Book)
            .where(Book.id == book.id, Book.withdrawn_at.is_not(None))
            .values(withdrawn_at=None)
            .execution_options(synchronize_session=False)
        ).rowcount
    except IntegrityError:  # the partial unique indexes: an identical book is in the catalogue
        db.session.rollback()
        abort(409, f"An identical book was catalogued after book {book.id} was withdrawn.")
    if restored != 1:
        db.session.rollback()
        raise Refused(
            "not-withdrawn", f"Book {book.id} is in the catalogue; there is nothing to restore."
        )
    db.session.commit()


def keep_an_admin(user: User) -> None:
    """Refuse to delete or demote the only admin: nobody could manage the catalogue after it.

    The UPDATE changes nothing; it locks every admin row (and, on SQLite, the database) so that
    two admins demoting each other at once are counted one after the other.
    """
    if user.role != ADMIN:
        return
    db.session.execute(
        update(User)
        .where(User.role == ADMIN)
        .values(role=ADMIN)
        .execution_options(synchronize_session=False)
    )
    admins = db.session.scalar(select(func.count()).where(User.role == ADMIN))
    if admins <= 1:
        db.session.rollback()
        raise Refused("last-admin", "This is the only admin account; make another admin first.")


def delete_account(user: User) -> None:
    keep_an_admin(user)
    # Books still out must come back first: their copies are counted as on loan. (A loan made
    # meanwhile still cannot outlive its user: the foreign key refuses, and that is a 409.)
    if db.session.scalar(
        select(func.count()).where(Loan.user_id == user.id, Loan.return_date.is_(None))
    ):
        db.session.rollback()
        raise Refused(
            "account-has-loans", "This account has books on loan; return them before deleting it."
        )
    db.session.delete(user)  # the returned loans go too (cascade)
    db.session.commit()


def stock_drift() -> list[tuple[int, int, int]]:
    """Books whose `on_loan` differs from the number of active loans that hold them:
    (book id, on_loan, active loans). Empty when the invariant holds."""
    active = (
        select(loan_books.c.book_id, func.count().label("held"))
        .join(Loan, Loan.id == loan_books.c.loan_id)
        .where(Loan.return_date.is_(None))
        .group_by(loan_books.c.book_id)
        .subquery()
    )
    held = func.coalesce(active.c.held, 0)
    rows = db.session.execute(
        select(Book.id, Book.on_loan, held)
        .outerjoin(active, active.c.book_id == Book.id)
        .where(Book.on_loan != held)
        .order_by(Book.id)
    )
    return [tuple(row) for row in rows]


def repair_stock() -> list[tuple[int, int, int]]:
    """Set `on_loan` to the number of active loans for every drifted book; return the drift."""
    drift = stock_drift()
    for book_id, _, held in drift:
        db.session.execute(update(Book).where(Book.id == book_id).values(on_loan=held))
    db.session.commit()
    if drift:
        invalidate("books")  # cached answers still show the drifted availability
    return drift
