from openapi_spec_validator import validate


def test_the_spec_is_valid_openapi_3(client):
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
    assert {"400", "401", "403", "409", "413", "415", "429", "500"} <= set(create_book["responses"])
    problem = create_book["responses"]["401"]["content"]["application/problem+json"]
    assert problem["schema"] == {"$ref": "#/components/schemas/Problem"}
    assert "security" not in paths["/books/search"]["get"]
    assert paths["/books"]["get"]["security"] == [{}, {"bearerAuth": []}]  # optional


def test_schemas_never_expose_the_password_or_its_hash(client):
    schemas = client.get("/openapi.json").get_json()["components"]["schemas"]
    assert "password_hash" not in str(schemas)
    assert schemas["User"]["properties"]["password"]["writeOnly"] is True
    assert schemas["User"]["properties"]["role"]["readOnly"] is True
    assert schemas["Book"]["properties"]["available"]["readOnly"] is True


def test_interactive_docs_are_served_without_a_cdn(client):
    page = client.get("/docs/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "swagger-ui-bundle.js" in html
    assert "/openapi.json" in html
    assert "https://" not in html  # every asset from this server
    with client.get("/docs/swagger-ui-bundle.js") as bundle:  # a file response: close it
        assert bundle.status_code == 200
