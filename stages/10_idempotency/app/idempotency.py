"""Idempotency-Key: a client may send a POST again, and it happens at most once.

A client whose POST got no answer (a timeout, a dropped connection) cannot tell whether the
loan was made. Sent again with the same `Idempotency-Key` header (a UUID, say), the retry gets
the first answer back, marked `Idempotent-Replayed: true`, and nothing is done twice.

- The key is claimed by an INSERT into a table that is unique on (owner, key), in the same
  transaction as the route's own write: both are committed, or neither is. Of two requests
  with one key at once, the database makes the second wait for the first, then refuses it.
- An error changed nothing, so nothing is kept: a retry of a refused loan runs again.
- The same key with another body or route is a 422; a retry while the first still runs, a 409.
- Keys last KEY_LIFETIME, per caller; `flask purge-idempotency-keys` deletes older ones.
"""

import hashlib
import re
from datetime import timedelta
from functools import wraps

from flask import Response, current_app, g, request
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import BadRequest, UnprocessableEntity

from app.errors import Refused
from app.extensions import db
from app.models import IdempotencyKey, utc_now

KEY_LIFETIME = timedelta(hours=24)
VALID_KEY = re.compile(r"[!-~]{1,255}")  # visible ASCII: a UUID fits; spaces and controls do not


def idempotent(view):
    """Run the view once per Idempotency-Key; answer a retry with the first answer."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        key = request.headers.get("Idempotency-Key")
        if key is None:
            return view(*args, **kwargs)
        if not VALID_KEY.fullmatch(key):
            raise BadRequest("Idempotency-Key must be 1 to 255 visible ASCII characters.")
        owner = f"user {g.current_user.id}" if "current_user" in g else "anonymous"
        request_line = f"{request.method} {request.path}\n".encode()
        fingerprint = hashlib.sha256(request_line + request.get_data()).hexdigest()
        if (first := claim(owner, key, fingerprint)) is not None:
            return replay(first, fingerprint)
        try:
            response = current_app.make_response(view(*args, **kwargs))
        except Exception:
            db.session.rollback()  # the claim goes with the route's write: a retry runs again
            raise
        db.session.execute(
            update(IdempotencyKey)
            .where(IdempotencyKey.owner == owner, IdempotencyKey.key == key)
            .values(
                status=response.status_code,
                body=response.get_data(as_text=True),
                location=response.headers.get("Location"),
            )
        )
        db.session.commit()
        return response

    wrapper.idempotent = True  # app/openapi.py documents the header and its answers
    return wrapper


def claim(owner: str, key: str, fingerprint: str) -> IdempotencyKey | None:
    """Insert the key, not yet committed: it commits with the route's write. None when the key
    is ours now; the first request's row when another request has it."""
    for _ in range(3):  # the first request may roll back between our INSERT and our SELECT
        expired = IdempotencyKey.created_at < utc_now() - KEY_LIFETIME
        same = (IdempotencyKey.owner == owner) & (IdempotencyKey.key == key)
        db.session.execute(delete(IdempotencyKey).where(same, expired))
        db.session.add(IdempotencyKey(owner=owner, key=key, fingerprint=fingerprint))
        try:
            db.session.flush()  # waits for a request holding the same key, then fails
            return None
        except IntegrityError:
            db.session.rollback()
        if (first := db.session.scalar(select(IdempotencyKey).where(same))) is not None:
            return first
    raise Refused("idempotency-key-in-use", "This Idempotency-Key is busy: try again.")


def replay(first: IdempotencyKey, fingerprint: str) -> Response:
    if first.fingerprint != fingerprint:
        raise UnprocessableEntity(
            "This Idempotency-Key came with another request: use a new key for a new request."
        )
    if first.status is None:
        raise Refused(
            "idempotency-key-in-use",
            "The first request with this Idempotency-Key is still running: try again shortly.",
        )
    headers = {"Idempotent-Replayed": "true"}
    if first.location:
        headers["Location"] = first.location
    return Response(first.body, first.status, headers, mimetype="application/json")


def purge_expired() -> int:
    """Delete the keys older than KEY_LIFETIME; how many there were."""
    deleted = db.session.execute(
        delete(IdempotencyKey).where(IdempotencyKey.created_at < utc_now() - KEY_LIFETIME)
    ).rowcount
    db.session.commit()
    return deleted
