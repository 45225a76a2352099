"""The OpenAPI 3 description at /openapi.json, and interactive docs at /docs.

Each route's docstring holds its operation (YAML after `---`); the schemas come from the
marshmallow schemas the routes use. What every route has in common is added here, from the code:
path parameters, the bearer-token security of token_required/admin_required routes, and the
error responses (all application/problem+json).
"""

import re

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.yaml_utils import load_operations_from_docstring
from flask import Flask, current_app
from flask_swagger_ui import get_swaggerui_blueprint
from marshmallow import Schema, fields

from app.blueprints.books.schemas import BookSchema, PopularBookSchema
from app.blueprints.loans.schemas import LoanSchema
from app.blueprints.users.schemas import AdminUserSchema, LoginSchema, TokenSchema, UserSchema
from app.pagination import DEFAULT_PER_PAGE, MAX_PER_PAGE

TITLE, VERSION = "Library API", "1.0.0"
ERRORS = {
    400: "The body or the query string is invalid",
    401: "No valid bearer token",
    403: "The caller may not do this",
    404: "No such resource (or not yours)",
    409: "Conflicts with the current state",
    413: "The body is larger than 1 MiB",
    415: "The body is not application/json",
    429: "Rate limit exceeded; see Retry-After",
    500: "Unexpected error (logged with the request id)",
}
WRITE_METHODS = {"post", "put", "patch", "delete"}


class ProblemSchema(Schema):
    type = fields.String()
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    instance = fields.String()
    request_id = fields.String()
    errors = fields.Dict(metadata={"description": "Messages for each invalid field or parameter"})


PageMeta = Schema.from_dict(
    {key: fields.Integer() for key in ("page", "per_page", "total", "pages")}, name="PageMeta"
)
PageLinks = Schema.from_dict(
    {key: fields.String(allow_none=True) for key in ("self", "first", "prev", "next", "last")},
    name="PageLinks",
)


def page_schema(name: str, item: type[Schema]) -> type[Schema]:
    return Schema.from_dict(
        {
            "data": fields.List(fields.Nested(item)),
            "meta": fields.Nested(PageMeta),
            "links": fields.Nested(PageLinks),
        },
        name=name,
    )


def build_spec(app: Flask) -> dict:
    spec = APISpec(
        title=TITLE,
        version=VERSION,
        openapi_version="3.0.3",
        plugins=[MarshmallowPlugin()],
        info={"description": "Users borrow books through loans. Errors are RFC 9457 problems."},
    )
    schemas = {
        "Book": BookSchema,
        "User": UserSchema,
        "AdminUser": AdminUserSchema,
        "Login": LoginSchema,
        "Token": TokenSchema,
        "Loan": LoanSchema,
        "Problem": ProblemSchema,
        "PageMeta": PageMeta,
        "PageLinks": PageLinks,
        "BookPage": page_schema("BookPage", BookSchema),
        "UserPage": page_schema("UserPage", UserSchema),
        "LoanPage": page_schema("LoanPage", LoanSchema),
        "PopularBooks": Schema.from_dict(
            {"data": fields.List(fields.Nested(PopularBookSchema))}, name="PopularBooks"
        ),
    }
    for name, schema in schemas.items():
        spec.components.schema(name, schema=schema)
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    spec.components.response("Problem", {"description": "A problem", "content": problem})
    spec.components.response("Unauthorized", {"description": ERRORS[401], "content": problem})
    spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    for component, name, default, description in (
        ("Page", "page", 1, "Starts at 1."),
        ("PerPage", "per_page", DEFAULT_PER_PAGE, f"Clamped to {MAX_PER_PAGE}."),
    ):
        schema = {"type": "integer", "minimum": 1, "default": default}
        spec.components.parameter(
            component, "query", {"name": name, "schema": schema, "description": description}
        )

    for rule in sorted(app.url_map.iter_rules(), key=lambda rule: rule.rule):
        view = app.view_functions[rule.endpoint]
        if rule.endpoint in ("static", "openapi_json") or rule.endpoint.startswith("swagger_ui"):
            continue
        documented = load_operations_from_docstring(view.__doc__ or "")
        operations = {}
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}, key=str.lower):
            operation = documented[method.lower()]  # a KeyError names an undocumented route
            complete(operation, method.lower(), rule, getattr(view, "auth", None), problem)
            operations[method.lower()] = operation
        spec.path(path=re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule), operations=operations)
    return spec.to_dict()


def complete(operation: dict, method: str, rule, auth: str | None, problem: dict) -> None:
    """Add what the code already says: parameters, security and error responses."""
    parameters = operation.setdefault("parameters", [])
    for name in rule.arguments:
        parameters.append(
            {
                "name": name,
                "in": "path",
                "required": True,
                "schema": {"type": "integer", "minimum": 1},
            }
        )
    if auth:
        bearer = {"bearerAuth": []}
        operation["security"] = [{}, bearer] if auth == "optional" else [bearer]
    statuses = {400, 429, 500}
    if rule.arguments:
        statuses.add(404)
    if method in WRITE_METHODS:
        statuses |= {404, 409}
    if "requestBody" in operation:
        statuses |= {413, 415}
    if auth:
        statuses |= {401, 403}
    responses = operation.setdefault("responses", {})
    for status in sorted(statuses):
        responses.setdefault(status, {"description": ERRORS[status], "content": problem})
    for response in responses.values():
        if isinstance(response, dict):  # a string names a response component
            response.setdefault("description", "OK")


def init_app(app: Flask) -> None:
    @app.get("/openapi.json", endpoint="openapi_json")
    def openapi_json():
        if "openapi" not in current_app.extensions:  # built once per app, on first request
            current_app.extensions["openapi"] = build_spec(current_app)
        return current_app.extensions["openapi"]

    app.register_blueprint(
        get_swaggerui_blueprint(
            "/docs",
            "/openapi.json",
            # validatorUrl None: no badge fetched from validator.swagger.io, nothing leaves
            config={"app_name": TITLE, "validatorUrl": None},
        )
    )
