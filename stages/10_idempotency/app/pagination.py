"""Collections: every list endpoint answers {"data": [...], "meta": {...}, "links": {...}}."""

from urllib.parse import urlencode

from flask import request
from marshmallow import Schema
from sqlalchemy import Select

from app.errors import InvalidQuery
from app.extensions import db

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


def paginate(query: Select, schema: Schema) -> tuple[dict, dict]:
    """The page's body, and its links again in a `Link` header (RFC 8288) for clients that
    page through headers. A view returns both; @cache.cached keeps both."""
    page = positive_int_arg("page", 1)
    per_page = min(positive_int_arg("per_page", DEFAULT_PER_PAGE), MAX_PER_PAGE)
    result = db.paginate(query, page=page, per_page=per_page, error_out=False)
    last = max(result.pages, 1)
    links = {
        "self": page_url(page, per_page),
        "first": page_url(1, per_page),
        "prev": page_url(min(page - 1, last), per_page) if page > 1 else None,
        "next": page_url(page + 1, per_page) if page < result.pages else None,
        "last": page_url(last, per_page),
    }
    body = {
        "data": schema.dump(result.items, many=True),
        "meta": {"page": page, "per_page": per_page, "total": result.total, "pages": result.pages},
        "links": links,
    }
    link = ", ".join(f'<{url}>; rel="{rel}"' for rel, url in links.items() if url is not None)
    return body, {"Link": link}
