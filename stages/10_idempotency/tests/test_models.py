from datetime import UTC, date, datetime, timedelta

import time_machine
from sqlalchemy import select

from app import create_app
from app.extensions import db
from app.models import Book, Loan, User


def make_loan() -> Loan:
    user = db.session.scalar(select(User)) or User(
        first_name="Ada", last_name="Lovelace", email="ada@example.com", password_hash="x"
    )
    book = db.session.scalar(select(Book)) or Book(
        title="Dune",
        author="Frank Herbert",
        genre="Science Fiction",
        age_category="Adult",
        publish_date=date(1965, 8, 1),
    )
    loan = Loan(user=user, books=[book])
    db.session.add(loan)
    db.session.commit()
    return loan


def test_loans_made_on_different_days_get_their_own_dates(app):
    # With `default=date.today()` both loans would carry the day the module was imported.
    with app.app_context():
        with time_machine.travel(datetime(2024, 3, 1, 12, tzinfo=UTC), tick=False):
            first = make_loan()
        with time_machine.travel(datetime(2024, 3, 9, 12, tzinfo=UTC), tick=False):
            second = make_loan()
        assert first.loan_date == date(2024, 3, 1)
        assert second.loan_date == date(2024, 3, 9)
        assert first.due_date == date(2024, 3, 15)
        assert second.due_date == date(2024, 3, 9) + timedelta(days=14)
        assert first.return_date is None


def test_passwords_are_stored_as_salted_hashes(app):
    with app.app_context():
        first = User(first_name="A", last_name="B", email="a@example.com")
        second = User(first_name="C", last_name="D", email="c@example.com")
        first.set_password("correct horse battery staple")
        second.set_password("correct horse battery staple")
        assert "correct horse" not in first.password_hash
        assert first.password_hash != second.password_hash  # a new salt for each hash
        assert first.check_password("correct horse battery staple")
        assert not first.check_password("Correct horse battery staple")


def test_new_users_are_members(app):
    with app.app_context():
        make_loan()
        assert db.session.scalar(select(User)).role == "member"


def test_outside_tests_passwords_use_scrypt():
    # Tests use a fast hash; every other configuration keeps Werkzeug's strong default.
    app = create_app({"APP_CONFIG": "development", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    with app.app_context():
        user = User(first_name="A", last_name="B", email="a@example.com")
        user.set_password("correct horse battery staple")
        assert user.password_hash.startswith("scrypt:")
