"""Collections: every list endpoint answers {"data": [...], "meta": {...}, "links": {...}}."""

from contextlib import suppress
from hashlib import sha256
from math import ceil
from urllib.parse import urlencode

from flask import current_app, request
from marshmallow import Schema
from sqlalchemy import Select, func, select

from app.caching import key_prefix
from app.errors import InvalidQuery
from app.extensions import cache, db

DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 100
PAGING_PARAMETERS = ("page", "per_page")


def positive_int_arg(name: str, default: int) -> int:
    value = request.args.get(name, str(default))
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= 10**9:
        raise InvalidQuery({name: ["Must be a positive integer."]})
    return int(value)


def reject_unknown_parameters(*allowed: str) -> None:
    if unknown := set(request.args) - set(allowed):
        raise InvalidQuery({name: ["Unknown parameter."] for name in sorted(unknown)})


def page_url(page: int, per_page: int) -> str:
    """This request's absolute URL with another page: filters, sort and fields carry over, and
    per_page is the size actually used (a clamped 500 links on as 100)."""
    args = request.args.to_dict(flat=False)
    args.update(per_page=[str(per_page)], page=[str(page)])
    return f"{request.base_url}?{urlencode(args, doseq=True)}"


def count(query: Select) -> int:
    """How many rows the whole query has, for meta.total: the database reads every one."""
    return db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))


def cached_count(query: Select, group: str) -> int:
    """The query's count, once per generation of the group's cache and per set of filters.

    Every page of one listing shares it, instead of counting the whole listing again for each
    page. The key starts with the group's generation, read before counting: a write to the
    group starts a new generation, so the count is never stale. The filters are the query
    string without page and per_page. Like @cache.cached, it counts without the cache when the
    cache fails.
    """
    filters = sorted(
        (k, v) for k, v in request.args.items(multi=True) if k not in PAGING_PARAMETERS
    )
    try:
        key = f"{key_prefix(group)()}:count:{sha256(repr(filters).encode()).hexdigest()}"
        total = cache.get(key)
    except Exception:  # the backend's own errors (redis.ConnectionError...) vary by backend
        current_app.logger.warning("Cache unavailable: counted without it", exc_info=True)
        return count(query)
    if total is None:
        total = count(query)
        with suppress(Exception):  # not stored: the next page counts again
            cache.set(key, total)
    return total


def paginate(query: Select, schema: Schema, cache_group: str | None = None) -> tuple[dict, dict]:
    """The page's body, and its links again in a `Link` header (RFC 8288) for clients that
    page through headers. A view returns both; @cache.cached keeps both. A listing cached
    under `cache_group` counts its total once per generation (cached_count)."""
    page = positive_int_arg("page", 1)
    per_page = min(positive_int_arg("per_page", DEFAULT_PER_PAGE), MAX_PER_PAGE)
    total = cached_count(query, cache_group) if cache_group else count(query)
    items = db.paginate(query, page=page, per_page=per_page, error_out=False, count=False).items
    pages = ceil(total / per_page)
    last = max(pages, 1)
    links = {
        "self": page_url(page, per_page),
        "first": page_url(1, per_page),
        "prev": page_url(min(page - 1, last), per_page) if page > 1 else None,
        "next": page_url(page + 1, per_page) if page < pages else None,
        "last": page_url(last, per_page),
    }
    body = {
        "data": schema.dump(items, many=True),
        "meta": {"page": page, "per_page": per_page, "total": total, "pages": pages},
        "links": links,
    }
    link = ", ".join(f'<{url}>; rel="{rel}"' for rel, url in links.items() if url is not None)
    return body, {"Link": link}
