"""HTTP caching, done by the client and the caches on the way: ETag, 304, 412, Cache-Control, Vary.

The server cache (app/caching.py) saves this process work; these headers save the network. Every
200 or 201 JSON answer carries a strong ETag, the SHA-1 of its exact bytes, so an answer served
from the server cache has the same ETag as a fresh one. (Not the answer to a PUT: RFC 9110 lets it
carry one only if the server stored exactly the body it was sent, and this API adds the id.)

- GET with `If-None-Match: <ETag>` is a 304 without a body: "the copy you have is current".
- PUT, PATCH or DELETE with `If-Match: <ETag>` writes only if nobody changed the resource since
  the client read it; otherwise a 412 changes nothing (check_if_match, called by the route).
  If-Match is optional: a client that sends it is protected, one that does not is served as before.

Cache-Control says who may keep a copy: a public read may be kept but checked on each use
(`no-cache`); anything else (about a person, or the answer to a write) is never stored
(`no-store`). A read's answer may depend on who asks, so it varies on Authorization: a cache
never hands one caller's answer to another.
"""

from flask import Flask, Response, abort, current_app, request
from marshmallow import Schema
from sqlalchemy import update
from werkzeug.exceptions import PreconditionFailed
from werkzeug.http import generate_etag

from app.extensions import Base, db

READS = ("GET", "HEAD")


def init_app(app: Flask) -> None:
    app.after_request(add_caching_headers)


def add_caching_headers(response: Response) -> Response:
    reading = request.method in READS
    view = current_app.view_functions.get(request.endpoint)
    personal = getattr(view, "auth", None) in ("token", "admin")
    if "Cache-Control" not in response.headers:  # a route may choose its own
        if reading and not personal:
            response.cache_control.no_cache = True
        else:
            response.cache_control.no_store = True
    if reading:
        response.vary.add("Authorization")
    if response.status_code in (200, 201) and response.is_json and request.method != "PUT":
        response.add_etag()  # strong: a hash of the body, byte for byte
        if reading and request.if_none_match.contains_weak(response.get_etag()[0]):
            response.status_code = 304  # Werkzeug sends the headers without the body
    return response


def check_if_match(row: Base, schema: Schema) -> None:
    """If the request has If-Match: 412, changing nothing, unless it names the ETag of the row's
    current representation (`schema`'s JSON, as a GET answers it) or is `*`.

    Race-safe: the row is locked, then read again, then compared, and the route's write follows
    in the same transaction. Of two clients sending the same ETag at once, one writes; the other
    waits for the lock, then finds a new ETag: 412. The lock is a no-op UPDATE, which every
    database honours; SQLite has no SELECT ... FOR UPDATE, and takes its single writer's lock
    at the transaction's first write.
    """
    if not request.if_match:
        return
    model, row_id = type(row), row.id
    locked = db.session.execute(
        update(model)
        .where(model.id == row_id)
        .values(id=model.id)
        .execution_options(synchronize_session=False)
    ).rowcount
    if locked != 1:  # deleted since the route read it
        db.session.rollback()
        abort(404, f"{model.__name__} {row_id} does not exist.")
    db.session.refresh(row)  # as the last writer left it
    if not request.if_match.contains(generate_etag(schema.jsonify(row).get_data())):
        db.session.rollback()
        raise PreconditionFailed(
            f"{model.__name__} {row_id} changed since you read it (If-Match): read it again."
        )
