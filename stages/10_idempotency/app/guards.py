"""Text that a database cannot store is refused up front: a 400, not a 500 from the driver.

PostgreSQL rejects NUL characters in text, and no database takes a lone UTF-16 surrogate
("\\ud800" is valid JSON, but not valid UTF-8). Schemas check types and lengths; this checks
what is left, in the query string and in every string of a JSON body.

Who is calling comes first: on a route that needs a token, a request without credentials gets
the route's 401, whatever its body or query holds. The 400 is for public routes, and for callers
who sent credentials.
"""

from flask import Flask, abort, request


def storable(value) -> bool:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return "\x00" not in value
    if isinstance(value, dict):
        return all(storable(key) and storable(item) for key, item in value.items())
    if isinstance(value, list):
        return all(storable(item) for item in value)
    return True


def init_app(app: Flask) -> None:
    @app.before_request
    def refuse_unstorable_text() -> None:
        view = app.view_functions.get(request.endpoint)
        if getattr(view, "auth", None) in ("token", "admin") and request.authorization is None:
            return  # anonymous: the route's own decorator answers 401, before reading anything
        body = request.get_json(silent=True) if request.is_json else None  # parse errors: later
        if not (storable(request.args.to_dict(flat=False)) and storable(body)):
            abort(400, "Text must be valid UTF-8 without NUL characters.")
