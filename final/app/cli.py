"""Flask CLI commands: `flask --app app init-db`, `seed`, `create-admin`, `check-stock` and
`purge-idempotency-keys`."""

from datetime import date, timedelta

import click
from flask import Flask
from flask.cli import with_appcontext
from flask_migrate import upgrade
from marshmallow import ValidationError
from sqlalchemy import inspect, select

from app import idempotency, lending
from app.auth import ADMIN
from app.blueprints.users.schemas import user_schema
from app.demo_data import BOOKS, DEMO_PASSWORD, LOANS, USERS
from app.extensions import db
from app.models import LOAN_PERIOD, Book, Loan, User


def register_commands(app: Flask) -> None:
    app.cli.add_command(init_db_command)
    app.cli.add_command(seed_command)
    app.cli.add_command(create_admin_command)
    app.cli.add_command(check_stock_command)
    app.cli.add_command(purge_idempotency_keys_command)


@click.command("init-db")
@with_appcontext
def init_db_command():
    """Bring the database schema up to date (`flask db upgrade`); existing data is kept."""
    upgrade()  # the migrations in migrations/, never db.create_all(), outside the tests
    click.echo("Database ready.")


@click.command("seed")
@with_appcontext
def seed_command():
    """Add the demo books, users and loans that are not there yet. Safe to run twice."""
    if not inspect(db.engine).has_table("books"):
        raise click.ClickException("The database has no tables yet: run `flask init-db` first.")

    existing_books = set(db.session.execute(select(Book.title, Book.author)).tuples())
    new_books = [
        Book(**book) for book in BOOKS if (book["title"], book["author"]) not in existing_books
    ]
    existing_emails = set(db.session.scalars(select(User.email)))
    new_users = [User(**user) for user in USERS if user["email"] not in existing_emails]
    for user in new_users:
        user.set_password(DEMO_PASSWORD)
    db.session.add_all(new_books + new_users)
    db.session.flush()

    new_loans = 0
    if db.session.scalar(select(Loan.id).limit(1)) is None:
        for email, titles, loan_date, returned in LOANS:
            user = db.session.scalar(select(User).where(User.email == email))
            books = db.session.scalars(select(Book).where(Book.title.in_(titles))).all()
            loan_date = date.fromisoformat(loan_date)
            return_date = loan_date + timedelta(days=10) if returned else None
            db.session.add(
                Loan(
                    user=user,
                    books=books,
                    loan_date=loan_date,
                    due_date=loan_date + LOAN_PERIOD,
                    return_date=return_date,
                )
            )
            if not returned:
                for book in books:
                    lending.take_copy(book.id)  # the same rule as a borrow through the API
            new_loans += 1
    db.session.commit()
    click.echo(
        f"Seeded {len(new_books)} books, {len(new_users)} users and {new_loans} loans "
        f"(demo password: {DEMO_PASSWORD})."
    )


@click.command("create-admin")
@click.option("--email", required=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@with_appcontext
def create_admin_command(email: str, password: str):
    """Create an admin account, or make an existing account an admin with this password."""
    try:
        data = user_schema.load(
            {"first_name": "Library", "last_name": "Admin", "email": email, "password": password}
        )
    except ValidationError as error:
        raise click.ClickException(f"Invalid admin account: {error.messages}") from None
    user = db.session.scalar(select(User).where(User.email == data["email"]))
    if user is None:
        user = User(first_name=data["first_name"], last_name=data["last_name"], email=data["email"])
        db.session.add(user)
    user.set_password(data["password"])
    user.role = ADMIN
    db.session.commit()
    click.echo(f"Admin ready: {user.email}")


@click.command("check-stock")
@click.option("--repair", is_flag=True, help="Set on_loan to the number of active loans.")
@with_appcontext
def check_stock_command(repair: bool):
    """Report books whose copies on loan differ from their active loans (exit 1 if any)."""
    drift = lending.repair_stock() if repair else lending.stock_drift()
    for book_id, on_loan, held in drift:
        click.echo(f"book {book_id}: on_loan={on_loan}, active loans={held}")
    if not drift:
        click.echo("Stock is consistent: every book's on_loan matches its active loans.")
    elif repair:
        click.echo(f"Repaired {len(drift)} book(s).")
    else:
        raise click.ClickException(f"{len(drift)} book(s) drifted; run with --repair to fix.")


@click.command("purge-idempotency-keys")
@with_appcontext
def purge_idempotency_keys_command():
    """Delete the Idempotency-Keys older than a day (run it daily, from cron or a timer)."""
    click.echo(f"Deleted {idempotency.purge_expired()} expired Idempotency-Key(s).")
