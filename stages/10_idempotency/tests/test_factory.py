import subprocess
import sys
from pathlib import Path

import pytest
from flask import Flask

from app import create_app
from config import ConfigError

STRONG_SECRET = "a" * 64


def test_testing_config_uses_an_in_memory_database():
    app = create_app("testing")
    assert app.testing
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "sqlite://"


def test_no_argument_reads_app_config_from_the_environment(monkeypatch):
    monkeypatch.setenv("APP_CONFIG", "testing")
    assert create_app().testing


def test_default_is_development_with_sqlite_in_the_instance_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("APP_CONFIG", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    # Flask-SQLAlchemy creates the instance folder for a relative SQLite path: this one is in
    # tmp_path, so the test leaves no instance/ in the stage (nor touches a learner's database).
    monkeypatch.setattr(Flask, "auto_find_instance_path", lambda app: str(tmp_path / "instance"))
    app = create_app()
    assert not app.testing
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "sqlite:///library.db"
    with app.app_context():
        from app.extensions import db

        assert db.engine.url.database.startswith(app.instance_path)


def test_a_mapping_overrides_settings_on_top_of_its_base_config():
    app = create_app({"APP_CONFIG": "testing", "SECRET_KEY": "overridden"})
    assert app.testing
    assert app.config["SECRET_KEY"] == "overridden"


def test_database_url_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "sqlite:////tmp/from-environment.db")
    app = create_app("development")
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "sqlite:////tmp/from-environment.db"


def test_unknown_config_name_is_a_clear_error():
    with pytest.raises(ConfigError, match="must be one of: development, testing, production"):
        create_app("staging")


def test_production_starts_with_a_database_url_and_a_strong_secret(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "sqlite://")
    monkeypatch.setenv("SECRET_KEY", STRONG_SECRET)
    app = create_app("production")
    assert not app.testing
    assert not app.debug
    assert app.config["SECRET_KEY"] == STRONG_SECRET


@pytest.mark.parametrize(
    "secret_key",
    [None, "", "dev-only-not-a-secret", "super secret secrets", "changeme", "short-secret"],
)
def test_production_refuses_a_missing_default_or_short_secret(monkeypatch, secret_key):
    monkeypatch.setenv("DATABASE_URL", "sqlite://")
    if secret_key is None:
        monkeypatch.delenv("SECRET_KEY", raising=False)
    else:
        monkeypatch.setenv("SECRET_KEY", secret_key)
    with pytest.raises(ConfigError, match="SECRET_KEY is missing, a known default or shorter"):
        create_app("production")


@pytest.mark.parametrize("name", ["development", "testing"])
def test_no_environment_signs_tokens_with_an_empty_secret(name):
    with pytest.raises(ConfigError, match="SECRET_KEY is empty"):
        create_app({"APP_CONFIG": name, "SECRET_KEY": ""})


def test_production_refuses_to_start_without_a_database_url(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("SECRET_KEY", STRONG_SECRET)
    with pytest.raises(ConfigError, match="DATABASE_URL is not set"):
        create_app("production")


def test_production_without_a_secret_exits_with_a_message_not_a_traceback(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "sqlite://")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    result = subprocess.run(
        [sys.executable, "-c", "from app import create_app; create_app('production')"],
        capture_output=True,
        text=True,
        cwd=Path(__file__).parents[1],
    )
    assert result.returncode == 1
    assert "SECRET_KEY is missing" in result.stderr
    assert "Traceback" not in result.stderr


def test_health_checks_the_database(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
