"""The data model the whole course keeps: users borrow books through loans."""

from datetime import UTC, date, datetime, timedelta

from flask import current_app
from sqlalchemy import (
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from app.extensions import db

LOAN_PERIOD = timedelta(days=14)

loan_books = Table(
    "loan_books",
    db.metadata,
    Column("loan_id", ForeignKey("loans.id", ondelete="CASCADE"), primary_key=True),
    Column("book_id", ForeignKey("books.id"), primary_key=True),
    Index("ix_loan_books_book_id", "book_id"),  # popularity counts loans per book
)


class User(db.Model):
    __tablename__ = "users"  # not "user": a reserved word in PostgreSQL

    id: Mapped[int] = mapped_column(primary_key=True)
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    date_of_birth: Mapped[date | None]
    address: Mapped[str | None] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(20), default="member")
    # Every token carries the version it was issued under (app/auth.py); raising it ends them all.
    token_version: Mapped[int] = mapped_column(default=0)

    loans: Mapped[list["Loan"]] = relationship(back_populates="user", cascade="all, delete-orphan")

    def set_password(self, password: str) -> None:
        # Only a salted hash is stored, never the password itself.
        method = current_app.config["PASSWORD_HASH_METHOD"]
        self.password_hash = generate_password_hash(password, method=method)
        if self.id is not None:  # a new password for an existing account ends its old tokens
            self.revoke_tokens()

    def revoke_tokens(self) -> None:
        # SET token_version = token_version + 1, in the UPDATE: no stale read, no lost update.
        self.token_version = User.token_version + 1

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)


IN_CATALOGUE = text("withdrawn_at IS NULL")


def unique_in_catalogue(name: str, *columns: str) -> Index:
    """Unique among the books still in the catalogue: a withdrawn book frees its title and ISBN.
    A partial index, which SQLite and PostgreSQL both have."""
    return Index(
        name, *columns, unique=True, sqlite_where=IN_CATALOGUE, postgresql_where=IN_CATALOGUE
    )


class Book(db.Model):
    __tablename__ = "books"
    __table_args__ = (
        unique_in_catalogue("uq_books_title_author", "title", "author"),
        unique_in_catalogue("uq_books_isbn", "isbn"),
        # The database itself refuses to lend a copy that is not there.
        CheckConstraint(
            "copies >= 0 AND on_loan >= 0 AND on_loan <= copies", name="copies_on_loan"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    author: Mapped[str] = mapped_column(String(200))
    genre: Mapped[str] = mapped_column(String(100))
    age_category: Mapped[str] = mapped_column(String(50))
    publish_date: Mapped[date]
    isbn: Mapped[str | None] = mapped_column(String(17))
    copies: Mapped[int] = mapped_column(default=1)
    # Copies out on active loans, changed only by conditional UPDATEs in app/lending.py.
    on_loan: Mapped[int] = mapped_column(default=0)
    # Soft delete: a withdrawn book leaves the catalogue but stays in the loan history.
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    loans: Mapped[list["Loan"]] = relationship(secondary=loan_books, back_populates="books")

    @hybrid_property
    def available(self) -> int:
        return self.copies - self.on_loan


def default_due_date() -> date:
    return date.today() + LOAN_PERIOD


class Loan(db.Model):
    __tablename__ = "loans"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    # Defaults are callables, run for each new row. `default=date.today()` would run once,
    # at import, and stamp every loan with the day the server started.
    loan_date: Mapped[date] = mapped_column(default=date.today)
    due_date: Mapped[date] = mapped_column(default=default_due_date)
    return_date: Mapped[date | None]

    user: Mapped[User] = relationship(back_populates="loans")
    books: Mapped[list[Book]] = relationship(secondary=loan_books, back_populates="loans")


def utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)  # naive UTC: the same on every database


class IdempotencyKey(db.Model):
    """A POST sent with an Idempotency-Key, and the answer it got (app/idempotency.py)."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("owner", "key"),)  # one first request per caller's key

    id: Mapped[int] = mapped_column(primary_key=True)
    owner: Mapped[str] = mapped_column(String(30))  # "user 7", or "anonymous"
    key: Mapped[str] = mapped_column(String(255))
    # SHA-256 of the method, path and body: the same key with another request is refused.
    fingerprint: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now, index=True)
    status: Mapped[int | None]  # None until the first request has its answer
    body: Mapped[str | None] = mapped_column(Text)
    location: Mapped[str | None] = mapped_column(String(2048))
