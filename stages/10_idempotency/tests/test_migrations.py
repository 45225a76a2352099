from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from app import create_app
from app.extensions import db


def migrated_app(tmp_path):
    app = create_app(
        {"APP_CONFIG": "testing", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/m.db"}
    )
    with app.app_context():
        upgrade()
    return app


def test_the_migrations_build_the_schema_the_models_describe(tmp_path):
    app = migrated_app(tmp_path)
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, db.metadata) == []  # nothing left to migrate


def test_the_migrations_go_down_as_well_as_up(tmp_path):
    app = migrated_app(tmp_path)
    with app.app_context():
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) == {"alembic_version"}
        upgrade()
        assert {"users", "books", "loans", "loan_books"} <= set(
            inspect(db.engine).get_table_names()
        )


def test_accounts_made_before_0002_get_token_version_0(tmp_path):
    app = create_app(
        {"APP_CONFIG": "testing", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/v.db"}
    )
    with app.app_context():
        upgrade(revision="0001")
        db.session.execute(
            text(
                "INSERT INTO users (first_name, last_name, email, password_hash, role) "
                "VALUES ('Ada', 'Lovelace', 'ada@example.com', 'not a real hash', 'member')"
            )
        )
        db.session.commit()
        upgrade()
        assert db.session.scalar(text("SELECT token_version FROM users")) == 0


def test_init_db_runs_the_migrations(tmp_path):
    app = create_app(
        {"APP_CONFIG": "testing", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/i.db"}
    )
    result = app.test_cli_runner().invoke(args=["init-db"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert "alembic_version" in inspect(db.engine).get_table_names()


def test_the_migrations_go_down_and_up_with_data_in_the_tables(tmp_path):
    app = migrated_app(tmp_path)
    assert app.test_cli_runner().invoke(args=["seed"]).exit_code == 0
    with app.app_context():
        downgrade(revision="0002")  # 0003 rebuilds the books table that loans point at
        upgrade()
        assert "_alembic_tmp_books" not in inspect(db.engine).get_table_names()
        indexes = {index["name"] for index in inspect(db.engine).get_indexes("books")}
        assert {"uq_books_isbn", "uq_books_title_author"} <= indexes
        assert db.session.scalar(text("SELECT count(*) FROM loan_books")) > 0
