"""One place that turns every error into JSON: a problem document (RFC 9457).

Routes raise (abort(404), a schema's ValidationError, InvalidQuery); they never format an error
by hand. Every problem names the request (`instance`, `request_id`) and nothing else: no
exception text, no SQL, no stack trace. Its `type` names the kind of error, so that a client
branches on it, never on the words of `detail`.
"""

from flask import Flask, Response, jsonify, request
from marshmallow import ValidationError
from sqlalchemy.exc import IntegrityError, OperationalError
from werkzeug.exceptions import BadRequest, Conflict, HTTPException, ServiceUnavailable

from app.extensions import db
from app.observability import request_id

PROBLEMS = "https://library.example/problems/"
# Every kind of error, by its `type`: the status it comes with, and when. The first of each
# status is that status's kind; a 409 of the library's rules names its own (Refused).
# docs/reference/errors.md says what a client should do about each.
PROBLEM_TYPES = {
    "validation": (400, "The body or the query string is invalid: `errors` names each field."),
    "unauthorized": (401, "No token, a bad, expired or revoked one; or a wrong password."),
    "forbidden": (403, "The caller's account may not do this."),
    "not-found": (404, "No such resource, or none the caller may see."),
    "method-not-allowed": (405, "The route has no such method: see the Allow header."),
    "conflict": (409, "An identical resource exists (an email, a title and author, an ISBN)."),
    "no-copy-available": (409, "Every copy of a book is on loan."),
    "loan-returned": (409, "The loan was returned: it cannot change any more."),
    "book-already-on-loan": (409, "The book is on this loan already."),
    "loan-full": (409, "The loan holds as many books as a loan may."),
    "last-book-on-loan": (409, "The last book of a loan cannot be removed: return the loan."),
    "copies-on-loan": (409, "Fewer copies than are on loan: keep at least that many."),
    "not-withdrawn": (409, "The book is in the catalogue: there is nothing to restore."),
    "last-admin": (409, "The only admin cannot be deleted or demoted."),
    "account-has-loans": (409, "The account has books on loan: return them first."),
    "idempotency-key-in-use": (409, "The first request with this Idempotency-Key still runs."),
    "precondition-failed": (412, "The resource changed since the caller read it (If-Match)."),
    "too-large": (413, "The body is larger than 1 MiB."),
    "unsupported-media-type": (415, "The body is not application/json."),
    "idempotency-key-reused": (422, "The Idempotency-Key came with another request."),
    "rate-limited": (429, "A rate limit is spent: wait for Retry-After seconds."),
    "server-error": (500, "An unexpected error; quote the request id when reporting it."),
    "unavailable": (503, "The database or Redis does not answer."),
}


def problem_type(error: HTTPException) -> str:
    """The URI of the error's kind; about:blank for a status with no kind of its own."""
    kind = getattr(error, "kind", None)
    kind = kind or next((k for k, (code, _) in PROBLEM_TYPES.items() if code == error.code), None)
    return PROBLEMS + kind if kind else "about:blank"


class Refused(Conflict):
    """409: one of the library's rules says no; `kind` names which (a key of PROBLEM_TYPES)."""

    def __init__(self, kind: str, description: str):
        super().__init__(description)
        self.kind = kind


class InvalidQuery(BadRequest):
    """400 naming each query parameter that is not allowed or not valid."""

    description = "The query string is invalid."

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__()
        self.errors = errors


def problem(error: HTTPException, errors: dict | None = None) -> Response:
    body = {
        "type": problem_type(error),
        "title": error.name,
        "status": error.code,
        "detail": error.description,
        "instance": request.path,
        "request_id": request_id(),
    }
    if errors:
        body["errors"] = errors
    response = jsonify(body)
    response.status_code = error.code
    response.mimetype = "application/problem+json"
    # Keep headers the error carries, such as Allow on a 405.
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def handle_http_exception(error: HTTPException) -> Response:
        # Every abort() and Werkzeug error (404, 405, 413, 415, 429...) lands here, and so does
        # the 500 that Flask raises for an unexpected exception (after logging it with its
        # traceback): its generic text reveals nothing.
        return problem(error, errors=getattr(error, "errors", None))

    @app.errorhandler(ValidationError)
    def handle_validation_error(error: ValidationError) -> Response:
        # A schema's load() refused the body: 400 with the messages for each field.
        return problem(BadRequest("The request body is invalid."), errors=error.messages)

    @app.errorhandler(IntegrityError)
    def handle_integrity_error(error: IntegrityError) -> Response:
        # A unique constraint said no. Never send the database's own message to the client.
        db.session.rollback()
        return problem(Conflict("The request conflicts with an existing resource."))

    @app.errorhandler(OperationalError)
    def handle_database_unavailable(error: OperationalError) -> Response:
        # The database is down, or (SQLite) busy with another writer for longer than its
        # timeout: nothing in the code is broken and a retry may succeed. One warning line
        # without the SQL (it may hold a password hash) and without a traceback.
        db.session.rollback()
        reason = str(error.orig).splitlines()[0] if error.orig else type(error).__name__
        app.logger.warning("database unavailable: %s", reason)
        return problem(ServiceUnavailable("The database is busy or does not answer: retry."))
