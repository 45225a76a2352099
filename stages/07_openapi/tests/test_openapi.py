import re

import pytest

from tests.conftest import BOOK, USER


def test_the_spec_is_valid_openapi_3(client):
    # Imported here, not at the top: the validators load jsonschema and its friends, two
    # seconds that every other test of the stage would wait for before the first one runs.
    from openapi_spec_validator import validate

    response = client.get("/openapi.json")
    assert response.status_code == 200
    spec = response.get_json()
    validate(spec)  # raises on any violation of the OpenAPI 3.0 schema
    assert spec["info"]["title"] == "Library API"


def test_every_route_and_method_is_documented(app, client):
    paths = client.get("/openapi.json").get_json()["paths"]
    documented = {(path, method.upper()) for path, item in paths.items() for method in item}
    routes = {
        (rule.rule.replace("<int:", "{").replace(">", "}"), method)
        for rule in app.url_map.iter_rules()
        if rule.endpoint not in ("static", "openapi_json")
        and not rule.endpoint.startswith("swagger_ui")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert documented == routes


def test_protected_routes_declare_bearer_auth_and_their_errors(client):
    paths = client.get("/openapi.json").get_json()["paths"]
    create_book = paths["/books"]["post"]
    assert create_book["security"] == [{"bearerAuth": []}]
    assert {"400", "401", "403", "409", "415", "429", "500"} <= set(create_book["responses"])
    problem = create_book["responses"]["401"]["content"]["application/problem+json"]
    assert problem["schema"] == {"$ref": "#/components/schemas/Problem"}
    assert paths["/books/search"]["get"]["security"] == []  # public: no token needed
    assert paths["/users/login"]["post"]["security"] == []
    assert paths["/books"]["get"]["security"] == []  # a token is optional: anyone may call
    assert "token is optional" in paths["/books"]["get"]["description"]


def test_schemas_never_expose_the_password_or_its_hash(client):
    schemas = client.get("/openapi.json").get_json()["components"]["schemas"]
    assert "password_hash" not in str(schemas)
    assert "password" not in schemas["User"]["properties"]
    assert schemas["UserCreate"]["properties"]["password"]["writeOnly"] is True
    assert "role" not in schemas["UserCreate"]["properties"]  # no self-made admins
    assert schemas["Book"]["properties"]["available"]["readOnly"] is True


def operations(spec: dict):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def test_every_operation_has_an_id_a_description_and_a_declared_tag(client):
    spec = client.get("/openapi.json").get_json()
    ids = [operation["operationId"] for _, _, operation in operations(spec)]
    assert len(ids) == len(set(ids))  # unique: a generated client names a function after each
    declared = {tag["name"] for tag in spec["tags"] if tag["description"]}
    for _, _, operation in operations(spec):
        assert operation["description"] and operation["summary"]
        assert set(operation["tags"]) <= declared
    assert spec["info"]["license"]["name"] == "MIT"  # as the repository's LICENSE says
    assert spec["servers"] == [{"url": "/", "description": "This server"}]


def test_public_operations_need_no_token_and_say_so(client):
    spec = client.get("/openapi.json").get_json()
    public = {(p, m) for p, m, operation in operations(spec) if operation["security"] == []}
    assert {("/users", "post"), ("/users/login", "post"), ("/books/search", "get")} <= public
    for path, method in public - {("/users/login", "post")}:  # a wrong password is a 401
        operation = spec["paths"][path][method]
        if "token is optional" not in operation["description"]:  # else a bad token is a 401
            assert "401" not in operation["responses"]


def test_requests_and_responses_have_their_own_schemas(client):
    spec = client.get("/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    for path, method, operation in operations(spec):
        if method == "patch":  # a partial update: any field alone is a valid body
            body = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            assert "required" not in schemas[body.rpartition("/")[2]], path
    for name in ("Book", "User", "Loan", "Token", "PageMeta", "PopularBook"):
        properties = schemas[name]["properties"]
        assert not any(p.get("writeOnly") for p in properties.values()), name
        # a client can rely on every field it is always sent
        assert set(properties) - set(schemas[name]["required"]) <= {"withdrawn_at"}, name
    for name in ("BookCreate", "BookUpdate", "UserCreate", "UserUpdate", "LoanCreate"):
        assert not any(p.get("readOnly") for p in schemas[name]["properties"].values()), name
    assert schemas["SparseBook"]["required"] == ["id"]  # ?fields= leaves the others out
    assert schemas["BookCreate"]["required"] == [
        "age_category",
        "author",
        "genre",
        "publish_date",
        "title",
    ]


@pytest.mark.parametrize(
    ("schema", "path", "valid", "field", "bad"),
    [
        ("BookCreate", "/books", BOOK, "title", " "),
        ("BookCreate", "/books", BOOK, "genre", "\t"),
        ("UserCreate", "/users", USER, "first_name", " "),
        ("UserCreate", "/users", USER, "email", "not-an-email"),
        ("UserCreate", "/users", USER, "password", "Du\x00ne-Du\x00ne"),
        ("LoanCreate", "/loans", {"book_ids": [1]}, "book_ids", [1, 1]),
    ],
)
def test_the_spec_refuses_what_the_validators_refuse(
    client, admin, book, schema, path, valid, field, bad
):
    from openapi_schema_validator import OAS30Validator  # two seconds to import: see above

    spec = client.get("/openapi.json").get_json()
    validator = OAS30Validator(
        spec["components"]["schemas"][schema], format_checker=OAS30Validator.FORMAT_CHECKER
    )
    assert validator.is_valid(valid)
    assert not validator.is_valid({**valid, field: bad})
    response = client.post(path, json={**valid, field: bad}, headers=admin)
    assert response.status_code == 400


def test_query_rules_are_in_the_spec(client):
    spec = client.get("/openapi.json").get_json()
    parameters = spec["components"]["parameters"]
    assert parameters["Page"]["schema"]["maximum"] == 10**9
    assert client.get(f"/books?page={10**9 + 1}").status_code == 400
    pattern = parameters["Fields"]["schema"]["pattern"]
    assert re.fullmatch(pattern, "title,author") and not re.fullmatch(pattern, "")
    assert client.get("/books?fields=").status_code == 400
    assert client.get("/books?fields=title,author").status_code == 200


def test_created_and_rate_limited_answers_document_their_headers(client):
    paths = client.get("/openapi.json").get_json()["paths"]
    created = paths["/books"]["post"]["responses"]["201"]["headers"]
    assert created["Location"] == {"$ref": "#/components/headers/Location"}
    limited = paths["/books"]["post"]["responses"]["429"]["headers"]
    assert {"Retry-After", "X-RateLimit-Limit", "X-RateLimit-Remaining"} <= set(limited)


def test_conditional_requests_are_documented_as_they_behave(client, admin, book, shelf):
    paths = client.get("/openapi.json").get_json()["paths"]
    one, page = paths["/books/{book_id}"], paths["/books"]["get"]
    url = f"/books/{book['id']}"

    read = client.get(url)
    assert "ETag" in one["get"]["responses"]["200"]["headers"] and read.headers["ETag"]
    assert "Link" in page["responses"]["200"]["headers"] and client.get("/books").headers["Link"]
    assert {"$ref": "#/components/parameters/IfNoneMatch"} in one["get"]["parameters"]
    assert client.get(url, headers={"If-None-Match": read.headers["ETag"]}).status_code == 304
    assert "ETag" in one["get"]["responses"]["304"]["headers"]

    stale = {**admin, "If-Match": read.headers["ETag"]}
    assert client.patch(url, json={"copies": 5}, headers=admin).status_code == 200
    for method in ("put", "patch", "delete"):  # the routes that call check_if_match
        assert {"$ref": "#/components/parameters/IfMatch"} in one[method]["parameters"]
        assert "412" in one[method]["responses"]
    assert client.patch(url, json={"copies": 1}, headers=stale).status_code == 412
    assert client.delete(url, headers=stale).status_code == 412
    me = paths["/users/me"]  # PATCH checks If-Match, DELETE does not
    assert "412" in me["patch"]["responses"] and "412" not in me["delete"]["responses"]


def test_interactive_docs_are_served_without_a_cdn(client):
    page = client.get("/docs/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "swagger-ui-bundle.js" in html
    assert "/openapi.json" in html
    assert "https://" not in html  # every asset from this server
    with client.get("/docs/swagger-ui-bundle.js") as bundle:  # a file response: close it
        assert bundle.status_code == 200
