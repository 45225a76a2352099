"""final/ with one per-request feature turned off: the rows of the cost ledger (`make bench`).

BENCH_OFF names the feature (empty: final/ exactly as it is). Every switch is either a config
setting final/ already has (RATELIMIT_ENABLED, a log level) or a monkeypatch of one function,
made here before final/'s routes are decorated: final/ has no switch of its own for the
benchmark. BENCH_CACHE is "hit" (final/'s cache as configured) or "miss" (the same cache, but
every cached view misses: see always_miss). Log lines are written as final/gunicorn.conf.py
writes them: one JSON object per line on stderr. Serve with:
    BENCH_OFF="rate limit" gunicorn --chdir bench/contenders 'final_variant:create_app()'
"""

import datetime
import importlib.util
import logging
import logging.config
import os
import runpy
import sys
from collections.abc import Callable
from types import ModuleType

from common import FINAL  # final/ on sys.path
from flask import Flask

FALLBACK = "final_variant: production config refused, serving development with JSON logs"


def no_limiter_timer() -> None:
    """limits' memory storage without its expiry thread (counters then expire when read)."""
    from limits.storage.memory import MemoryStorage

    MemoryStorage._MemoryStorage__schedule_expiry = lambda self: None


def no_cache_decorator() -> None:
    """@cache.cached becomes a no-op: no key, no lookup, no store, no bytes kept."""
    from app.extensions import SuccessOnlyCache

    SuccessOnlyCache.cached = lambda self, *args, **kwargs: lambda view: view


def no_token_check() -> None:
    """@token_optional becomes a no-op: the Authorization header is not looked at."""
    import app.auth

    app.auth.token_optional = lambda view: view
    app.auth.is_admin = lambda: False


def plain_dicts() -> None:
    """marshmallow's dump replaced by a dict of the same fields, dates in ISO format."""
    from app.blueprints.books.schemas import BookSchema

    def dump(self, obj, *, many: bool | None = None):
        names = list(self.dump_fields)

        def one(item) -> dict:
            values = {name: getattr(item, name) for name in names}
            for name, value in values.items():
                if isinstance(value, datetime.date):
                    values[name] = value.isoformat()
            if values.get("withdrawn_at", "") is None:
                del values["withdrawn_at"]
            return values

        return [one(item) for item in obj] if many or self.many else one(obj)

    BookSchema.dump = dump


def rows_not_objects() -> None:
    """Rows from SQLAlchemy Core instead of ORM objects, for the page and for get-by-id."""
    from flask_sqlalchemy.pagination import SelectPagination
    from sqlalchemy import select

    import app.blueprints.books.routes as routes
    from app.extensions import db
    from app.models import Book

    columns = (*Book.__table__.columns, Book.available.label("available"))

    def query_items(self) -> list:
        query = self._query_args["select"].with_only_columns(*columns)
        query = query.limit(self.per_page).offset(self._query_offset)
        return list(self._query_args["session"].execute(query))

    def get_book_or_404(book_id: int):
        row = db.session.execute(select(*columns).where(Book.id == book_id)).first()
        if row is None or row.withdrawn_at is not None:
            routes.abort(404, f"Book {book_id} does not exist.")
        return row

    SelectPagination._query_items = query_items
    routes.get_book_or_404 = get_book_or_404


def no_count() -> None:
    """The listing's COUNT not run: a constant total instead."""
    import app.pagination

    app.pagination.count = lambda query: 10_000


def orjson_provider(app: Flask) -> None:
    """orjson through Flask's JSON provider: the same keys in the same order, compact."""
    import orjson
    from flask.json.provider import DefaultJSONProvider

    class OrjsonProvider(DefaultJSONProvider):
        def dumps(self, obj, **kwargs) -> str:
            return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS).decode()

        def response(self, *args, **kwargs):
            body = orjson.dumps(
                self._prepare_response_obj(args, kwargs), option=orjson.OPT_SORT_KEYS
            )
            return self._app.response_class(body + b"\n", mimetype=self.mimetype)

    app.json = OrjsonProvider(app)


def queue_logging(app: Flask) -> None:
    """The log line handed to a QueueHandler; a listener thread formats and writes it."""
    import queue
    from logging.handlers import QueueHandler, QueueListener

    root = logging.getLogger()  # where final/'s log lines go (configure_logging)
    (handler,) = root.handlers
    to_queue = QueueHandler(queue.SimpleQueue())
    to_queue.filters, handler.filters = handler.filters, []  # the request id, read in the request
    root.handlers = [to_queue]
    QueueListener(to_queue.queue, handler).start()


def raw_query_string_key() -> None:
    """The cache key from the raw query string: no sort, no hash of the sorted pairs."""
    from flask import request
    from flask_caching import Cache

    cached = Cache.cached

    def cheaper(self, *args, key_prefix=None, query_string=False, **kwargs):
        if query_string and callable(key_prefix):
            kwargs["make_cache_key"] = lambda *a, **k: f"{key_prefix()}?{request.query_string}"
        return cached(self, *args, key_prefix=key_prefix, query_string=query_string, **kwargs)

    Cache.cached = cheaper


def count_every_request() -> None:
    """final/ before it cached the COUNT per generation: every page counts."""
    import app.pagination

    app.pagination.cached_count = lambda query, group: app.pagination.count(query)


def view_answer_in_the_cache() -> None:
    """final/ before it cached the bytes sent: Flask-Caching stores what the view returns (a
    Response for get by id, a dict and its headers for a page), and a hit encodes a dict again."""
    import app.extensions

    app.extensions.as_sent = lambda view: view


def keyset() -> None:
    """`WHERE id > last id seen` instead of OFFSET: what `?after=<id>` would run. The generated
    ids have no gaps, so page n starts after id (n - 1) * per_page, as OFFSET does."""
    from flask_sqlalchemy.pagination import SelectPagination

    from app.models import Book

    def query_items(self) -> list:
        query = self._query_args["select"].where(Book.id > self._query_offset).limit(self.per_page)
        return list(self._query_args["session"].execute(query).scalars())

    SelectPagination._query_items = query_items


def always_miss() -> None:
    """Every cached view misses: the key is made (generation included), one lookup finds
    nothing, the view runs and its answer is stored, as on a real miss. Counts still cache."""
    from flask_caching import Cache

    def forced_update(self, *args, **kwargs) -> bool:
        self.get("bench:never-set")  # the lookup a miss makes
        return True

    Cache._forced_update = forced_update


def no_log_line(app: Flask) -> None:
    app.logger.setLevel(logging.WARNING)  # the request's INFO line is not made


def no_request_id_or_log(app: Flask) -> None:
    """observability.py's hooks removed: no timer, no X-Request-ID, no log line."""
    for hooks in (app.before_request_funcs, app.after_request_funcs):
        hooks[None] = [f for f in hooks[None] if f.__module__ != "app.observability"]


def no_limiter_headers(app: Flask) -> None:
    from app.extensions import limiter

    limiter._headers_enabled = False  # counted, but no X-RateLimit-* (one storage read less)


# name: (patch before final/ is imported, config overrides, change to the built app)
Before = Callable[[], None] | None
After = Callable[[Flask], None] | None
VARIANTS: dict[str, tuple[Before, dict, After]] = {
    "": (None, {}, None),
    "nothing": (None, {}, None),  # final/ against itself, in the ledger: the noise
    "rate limit": (None, {"RATELIMIT_ENABLED": False}, None),
    "limiter's timer thread": (no_limiter_timer, {}, None),
    "rate-limit headers": (None, {}, no_limiter_headers),
    "cache lookup": (no_cache_decorator, {}, None),
    "log line": (None, {}, no_log_line),
    "request id and log line": (None, {}, no_request_id_or_log),
    "token check": (no_token_check, {}, None),
    "marshmallow": (plain_dicts, {}, None),
    "ORM objects": (rows_not_objects, {}, None),
    "COUNT": (no_count, {}, None),
    "cheaper cache key": (raw_query_string_key, {}, None),
    "QueueHandler": (None, {}, queue_logging),
    "orjson": (None, {}, orjson_provider),
    "keyset": (keyset, {}, None),
    "COUNT every request": (count_every_request, {}, None),
    "view's answer in the cache": (view_answer_in_the_cache, {}, None),
}


def configure_logging() -> None:
    """final/gunicorn.conf.py's logging: every log line a JSON object on stderr, with its
    request id. bench/run.py serves every contender with the same command line, not with
    final/'s gunicorn.conf.py, so its log config is applied here, in each worker."""
    settings = runpy.run_path(str(FINAL / "gunicorn.conf.py"))
    logging.config.dictConfig(settings["logconfig_dict"])


def unrun_final_package() -> tuple[ModuleType, Callable[[], None]]:
    """final/'s `app` package, registered but with its __init__.py not run yet, and the function
    that runs it. app/__init__.py imports the blueprints, which decorate their views with
    app.auth's and app.extensions' functions as they are imported: a variant changes those
    functions in between, so the routes are decorated with the changed ones."""
    spec = importlib.util.find_spec("app")
    package = importlib.util.module_from_spec(spec)
    sys.modules["app"] = package
    return package, lambda: spec.loader.exec_module(package)


def create_app(off: str | None = None, cache: str | None = None) -> Flask:
    """final/'s app, in the production config (APP_CONFIG from bench/run.py), with `off` off.

    If the production config refuses to start (say, it one day insists on REDIS_URL for limits
    shared by several workers), the development config with production's JSON logs is served
    instead, and the log says so: bench/run.py reads that line into results.json.
    """
    off = os.environ.get("BENCH_OFF", "") if off is None else off
    cache = cache or os.environ.get("BENCH_CACHE", "miss")
    before, overrides, after = VARIANTS[off]
    package, run_package = unrun_final_package()
    if cache == "miss":
        always_miss()
    if before:
        before()
    run_package()
    create_final_app = package.create_app
    configure_logging()
    try:
        app = create_final_app(overrides)
    except SystemExit as refused:  # config.ConfigError
        print(f"{FALLBACK}: {refused}", file=sys.stderr, flush=True)
        app = create_final_app({"APP_CONFIG": "development", "JSON_LOGS": True, **overrides})
    if after:
        after(app)
    return app
