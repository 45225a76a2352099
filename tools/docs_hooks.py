"""MkDocs hooks (mkdocs.yml `hooks:`): regenerate docs/generated/ before every build.

Pages never paste code or diffs by hand; they include these generated files with `--8<--`, so a
page cannot show a stale diff, and a renamed test or function breaks the --strict build instead of
silently showing old code.

    docs/generated/diffs/<stage>.diff, .stat.md  the diff against the previous stage (stages.py)
    docs/generated/stages/<stage>.md             what a stage page's "Diff" tab includes
    docs/generated/practise/<stage>.md           its "Practise" section: the commands, and the
                                                 files to write in the order workspace.plan() gives
    docs/generated/code/<stage>/<file>/<name>.py one function or class, to include by name
    docs/generated/readme/<readme>/<section>-<n>.md  the n-th code block of a README section
    docs/generated/openapi.json                  final/'s OpenAPI description, from its own app
    docs/generated/reference/endpoints.md        final/'s endpoint table, from its url_map
    docs/generated/reference/http-reads.md       final/'s reads, asked for real: ETag, 304, ...
    docs/generated/reference/http-writes.md      final/'s writes, and which check If-Match

The last four come from `create_app("testing")` of the newest folder, run in a child process
(`python tools/docs_hooks.py describe final`): every stage has a package called `app`, and the
docs build must not import one into its own process.
"""

import ast
import importlib
import inspect
import json
import re
import secrets
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.utils import get_relative_url

import stages  # tools/stages.py: mkdocs puts this file's folder on sys.path while loading it

# tools/workspace.py. Not `import workspace`: ruff sorts that import as first-party once a
# learner's workspace/ folder exists and as third-party before, so lint would flip.
workspace = importlib.import_module("workspace")

GENERATED = Path("docs/generated")
# @mermaid-js/tiny from npm, MIT; its header says how to upgrade it.
MERMAID_JS = "assets/javascripts/mermaid-11.17.2.tiny.js"
# Swagger UI for the OpenAPI page: flask-swagger-ui's own dist files (Apache-2.0), the same ones
# final/ serves at /docs, copied into the built site by on_post_build. No CDN.
SWAGGER_UI = "assets/swagger-ui"
SWAGGER_UI_FILES = ("swagger-ui-bundle.js", "swagger-ui.css", "LICENSE")
OPENAPI_JSON = "generated/openapi.json"  # relative to docs/, published as a static file
# Responses every operation can give (429: unless exempt): the page says so once, not per row.
EVERY_ROUTE_ERRORS = {"429", "500"}
METHOD_ORDER = ("GET", "POST", "PUT", "PATCH", "DELETE")


def on_pre_build(config) -> None:
    # Runs before MkDocs collects the files, so the pages and snippets see fresh output.
    root = Path(config.config_file_path).parent
    generate_all(root)
    generate_api_reference(root)


def on_files(files, config):
    # The endpoint table is included into a page by pymdownx.snippets; it is not a page itself.
    for file in list(files):
        if file.src_uri.startswith("generated/reference/"):
            files.remove(file)
    return files


def on_post_page(output: str, page, config) -> str:
    return add_swagger_ui(add_mermaid(output, page), page)


def add_mermaid(output: str, page) -> str:
    # Material uses window.mermaid if it exists and fetches it from a CDN otherwise, which no
    # machine of this course can reach. Only pages with a diagram pay for the 2.5 MB script.
    if 'class="mermaid"' not in output:
        return output
    script = f'<script src="{get_relative_url(MERMAID_JS, page.url)}"></script>\n'
    head, body_end, tail = output.rpartition("</body>")
    return head + script + body_end + tail


def add_swagger_ui(output: str, page) -> str:
    """A page with `<div id="swagger-ui">` gets Swagger UI, pointed at the generated spec."""
    if 'id="swagger-ui"' not in output:
        return output
    assets = get_relative_url(SWAGGER_UI, page.url)
    spec = get_relative_url(OPENAPI_JSON, page.url)
    css = f'<link rel="stylesheet" href="{assets}/swagger-ui.css">\n'
    script = (
        f'<script src="{assets}/swagger-ui-bundle.js"></script>\n'
        "<script>\n"
        # No "Try it out": this static site has no API behind it. No validator badge: it would
        # send the spec to validator.swagger.io.
        f'SwaggerUIBundle({{url: "{spec}", dom_id: "#swagger-ui", validatorUrl: null, '
        "supportedSubmitMethods: [], deepLinking: true, docExpansion: 'list'});\n"
        "</script>\n"
    )
    head, head_end, rest = output.partition("</head>")
    output = head + css + head_end + rest
    head, body_end, tail = output.rpartition("</body>")
    return head + script + body_end + tail


def on_post_build(config) -> None:
    import flask_swagger_ui  # installed with final/'s requirements

    dist = Path(flask_swagger_ui.__file__).parent / "dist"
    target = Path(config.site_dir) / SWAGGER_UI
    target.mkdir(parents=True, exist_ok=True)
    for name in SWAGGER_UI_FILES:
        shutil.copyfile(dist / name, target / name)


def generate_all(root: Path) -> None:
    pairs = {pair.name: pair for pair in stages.generate(root)}
    folders = stages.chain(root)
    pages = {path.stem for path in (root / "docs" / "stages").glob("*.md") if path.stem != "index"}
    includes = {}
    for name in sorted(pages | {folder.name for folder in folders}):
        if name in pairs:
            includes[f"{name}.md"] = diff_include(pairs[name])
        elif folders and name == folders[0].name:
            includes[f"{name}.md"] = tree_include(folders[0])
        else:
            includes[f"{name}.md"] = missing_include(name)
    stages.write_files(root / GENERATED / "stages", includes)
    practise = {}
    for name in sorted(pages | {folder.name for folder in folders}):
        found = [index for index, folder in enumerate(folders) if folder.name == name]
        if found:
            previous = folders[found[0] - 1] if found[0] else None
            practise[f"{name}.md"] = practise_include(root, previous, folders[found[0]])
        else:
            practise[f"{name}.md"] = missing_include(name)
    stages.write_files(root / GENERATED / "practise", practise)
    stages.write_files(root / GENERATED / "code", definitions(folders))
    stages.write_files(root / GENERATED / "readme", readme_blocks(root, folders))


def fence(text: str, language: str) -> str:
    """A code fence longer than any backtick run inside: a diff of a README has ``` lines."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    marks = "`" * max(3, longest + 1)
    return f"{marks}{language}\n{text}{marks}\n"


def diff_include(pair: stages.PairDiff) -> str:
    if not pair.changes:  # a stage folder just copied from its predecessor
        return (
            '!!! note "No changes yet"\n\n'
            f"    `{pair.name}` is still identical to `{pair.older.name}`.\n"
        )
    # The link is relative to docs/stages/<name>.md, the page whose "Diff" tab includes this.
    return (
        f"Generated at build time from the two folders: "
        f"[download `{pair.name}.diff`](../generated/diffs/{pair.name}.diff).\n\n"
        f"{pair.stat_markdown()}\n{fence(pair.text, 'diff')}"
    )


def practise_include(root: Path, previous: Path | None, stage: Path) -> str:
    """The commands that practise a stage, and the files to write in the order that
    tools/workspace.py's plan() gives: the order `make start` prints and the sweep in
    tests/test_workspace.py proves (no step breaks a test that passed before it)."""
    number = workspace.short_name(stage)
    here = stage.relative_to(root).as_posix()
    mine = f"workspace/{stage.name}/"
    if previous is None:
        copied = f"makes {mine} with no code (workspace/ is git-ignored)"
    else:
        copied = f"copies {previous.relative_to(root).as_posix()}/'s code to {mine}"
    lines = [
        "```bash",
        f"make start STAGE={number}   # {copied}",
        f"make check STAGE={number}   # runs {here}/tests/ against your code in {mine}",
        "```",
        "",
        f"`make start` also brings {stage.name}'s `README.md`, `tests/` and `pyproject.toml` "
        "(read the README first), and never overwrites a copy that exists "
        f"(`.venv/bin/python tools/workspace.py start {number} --force` starts over). "
        "Then write these files in this order, the one `make start` prints: no step breaks a "
        "test that passed before it (`tests/test_workspace.py` writes the reference's files in "
        "this order and checks, on a sample of the tests, that the number passing never drops).",
        "",
    ]
    for index, step in enumerate(workspace.plan(previous, stage), 1):
        files = " and ".join(f"`{change.path}` ({size(change)})" for change in step.changes)
        reason = workspace.explain(stage, step)
        lines.append(f"{index}. {files}" + (f" — {reason}" if reason else ""))
    lines += [
        "",
        "Run `make check` after each step. The first run fails in what this stage adds, and its "
        "last lines name each missing piece with the step that writes it (a route that answers "
        "404, a module or a name not written yet, a setting `config.py` lacks), then the first "
        "failing test to read. Arguments after the stage go to pytest: "
        f"`.venv/bin/python tools/workspace.py check {number} -k NAME` runs only the tests "
        "whose name contains NAME.",
    ]
    return "\n".join(lines) + "\n"


def size(change: stages.FileChange) -> str:
    """How much a step changes in a file: "new, 95 lines", "changed, +20 −6", "deleted"."""
    if change.status == "removed":
        return "deleted"
    if change.status == "added":
        return f"new, {change.added} line{'s' if change.added != 1 else ''}"
    return f"changed, +{change.added} −{change.removed}"


def tree_include(folder: Path) -> str:
    return fence(file_tree(folder), "text")


def missing_include(name: str) -> str:
    folder = "final/" if name == "final" else f"stages/{name}/"
    return (
        '!!! note "Not written yet"\n\n'
        f"    `{folder}` does not exist yet. When it does, this tab shows its diff against the\n"
        "    previous stage, generated from the folders at build time.\n"
    )


def file_tree(folder: Path) -> str:
    """The stage's files as a tree, like the `tree` command, ignoring local by-products."""
    tree: dict = {}
    for path in stages.stage_files(folder):
        node = tree
        for part in path.split("/"):
            node = node.setdefault(part, {})

    def lines(node: dict, prefix: str) -> list[str]:
        out = []
        for index, (name, children) in enumerate(sorted(node.items())):
            last = index == len(node) - 1
            out.append(f"{prefix}{'└── ' if last else '├── '}{name}{'/' if children else ''}")
            out += lines(children, prefix + ("    " if last else "│   "))
        return out

    return "\n".join([f"{folder.name}/", *lines(tree, "")]) + "\n"


def definitions(folders: list[Path]) -> dict[str, str]:
    """Every function and class of every stage, one file each: <stage>/<file>/<qualname>.py.

    Nested ones too (`register_routes.list_books`), dedented, decorators included. Module-level
    assignments to one name (`limiter = Limiter(...)`, a test's table of bad inputs) get a file
    too, with the comment lines right above them: such comments often name the pitfall.
    """
    files = {}
    for folder in folders:
        for path in stages.stage_files(folder):
            if not path.endswith(".py"):
                continue
            source = (folder / path).read_text(encoding="utf-8")
            try:
                tree = ast.parse(source)
            except SyntaxError:
                continue  # a stage's own checks report it
            source_lines = source.splitlines(keepends=True)
            prefix = f"{folder.name}/{path.removesuffix('.py')}/"
            for name, node in assignments(tree):
                first = node.lineno
                while first > 1 and source_lines[first - 2].lstrip().startswith("#"):
                    first -= 1
                files[f"{prefix}{name}.py"] = "".join(source_lines[first - 1 : node.end_lineno])
            for qualname, node in walk(tree, ""):
                first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                code = textwrap.dedent("".join(source_lines[first - 1 : node.end_lineno]))
                files[f"{prefix}{qualname}.py"] = code  # a def wins over an assignment
    return files


def assignments(tree: ast.Module):
    """(name, node) for each module-level `NAME = ...` or `NAME: type = ...`."""
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target = node.target
        else:
            continue
        if isinstance(target, ast.Name):
            yield target.id, node


def walk(node: ast.AST, prefix: str):
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            qualname = f"{prefix}{child.name}"
            yield qualname, child
            yield from walk(child, f"{qualname}.")


def readme_blocks(root: Path, folders: list[Path]) -> dict[str, str]:
    """The fenced code blocks of the READMEs, by section: `root/two-commands-1.md`.

    The commands a page shows are the README's own, so the two cannot disagree.
    """
    readmes = {"root": root / "README.md"} | {
        folder.name: folder / "README.md" for folder in folders
    }
    files = {}
    for name, path in readmes.items():
        if not path.is_file():
            continue
        section, count, block = "top", 0, None
        for line in path.read_text(encoding="utf-8").splitlines(keepends=True):
            if block is not None:
                block.append(line)
                if line.strip() == "```":
                    files[f"{name}/{section}-{count}.md"] = "".join(block)
                    block = None
            elif line.startswith("```"):
                block, count = [line], count + 1
            elif line.startswith("#"):
                section = re.sub(r"[^a-z0-9]+", "-", line.lstrip("#").strip().lower()).strip("-")
                count = 0
    return files


def generate_api_reference(root: Path) -> None:
    """final/'s OpenAPI description and endpoint table, from its own app: they cannot drift."""
    folders = stages.chain(root)
    if not folders or folders[-1].name != "final":
        spec, tables = {}, dict.fromkeys(REFERENCE_TABLES, missing_include("final"))
    else:
        description = describe_app(folders[-1])
        spec = description["spec"]
        tables = {
            "endpoints.md": endpoint_table(description["endpoints"]),
            "http-reads.md": reads_table(description["reads"]),
            "http-writes.md": writes_table(description["endpoints"]),
        }
    text = json.dumps(spec, indent=2, sort_keys=True) + "\n"
    stages.write_files(root / GENERATED, {"openapi.json": text}, pattern="openapi.json")
    stages.write_files(root / GENERATED / "reference", tables)


REFERENCE_TABLES = ("endpoints.md", "http-reads.md", "http-writes.md")


def describe_app(folder: Path) -> dict:
    """Run `describe()` for a stage folder in a child process; its JSON output, parsed."""
    process = subprocess.run(
        [sys.executable, __file__, "describe", str(folder.resolve())],
        capture_output=True,
        text=True,
        check=False,
    )
    if process.returncode:
        raise PluginError(f"cannot describe {folder.name}'s app:\n{process.stderr}")
    return json.loads(process.stdout)


def describe(folder: Path) -> dict:
    """The folder's endpoints and OpenAPI description, from create_app("testing").

    Runs in the child process. Everything comes from the app: the url_map, each view's `auth`
    mark (app/auth.py), Flask-Limiter's limits, Flask-Caching's mark on cached views, and the
    app's own /openapi.json for the summary and the statuses.
    """
    sys.path.insert(0, str(folder))
    from app import create_app  # the folder's own package

    app = create_app("testing")
    spec = app.test_client().get("/openapi.json").get_json()
    limiters = app.extensions.get("limiter", set())
    endpoints = []
    with app.test_request_context():
        for rule in sorted(app.url_map.iter_rules(), key=lambda rule: rule.rule):
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
            if path not in spec.get("paths", {}):
                continue  # static files, the spec and Swagger UI themselves
            view = app.view_functions[rule.endpoint]
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}, key=METHOD_ORDER.index):
                operation = spec["paths"][path][method.lower()]
                endpoints.append(
                    {
                        "method": method,
                        "path": path,
                        "summary": operation.get("summary", ""),
                        "auth": getattr(view, "auth", None),
                        "statuses": sorted(operation.get("responses", {})),
                        "rate_limit": rate_limit(app, limiters, rule, view),
                        "cached": hasattr(view, "uncached"),  # set by Flask-Caching's @cached
                        "if_match": calls(view, "check_if_match"),  # app/http_caching.py
                    }
                )
    return {"spec": spec, "endpoints": endpoints, "reads": ask_every_read(app, spec, endpoints)}


def calls(view, name: str) -> bool:
    """Whether the view's own body (its decorators unwrapped) calls `name`."""
    return name in inspect.unwrap(view).__code__.co_names


def ask_every_read(app, spec: dict, endpoints: list[dict]) -> list[dict]:
    """Every GET, asked for real, and asked again with the ETag it answered: the headers it sends.

    The data comes from the app's own commands, as a reader would make it (`init-db`, `seed`,
    `create-admin`, then `POST /users/login`); every id in a path is 1, and a required query
    parameter gets the shortest value its schema allows. A route that needs a token is asked
    by the admin, any other anonymously. Anything but a 200 fails the build.
    """
    password = secrets.token_urlsafe(12)
    admin = {"email": "docs-admin@example.com", "password": password}
    runner = app.test_cli_runner()
    create_admin = ["create-admin", "--email", admin["email"], "--password", password]
    for args in (["init-db"], ["seed"], create_admin):
        result = runner.invoke(args=args)
        if result.exit_code:
            raise RuntimeError(f"flask {args[0]} failed:\n{result.output}")
    client = app.test_client()
    token = client.post("/users/login", json=admin).get_json()["token"]
    reads = []
    for endpoint in endpoints:
        if endpoint["method"] != "GET":
            continue
        as_admin = endpoint["auth"] in ("token", "admin")
        headers = {"Authorization": f"Bearer {token}"} if as_admin else {}
        url = sample_url(endpoint["path"], spec["paths"][endpoint["path"]]["get"])
        first = client.get(url, headers=headers)
        if first.status_code != 200:
            raise RuntimeError(f"GET {url} answered {first.status_code}, not 200")
        etag, link = first.headers.get("ETag"), first.headers.get("Link", "")
        again = client.get(url, headers={**headers, "If-None-Match": etag}) if etag else None
        reads.append(
            {
                "path": endpoint["path"],
                "url": url,
                "asked_as": "admin" if as_admin else "anonymous",
                "etag": None if etag is None else "weak" if etag.startswith("W/") else "strong",
                "if_none_match": again.status_code if again else None,
                "cache_control": first.headers.get("Cache-Control", ""),
                "vary": first.headers.get("Vary", ""),
                "link": [rel for rel in LINK_RELS if f'rel="{rel}"' in link],
            }
        )
    return reads


LINK_RELS = ("self", "first", "prev", "next", "last")


def sample_url(path: str, operation: dict) -> str:
    """The path with 1 for every id, and the shortest valid value of each required parameter."""
    url = re.sub(r"\{\w+\}", "1", path)
    query = [
        f"{parameter['name']}={'a' * parameter.get('schema', {}).get('minLength', 1)}"
        for parameter in operation.get("parameters", [])
        if parameter.get("in") == "query" and parameter.get("required")
    ]
    return url + ("?" + "&".join(query) if query else "")


def rate_limit(app, limiters, rule, view) -> str:
    """The setting that limits the route: the name of its config key, or "exempt"."""
    from flask_limiter.util import get_qualified_name
    from limits import parse

    settings = {
        str(parse(app.config[key])): key
        for key in ("RATELIMIT_DEFAULT", "RATELIMIT_WRITE", "LOGIN_RATE_LIMIT")
        if key in app.config
    }
    for limiter in limiters:
        blueprint = rule.endpoint.rpartition(".")[0] or None
        if limiter.limit_manager.exemption_scope(app, rule.endpoint, blueprint):
            return "exempt"
        own = limiter.limit_manager.decorated_limits(get_qualified_name(view))
        if own:
            return ", ".join(settings.get(str(limit.limit), str(limit.limit)) for limit in own)
        return "RATELIMIT_DEFAULT"
    return ""


AUTH_LABELS = {None: "public", "optional": "optional", "token": "token", "admin": "admin"}
LIMIT_LABELS = {
    "RATELIMIT_DEFAULT": "default",
    "RATELIMIT_WRITE": "write",
    "LOGIN_RATE_LIMIT": "login",
}


def endpoint_table(endpoints: list[dict]) -> str:
    """The endpoints as a Markdown table, one row per method and path."""
    rows = [
        "| method | path | summary | auth | success | errors | rate limit | cached |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for endpoint in endpoints:
        statuses = [str(status) for status in endpoint["statuses"]]
        success = [status for status in statuses if status < "400"]
        errors = [s for s in statuses if s >= "400" and s not in EVERY_ROUTE_ERRORS]
        limit = ", ".join(
            LIMIT_LABELS.get(name, name) for name in endpoint["rate_limit"].split(", ") if name
        )
        rows.append(
            f"| `{endpoint['method']}` | `{endpoint['path']}` | {endpoint['summary']} "
            f"| {AUTH_LABELS.get(endpoint['auth'], endpoint['auth'])} | {', '.join(success)} "
            f"| {', '.join(errors)} | {limit} "
            f"| {'yes' if endpoint['cached'] else ''} |"
        )
    return "\n".join(rows) + "\n"


def reads_table(reads: list[dict]) -> str:
    """What each GET answered, and what the same GET with its ETag in If-None-Match answered."""
    rows = [
        "| path | asked as | `ETag` | again, with `If-None-Match` | `Cache-Control` | `Vary` "
        "| `Link` rels |",
        "|---|---|---|---|---|---|---|",
    ]
    for read in reads:
        again = read["if_none_match"]
        rows.append(
            f"| `{read['path']}` | {read['asked_as']} | {read['etag'] or 'none'} "
            f"| {again or ''} | {code_or_none(read['cache_control'])} "
            f"| {code_or_none(read['vary'])} | {', '.join(read['link'])} |"
        )
    return "\n".join(rows) + "\n"


def code_or_none(value: str) -> str:
    return f"`{value}`" if value else "none"


def writes_table(endpoints: list[dict]) -> str:
    """Every write, and whether its view checks If-Match (a stale one is a 412)."""
    rows = ["| method | path | `If-Match` |", "|---|---|---|"]
    for endpoint in endpoints:
        if endpoint["method"] == "GET":
            continue
        checked = "checked: 412 when stale" if endpoint["if_match"] else "not checked"
        rows.append(f"| `{endpoint['method']}` | `{endpoint['path']}` | {checked} |")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    # python tools/docs_hooks.py describe final: print the folder's description as JSON.
    if len(sys.argv) != 3 or sys.argv[1] != "describe":
        sys.exit("usage: python tools/docs_hooks.py describe <stage folder>")
    print(json.dumps(describe(Path(sys.argv[2]))))
