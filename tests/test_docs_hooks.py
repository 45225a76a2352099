import json

import pytest
from mkdocs.exceptions import PluginError

import docs_hooks

ROUTES = '''"""Routes."""


def register_routes(app):
    @app.get("/books")
    def list_books():
        return []


class Book:
    def title(self):
        return "Dune"
'''


def test_every_function_and_class_gets_a_file_by_qualified_name(make_stage):
    folder = make_stage("01_factory", {"app/routes.py": ROUTES})
    files = docs_hooks.definitions([folder])
    assert files["01_factory/app/routes/register_routes.list_books.py"] == (
        '@app.get("/books")\ndef list_books():\n    return []\n'  # decorator kept, dedented
    )
    assert files["01_factory/app/routes/Book.title.py"] == 'def title(self):\n    return "Dune"\n'
    assert files["01_factory/app/__init__/create_app.py"] == 'def create_app():\n    return "app"\n'


def test_readme_code_blocks_are_named_by_section(tmp_path, make_stage):
    folder = make_stage(
        "01_factory",
        {"README.md": "# Stage\n\n## Run it\n\n```bash\nflask run\n```\n\n```bash\ncurl x\n```\n"},
    )
    (tmp_path / "README.md").write_text("# Course\n\n## Two commands\n\n```bash\nmake run\n```\n")
    assert docs_hooks.readme_blocks(tmp_path, [folder]) == {
        "root/two-commands-1.md": "```bash\nmake run\n```\n",
        "01_factory/run-it-1.md": "```bash\nflask run\n```\n",
        "01_factory/run-it-2.md": "```bash\ncurl x\n```\n",
    }


def test_a_fence_is_longer_than_any_backtick_run_inside():
    text = "+```bash\n+make run\n+```\n"
    assert docs_hooks.fence(text, "diff") == f"````diff\n{text}````\n"
    assert docs_hooks.fence("x = 1\n", "py") == "```py\nx = 1\n```\n"


def test_stage_pages_get_a_tree_a_diff_or_a_not_yet_note(tmp_path, make_stage):
    make_stage("01_factory")
    make_stage("02_blueprints", {"config.py": "SECRET_KEY = None\n"})
    pages = tmp_path / "docs" / "stages"
    pages.mkdir(parents=True, exist_ok=True)  # make_stage wrote its pages already
    for name in ("01_factory", "02_blueprints", "03_auth", "final"):
        (pages / f"{name}.md").write_text(f"# {name}\n")

    docs_hooks.generate_all(tmp_path)

    generated = tmp_path / "docs" / "generated" / "stages"
    tree = (generated / "01_factory.md").read_text()
    assert "├── app/\n│   └── __init__.py\n" in tree
    diff = (generated / "02_blueprints.md").read_text()
    assert "(../generated/diffs/02_blueprints.diff)" in diff
    assert "```diff\ndiff -ruN a/config.py b/config.py\n" in diff
    assert "`stages/03_auth/` does not exist yet" in (generated / "03_auth.md").read_text()
    assert "`final/` does not exist yet" in (generated / "final.md").read_text()


def test_each_stage_page_gets_its_practise_steps_in_the_planned_order(tmp_path, make_stage):
    make_stage("01_factory")
    make_stage(
        "02_blueprints",
        {
            "app/routes.py": "from app.models import Book\n",
            "app/models.py": "Book = None\n",  # new: written before the routes that import it
        },
    )
    (tmp_path / "docs" / "stages" / "03_auth.md").write_text("# 03\n")

    docs_hooks.generate_all(tmp_path)

    generated = tmp_path / "docs" / "generated" / "practise"
    practise = (generated / "02_blueprints.md").read_text()
    assert (
        "make start STAGE=02   # copies stages/01_factory/'s code to workspace/02_blueprints/"
        in (practise)
    )
    assert "make check STAGE=02" in practise
    assert "1. `app/models.py` (new, 1 line)\n2. `app/routes.py` (new, 1 line)\n" in practise
    first = (generated / "01_factory.md").read_text()
    assert "makes workspace/01_factory/ with no code" in first
    assert "`config.py` (new, 3 lines)" in first
    assert "`stages/03_auth/` does not exist yet" in (generated / "03_auth.md").read_text()


def test_a_stage_identical_to_its_predecessor_says_so(tmp_path, make_stage):
    make_stage("01_factory")
    make_stage("final")  # just copied: nothing to show yet
    docs_hooks.generate_all(tmp_path)
    include = (tmp_path / "docs" / "generated" / "stages" / "final.md").read_text()
    assert "`final` is still identical to `01_factory`" in include
    assert "```diff" not in include


class FakePage:
    def __init__(self, url):
        self.url = url


def test_mermaid_is_added_only_to_pages_with_a_diagram():
    with_diagram = '<pre class="mermaid"><code>flowchart LR</code></pre></body></html>'
    page = docs_hooks.on_post_page(with_diagram, FakePage("stages/01_factory/"), config=None)
    assert page.endswith(
        '<script src="../../assets/javascripts/mermaid-11.17.2.tiny.js"></script>\n</body></html>'
    )
    plain = "<p>text</p></body></html>"
    assert docs_hooks.on_post_page(plain, FakePage(""), config=None) == plain


def test_module_level_assignments_get_a_file_with_the_comments_above(make_stage):
    source = (
        "import os\n\n"
        "# Read per request, not at import:\n"
        "# the first app's value would stick.\n"
        "limit = lambda: os.environ['LIMIT']  # noqa: E731\n"
        "BAD = {\n    'empty': '',\n}\n"
        "a, b = 1, 2\n"
    )
    files = docs_hooks.definitions([make_stage("04_limits_cache", {"app/extensions.py": source})])
    assert files["04_limits_cache/app/extensions/limit.py"] == (
        "# Read per request, not at import:\n# the first app's value would stick.\n"
        "limit = lambda: os.environ['LIMIT']  # noqa: E731\n"
    )
    assert files["04_limits_cache/app/extensions/BAD.py"] == "BAD = {\n    'empty': '',\n}\n"
    assert not any(name.endswith(("/a.py", "/b.py")) for name in files)  # tuples are skipped


FAKE_APP = """import click
from flask import Flask, jsonify, request


def check_if_match():
    pass


def create_app(config=None):
    app = Flask(__name__)

    @app.get("/books/<int:book_id>")
    def get_book(book_id):
        response = jsonify({"id": book_id})
        response.add_etag()
        response.cache_control.no_store = True
        return response.make_conditional(request)

    get_book.auth = "token"

    @app.patch("/books/<int:book_id>")
    def update_book(book_id):
        check_if_match()
        return {}

    @app.delete("/books/<int:book_id>")
    def delete_book(book_id):
        return "", 204

    @app.post("/users/login")
    def login():
        return {"token": "t"}

    # The commands the docs build makes its data with.
    app.cli.command("init-db")(lambda: None)
    app.cli.command("seed")(lambda: None)

    @app.cli.command("create-admin")
    @click.option("--email")
    @click.option("--password")
    def create_admin(email, password):
        pass

    @app.get("/openapi.json")
    def spec():
        responses = {"200": {}, "404": {}, "429": {}, "500": {}}
        get = {"summary": "Get a book", "responses": responses}
        patch = {"summary": "Update a book", "responses": responses}
        delete = {"summary": "Delete a book", "responses": {"204": {}}}
        return {"paths": {"/books/{book_id}": {"get": get, "patch": patch, "delete": delete}}}

    return app
"""


def test_the_endpoint_table_comes_from_the_apps_own_url_map_and_spec(tmp_path, make_stage):
    make_stage("01_factory")
    make_stage("final", {"app/__init__.py": FAKE_APP})
    docs_hooks.generate_api_reference(tmp_path)
    generated = tmp_path / "docs" / "generated"
    assert json.loads((generated / "openapi.json").read_text())["paths"]["/books/{book_id}"]
    assert (generated / "reference" / "endpoints.md").read_text().splitlines()[2] == (
        # 429 and 500 are left out: every route can answer them. No limiter: no rate limit.
        "| `GET` | `/books/{book_id}` | Get a book | token | 200 | 404 |  |  |"
    )


def test_the_http_tables_come_from_asking_the_app(tmp_path, make_stage):
    make_stage("final", {"app/__init__.py": FAKE_APP})
    docs_hooks.generate_api_reference(tmp_path)
    reference = tmp_path / "docs" / "generated" / "reference"
    # Asked with a token (the route is marked "token"), then again with the ETag it answered.
    assert (reference / "http-reads.md").read_text().splitlines()[2:] == [
        "| `/books/{book_id}` | admin | strong | 304 | `no-store` | none |  |"
    ]
    assert (reference / "http-writes.md").read_text().splitlines()[2:] == [
        "| `PATCH` | `/books/{book_id}` | checked: 412 when stale |",  # calls check_if_match
        "| `DELETE` | `/books/{book_id}` | not checked |",
    ]


def test_an_app_that_cannot_be_described_fails_the_build(tmp_path, make_stage):
    make_stage("final", {"app/__init__.py": "raise RuntimeError('broken stage')\n"})
    with pytest.raises(PluginError, match="broken stage"):
        docs_hooks.generate_api_reference(tmp_path)


def test_swagger_ui_is_added_only_to_the_page_that_asks_for_it():
    page = '<head></head><body><div id="swagger-ui"></div></body>'
    output = docs_hooks.on_post_page(page, FakePage("reference/openapi/"), config=None)
    assert '<link rel="stylesheet" href="../../assets/swagger-ui/swagger-ui.css">' in output
    assert '<script src="../../assets/swagger-ui/swagger-ui-bundle.js"></script>' in output
    assert 'url: "../../generated/openapi.json"' in output
    plain = "<head></head><body><p>text</p></body>"
    assert docs_hooks.on_post_page(plain, FakePage(""), config=None) == plain
