"""One place that turns every error into JSON: a problem document (RFC 9457).

Routes raise (abort(404), a schema's ValidationError, InvalidQuery); they never format an error
by hand. Every problem names the request (`instance`, `request_id`) and nothing else: no
exception text, no SQL, no stack trace.
"""

from flask import Flask, Response, jsonify, request
from marshmallow import ValidationError
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import BadRequest, Conflict, HTTPException

from app.extensions import db
from app.observability import request_id


class InvalidQuery(BadRequest):
    """400 naming each query parameter that is not allowed or not valid."""

    description = "The query string is invalid."

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__()
        self.errors = errors


def problem(error: HTTPException, errors: dict | None = None) -> Response:
    body = {
        "type": "about:blank",
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
