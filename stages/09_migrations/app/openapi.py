"""The OpenAPI 3 description at /openapi.json, and interactive docs at /docs.

Each route's docstring holds its operation (YAML after `---`); the schemas come from the
marshmallow schemas the routes use. What every route has in common is added here, from the code:
path parameters, the bearer-token security of token_required/admin_required routes, and the
error responses (all application/problem+json).

One marshmallow schema both loads and dumps, so it gives the spec one component per use: what a
client sends to create (`BookCreate`), to change some fields (`BookUpdate`: nothing required),
and what it gets back (`Book`: every field it always has is required, no write-only field).
"""

import inspect
import re
from datetime import date

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.yaml_utils import load_operations_from_docstring
from flask import Flask, current_app
from flask_swagger_ui import get_swaggerui_blueprint
from marshmallow import Schema, fields, validate

from app.blueprints.books.routes import BOOK_FIELDS
from app.blueprints.books.schemas import BookSchema, PopularBookSchema
from app.blueprints.loans.schemas import LoanSchema
from app.blueprints.users.schemas import AdminUserSchema, LoginSchema, TokenSchema, UserSchema
from app.errors import PROBLEM_TYPES, PROBLEMS
from app.pagination import DEFAULT_PER_PAGE, MAX_PER_PAGE
from app.query import MAX_IN_VALUES, OPERATORS, integer, text

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
    503: "The database is busy or does not answer: retry shortly",
}
WRITE_METHODS = {"post", "put", "patch", "delete"}
TAGS = {
    "users": "Accounts: register, log in, your profile; admins manage every account.",
    "books": "The catalogue: anyone reads it, admins change it.",
    "loans": "Borrowing and returning books.",
    "health": "Probes for load balancers and orchestrators.",
}
# app/guards.py refuses NUL characters in every string: the spec says so in a pattern.
NO_NUL = r"^[^\x00]*$"
# What str.strip() takes away (the schemas' not_blank), spelled out: regex engines disagree on \s.
BLANK = "".join(f"\\u{ord(c):04x}" for c in map(chr, range(0x10000)) if c.isspace())
# Checks made in a schema's @validates methods, which apispec cannot see (tests prove them).
NOT_BLANK = {
    BookSchema: {"title", "author", "genre", "age_category"},
    UserSchema: {"first_name", "last_name"},
}
# marshmallow's validate.Email, for ASCII addresses, as a pattern: `format: email` checkers
# and regex engines each have their own idea of an address, of \w and of a letter.
EMAIL = (
    r"^[-!#$%&'*+/=?^`{}|~0-9A-Za-z_]+(\.[-!#$%&'*+/=?^`{}|~0-9A-Za-z_]+)*@(localhost|"
    r"([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+([A-Za-z]{2,6}|[A-Za-z0-9-]{2,}))$"
)
# A filter's value, by how app/query.py parses it; `in` takes a comma-separated list.
VALUES = {
    integer: ({"type": "integer", "minimum": -(10**9) + 1, "maximum": 10**9 - 1}, r"-?\d{1,9}"),
    text: ({"type": "string", "maxLength": 200, "pattern": NO_NUL}, r"[^,\x00]{0,200}"),
    date.fromisoformat: ({"type": "string", "format": "date"}, None),  # no exact list pattern
}
RATE_LIMIT_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")


class ProblemSchema(Schema):
    type = fields.String(
        metadata={
            "description": "What kind of error: branch on it, never on `detail`. One of:\n\n"
            + "\n".join(
                f"- `{PROBLEMS}{kind}` ({status}): {when}"
                for kind, (status, when) in PROBLEM_TYPES.items()
            )
            + "\n\n`about:blank` for any other status. A new kind may come: treat an unknown "
            "one by its status."
        }
    )
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


def page_schema(name: str, item: type[Schema] | Schema) -> type[Schema]:
    return Schema.from_dict(
        {
            "data": fields.List(fields.Nested(item)),
            "meta": fields.Nested(PageMeta),
            "links": fields.Nested(PageLinks),
        },
        name=name,
    )


def request_schema(schema_class: type[Schema], **modifiers) -> Schema:
    """What a client sends: the fields the schema loads (`partial=True`: none required)."""
    schema = schema_class()
    return schema_class(exclude=set(schema.fields) - set(schema.load_fields), **modifiers)


def response_schema(schema_class: type[Schema], **modifiers) -> Schema:
    """What a client gets back: the fields the schema dumps."""
    schema = schema_class()
    return schema_class(exclude=set(schema.fields) - set(schema.dump_fields), **modifiers)


def text_rules(self, field, **kwargs) -> dict:
    """What apispec cannot read from a string field: not blank, an email, no NUL (guards.py)."""
    if not isinstance(field, fields.String):
        return {}
    not_blank = any(
        isinstance(field.parent, schema) and field.name in names
        for schema, names in NOT_BLANK.items()
    )
    rules = {"pattern": rf"^[^\x00]*[^{BLANK}\x00][^\x00]*$" if not_blank else NO_NUL}
    if any(isinstance(validator, validate.Email) for validator in field.validators):
        rules.update(pattern=EMAIL, description="An email address (letters beyond ASCII too).")
    if any(isinstance(validator, validate.Regexp) for validator in field.validators):
        del rules["pattern"]  # the field's own pattern (an ISBN's) has no NUL either
    return rules


def filters_parameter(allowed: dict) -> dict:
    """`field__op=value`: one property for each field and operator that app/query.py allows."""
    properties = {}
    for name, field in allowed.items():
        value, item = VALUES[field.parse]
        for op in OPERATORS:
            if op == "in" and item:
                pattern = rf"^{item}(,{item}){{0,{MAX_IN_VALUES - 1}}}$"
                properties[f"{name}__in"] = {"type": "string", "pattern": pattern}
            elif op not in ("in", "like", "ilike") or (op != "in" and field.parse is text):
                properties[f"{name}__{op}"] = value
    return {
        "name": "filters",
        "in": "query",
        "description": "`field__op=value`: eq, ne, lt, le, gt, ge; like and ilike (contains) on "
        f"text; in (up to {MAX_IN_VALUES} comma-separated values). "
        "Example: `genre__eq=Fantasy&publish_date__ge=2000-01-01`.",
        "style": "form",
        "explode": True,
        "schema": {"type": "object", "properties": properties, "additionalProperties": False},
    }


def build_spec(app: Flask) -> dict:
    plugin = MarshmallowPlugin()
    spec = APISpec(
        title=TITLE,
        version=VERSION,
        openapi_version="3.0.3",
        plugins=[plugin],
        info={
            "description": "Users borrow books through loans. Errors are RFC 9457 problems.",
            "license": {"name": "MIT", "url": "https://opensource.org/license/mit"},
            "contact": {"name": "Library API course", "url": "https://library.example/"},
        },
        servers=[{"url": "/", "description": "This server"}],
    )
    plugin.converter.add_attribute_function(text_rules)
    for name, description in TAGS.items():
        spec.tag({"name": name, "description": description})
    requests = {
        "BookCreate": request_schema(BookSchema),
        "BookUpdate": request_schema(BookSchema, partial=True),
        "UserCreate": request_schema(UserSchema),
        "UserUpdate": request_schema(UserSchema, partial=True),
        "AdminUserUpdate": request_schema(AdminUserSchema, partial=True),
        "LoanCreate": request_schema(LoanSchema),
        "Login": LoginSchema,
    }
    user, loan = response_schema(UserSchema), response_schema(LoanSchema)
    sparse_book = BookSchema(partial=True)  # ?fields=: only `id` is sure to be there
    responses = {
        "Book": response_schema(BookSchema),
        "SparseBook": sparse_book,
        "User": user,
        "Token": TokenSchema,
        "Loan": loan,
        "Problem": ProblemSchema,
        "PageMeta": PageMeta,
        "PageLinks": PageLinks,
        "BookPage": page_schema("BookPage", BookSchema),
        "SparseBookPage": page_schema("SparseBookPage", sparse_book),
        "UserPage": page_schema("UserPage", user),
        "LoanPage": page_schema("LoanPage", loan),
        "PopularBook": PopularBookSchema,
        "PopularBooks": Schema.from_dict(
            {"data": fields.List(fields.Nested(PopularBookSchema))}, name="PopularBooks"
        ),
    }
    # The properties an answer may lack; every other property of a response is always there.
    sometimes = {"Book": {"withdrawn_at"}, "SparseBook": set(BOOK_FIELDS) - {"id"}}
    sometimes["SparseBook"] |= {"withdrawn_at"}
    sometimes["Problem"] = {"errors"}
    for name, schema in requests.items():
        spec.components.schema(name, schema=schema)
    for name, schema in responses.items():
        spec.components.schema(name, schema=schema)
        component = spec.components.schemas[name]
        component["required"] = sorted(set(component["properties"]) - sometimes.get(name, set()))
    book_ids = spec.components.schemas["LoanCreate"]["properties"]["book_ids"]
    book_ids["uniqueItems"] = True  # LoanSchema.no_duplicates
    spec.components.schemas["SparseBook"]["description"] = (
        "A book with only the fields named in `?fields=` (and `id`); every field without it."
    )

    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    spec.components.header(
        "X-Request-ID",
        {
            "description": "This request's id, also in its log line (and any problem)",
            "required": True,
            "schema": {"type": "string"},
        },
    )
    spec.components.response(
        "Problem",
        {
            "description": "A problem",
            "content": problem,
            "headers": {"X-Request-ID": "X-Request-ID"},
        },
    )
    spec.components.response("Unauthorized", {"description": ERRORS[401], "content": problem})
    spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    spec.components.header(
        "Retry-After", {"description": "Seconds to wait", "schema": {"type": "integer"}}
    )
    for name in RATE_LIMIT_HEADERS:
        description = f"{name.removeprefix('X-RateLimit-')} of the budget this request used"
        spec.components.header(name, {"description": description, "schema": {"type": "integer"}})
    spec.components.header(
        "Location", {"description": "The new resource", "schema": {"type": "string"}}
    )
    # HTTP caching (app/http_caching.py) and the pages' Link header (app/pagination.py)
    for name, description in (
        (
            "ETag",
            "This answer's version: send it back in If-None-Match to revalidate a copy, or in "
            "If-Match to write only if nobody has changed it since",
        ),
        ("Link", "The page's `links` again, as RFC 8288 links (rel first, next...)"),
    ):
        header = {"description": description, "required": True, "schema": {"type": "string"}}
        spec.components.header(name, header)
    for component, name, description in (
        (
            "IfNoneMatch",
            "If-None-Match",
            "The ETag of the copy you hold: 304, without a body, if it is current.",
        ),
        (
            "IfMatch",
            "If-Match",
            "Optional. The ETag you read: the write happens only if it is still current, else "
            "412 and nothing changes. Without it, the write happens regardless.",
        ),
    ):
        parameter = {"name": name, "description": description, "schema": {"type": "string"}}
        spec.components.parameter(component, "header", parameter)
    for component, name, default, description in (
        ("Page", "page", 1, "Starts at 1."),
        ("PerPage", "per_page", DEFAULT_PER_PAGE, f"A larger value is clamped to {MAX_PER_PAGE}."),
    ):
        schema = {"type": "integer", "minimum": 1, "maximum": 10**9, "default": default}
        spec.components.parameter(
            component, "query", {"name": name, "schema": schema, "description": description}
        )
    names = "|".join(BOOK_FIELDS)
    spec.components.parameter(
        "Fields",
        "query",
        {
            "name": "fields",
            "description": "Comma-separated fields to return (`id` is always included).",
            "schema": {"type": "string", "pattern": f"^({names})(,({names}))*$"},
        },
    )
    spec.components.parameter("Filters", "query", filters_parameter(BOOK_FIELDS))
    spec.components.parameter(
        "Sort",
        "query",
        {
            "name": "sort",
            "description": "Comma-separated fields, `-` for descending: `-publish_date,title`. "
            "Empty: the default order, by id.",
            "schema": {"type": "string", "pattern": f"^(-?({names})(,-?({names}))*)?$"},
        },
    )

    for rule in sorted(app.url_map.iter_rules(), key=lambda rule: rule.rule):
        view = app.view_functions[rule.endpoint]
        if rule.endpoint in ("static", "openapi_json") or rule.endpoint.startswith("swagger_ui"):
            continue
        documented = load_operations_from_docstring(view.__doc__ or "")
        operations = {}
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}, key=str.lower):
            operation = documented[method.lower()]  # a KeyError names an undocumented route
            operation.setdefault("operationId", rule.endpoint.rpartition(".")[2])
            operation.setdefault(
                "description", inspect.cleandoc(view.__doc__).partition("---")[0].strip()
            )
            complete(operation, method.lower(), rule, view, problem)
            operations[method.lower()] = operation
        spec.path(path=re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule), operations=operations)
    return spec.to_dict()


def complete(operation: dict, method: str, rule, view, problem: dict) -> None:
    """Add what the code already says: parameters, security, error responses, HTTP caching."""
    auth = getattr(view, "auth", None)
    parameters = operation.setdefault("parameters", [])
    for name in rule.arguments:
        parameters.append(
            {
                "name": name,
                "in": "path",
                "required": True,
                "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
            }
        )
    # `security: []` when anyone may call: an optional token too, so that a generated client
    # lets an anonymous caller in (most generators read `[{}, bearerAuth]` as "a token needed").
    operation["security"] = [{"bearerAuth": []}] if auth in ("token", "admin") else []
    if auth == "optional":
        operation["description"] += "\n\nA bearer token is optional: with one, admins see more."
    statuses = {400, 429, 500, 503}
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
    if 429 in responses:
        responses[429] = {**responses[429], "headers": {"Retry-After": "Retry-After"}}
        responses[429]["headers"].update({name: name for name in RATE_LIMIT_HEADERS})
    for status in (200, 201):  # every JSON answer but a PUT's has an ETag (http_caching.py)
        content = responses.get(status, {}).get("content", {}).get("application/json")
        if content and method != "put":
            headers = responses[status].setdefault("headers", {})
            headers["ETag"] = "ETag"
            if str(content["schema"]).endswith("Page"):  # paginate() sends the links again
                headers["Link"] = "Link"
    if method == "get":
        parameters.append("IfNoneMatch")
        responses[304] = {
            "description": "Not modified: the copy named by If-None-Match is current",
            "headers": {"ETag": "ETag"},
        }
    if "check_if_match(" in inspect.getsource(view):  # the route honours If-Match
        parameters.append("IfMatch")
        responses[412] = {
            "description": "Changed since you read it (If-Match): nothing was written",
            "content": problem,
        }
    for response in responses.values():
        if isinstance(response, dict):  # a string names a response component
            response.setdefault("description", "OK")
            response["headers"] = {"X-Request-ID": "X-Request-ID", **response.get("headers", {})}


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
