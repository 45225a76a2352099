import pytest
from sqlalchemy import func, inspect, select

from app import create_app
from app.demo_data import BOOKS, LOANS, USERS
from app.extensions import db
from app.models import Book, Loan, User


def counts(app) -> tuple[int, int, int]:
    with app.app_context():
        return tuple(
            db.session.scalar(select(func.count(model.id))) for model in (Book, User, Loan)
        )


def test_init_db_creates_the_tables():
    app = create_app("testing")  # no tables yet: the `app` fixture creates them
    result = app.test_cli_runner().invoke(args=["init-db"])
    assert result.exit_code == 0
    assert "Database ready." in result.output
    with app.app_context():
        assert {"users", "books", "loans", "loan_books"} <= set(
            inspect(db.engine).get_table_names()
        )


def test_seed_without_tables_asks_for_init_db():
    app = create_app("testing")
    result = app.test_cli_runner().invoke(args=["seed"])
    assert result.exit_code == 1
    assert "run `flask init-db` first" in result.output


def test_seed_adds_demo_data(app, runner):
    result = runner.invoke(args=["seed"])
    assert result.exit_code == 0
    assert f"Seeded {len(BOOKS)} books, {len(USERS)} users and {len(LOANS)} loans" in result.output
    assert counts(app) == (len(BOOKS), len(USERS), len(LOANS))


def test_seed_is_idempotent(app, runner):
    runner.invoke(args=["seed"])
    result = runner.invoke(args=["seed"])
    assert result.exit_code == 0
    assert "Seeded 0 books, 0 users and 0 loans" in result.output
    assert counts(app) == (len(BOOKS), len(USERS), len(LOANS))


def test_seeded_users_can_use_the_demo_password(app, runner):
    runner.invoke(args=["seed"])
    with app.app_context():
        ada = db.session.scalar(select(User).where(User.email == "ada@example.com"))
        assert ada.check_password("library-demo-password")
        assert ada.role == "member"


def test_create_admin_creates_an_admin_who_can_log_in(app, runner, client, auth):
    result = runner.invoke(
        args=["create-admin", "--email", "Boss@Example.com", "--password", "a long passphrase"]
    )
    assert result.exit_code == 0
    assert "Admin ready: boss@example.com" in result.output
    login = auth.login("boss@example.com", "a long passphrase")
    assert login.status_code == 200
    headers = {"Authorization": f"Bearer {login.get_json()['token']}"}
    assert client.get("/users/me", headers=headers).get_json()["role"] == "admin"


def test_create_admin_promotes_an_existing_user(app, runner):
    runner.invoke(args=["seed"])
    result = runner.invoke(
        args=["create-admin", "--email", "ada@example.com", "--password", "a long passphrase"]
    )
    assert result.exit_code == 0
    with app.app_context():
        ada = db.session.scalar(select(User).where(User.email == "ada@example.com"))
        assert ada.role == "admin"
        assert ada.check_password("a long passphrase")
        assert ada.token_version == 1  # the new password ended her old tokens
        assert db.session.scalar(select(func.count(User.id))) == len(USERS)


@pytest.mark.parametrize(
    ("email", "password", "message"),
    [("not-an-email", "a long passphrase", "email"), ("boss@example.com", "short", "password")],
)
def test_create_admin_validates_like_registration(app, runner, email, password, message):
    result = runner.invoke(args=["create-admin", "--email", email, "--password", password])
    assert result.exit_code == 1
    assert "Invalid admin account" in result.output
    assert message in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count(User.id))) == 0
