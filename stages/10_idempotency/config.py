"""Configuration classes, one per environment.

Secrets and URLs come from the environment, read when the app is created (not at import),
so a test can change the environment and build a new app.
"""

import os
from datetime import timedelta

DEV_SECRET_KEY = "dev-only-not-a-secret"

# Values that must never sign anything in production: empty, the dev default, and the
# placeholders that tutorials (including this course's source material) hard-code.
KNOWN_INSECURE_SECRET_KEYS = {
    "",
    DEV_SECRET_KEY,
    "dev",
    "secret",
    "changeme",
    "super secret secrets",
}
MIN_SECRET_KEY_LENGTH = 32


class ConfigError(SystemExit):
    """A setting that must not run. Exits with its message, no traceback."""


class Config:
    SECRET_KEY = DEV_SECRET_KEY
    # A relative SQLite path: Flask-SQLAlchemy puts the file in the instance folder.
    SQLALCHEMY_DATABASE_URI = "sqlite:///library.db"
    PASSWORD_HASH_METHOD = "scrypt"  # Werkzeug's strongest; slow on purpose
    TOKEN_LIFETIME = timedelta(hours=1)  # access tokens are signed with SECRET_KEY

    # Flask-Limiter: limits per client address. Counters live in memory unless REDIS_URL is set.
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_DEFAULT = "200 per hour"  # every route without a limit of its own
    RATELIMIT_WRITE = "50 per hour"  # shared by all POST, PUT, PATCH and DELETE routes
    LOGIN_RATE_LIMIT = "5 per 10 minutes"  # every login attempt counts, good or bad

    # Flask-Caching: in this process's memory unless REDIS_URL is set.
    CACHE_TYPE = "SimpleCache"
    CACHE_DEFAULT_TIMEOUT = 300

    MAX_CONTENT_LENGTH = 1024 * 1024  # a bigger body is a 413, before anything reads it

    @classmethod
    def from_environment(cls) -> dict:
        """Settings taken from environment variables, when they are set."""
        settings = {
            "SQLALCHEMY_DATABASE_URI": os.environ.get("DATABASE_URL"),
            "SECRET_KEY": os.environ.get("SECRET_KEY"),
        }
        if redis_url := os.environ.get("REDIS_URL"):
            # Shared by every worker process: one set of counters, one cache.
            settings.update(
                RATELIMIT_STORAGE_URI=redis_url, CACHE_TYPE="RedisCache", CACHE_REDIS_URL=redis_url
            )
        return {key: value for key, value in settings.items() if value}

    @classmethod
    def check(cls, config: dict) -> None:
        """Refuse to start with settings that are unsafe in this environment."""
        if not config.get("SECRET_KEY"):  # HMAC accepts an empty key: anyone could sign tokens
            raise ConfigError("SECRET_KEY is empty. Set one, or leave it unset outside production.")


class DevelopmentConfig(Config):
    pass


class TestingConfig(Config):
    TESTING = True
    SQLALCHEMY_DATABASE_URI = "sqlite://"  # in memory: every app gets a fresh, empty database
    PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"  # weak but fast: tests hash hundreds of passwords

    @classmethod
    def from_environment(cls) -> dict:
        return {}  # tests never touch a database named in the environment


class ProductionConfig(Config):
    SECRET_KEY = None
    SQLALCHEMY_DATABASE_URI = None

    @classmethod
    def check(cls, config: dict) -> None:
        if not config.get("SQLALCHEMY_DATABASE_URI"):
            raise ConfigError(
                "DATABASE_URL is not set. In production, point it at your database, "
                "e.g. postgresql+psycopg://user:password@host/library"
            )
        secret_key = config.get("SECRET_KEY") or ""
        if secret_key in KNOWN_INSECURE_SECRET_KEYS or len(secret_key) < MIN_SECRET_KEY_LENGTH:
            raise ConfigError(
                "SECRET_KEY is missing, a known default or shorter than "
                f"{MIN_SECRET_KEY_LENGTH} characters. Generate one with: "
                "python -c 'import secrets; print(secrets.token_hex(32))'"
            )


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def get_config(name: str) -> type[Config]:
    try:
        return CONFIGS[name]
    except KeyError:
        raise ConfigError(
            f"Unknown configuration {name!r}; APP_CONFIG must be one of: {', '.join(CONFIGS)}"
        ) from None
