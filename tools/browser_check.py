"""Open the built docs site in headless Chromium and check that the pages really render.

    python tools/browser_check.py     # after `mkdocs build` (make docs); `make test` runs both

`mkdocs build --strict` proves the Markdown converts; only a browser proves that the navigation,
the highlighted code, the diffs and the mermaid diagrams show up, and that no page reaches for a
CDN (the machine and CI reach no network but the package registries). Serves site/ on 127.0.0.1
with the standard library, and final/'s app for its Swagger UI at /docs (every operation listed),
drives Debian's Chromium through playwright, prints one line per page.
Every site page is also audited for accessibility with axe-core (tools/axe/, installed by
`make test` with npm): any violation of impact serious or critical fails the page, printed with
its rule id and the elements it concerns.
Without Chromium (or without axe-core) it skips that part, except in CI (CI set), where it fails.
"""

import functools
import os
import sys
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import sync_playwright
from werkzeug.serving import make_server

from stages import chain  # tools/stages.py, next to this file

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "site"
DIFFS = ROOT / "docs" / "generated" / "diffs"
# tools/axe/package.json pins it; `npm ci --prefix tools/axe` installs it (make test does).
AXE = ROOT / "tools" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
AXE_FAILS = {"serious", "critical"}  # moderate and minor findings are printed by no one
# Debian's /usr/bin/chromium is a shell launcher that adds flags of its own (remote extensions,
# a noisy /dev/shm probe); the binary behind it is what playwright should drive.
CHROMIUM_CANDIDATES = ("/usr/lib/chromium/chromium", "/usr/bin/chromium")
# Without the background-networking flags Chromium phones home, which is blocked here: noise and
# time-outs. --disable-quic keeps it from trying UDP for anything.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
LOCAL_HOSTS = {"127.0.0.1"}
TIMEOUT_MS = 10_000  # a page or a diagram takes well under a second
# Material puts each rendered diagram in a *closed* shadow root, which no test can look into.
# Opening it (before any page script runs) lets the check see the <svg> mermaid drew.
OPEN_SHADOW_ROOTS = """
const attachShadow = Element.prototype.attachShadow;
Element.prototype.attachShadow = function (init) {
  return attachShadow.call(this, { ...init, mode: "open" });
};
"""


class PageError(AssertionError):
    pass


def find_chromium() -> str | None:
    candidates = [os.environ.get("CHROMIUM", ""), *CHROMIUM_CANDIDATES]
    return next((path for path in candidates if path and os.access(path, os.X_OK)), None)


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # one line per page is enough output
        pass


@contextmanager
def running(server) -> Iterator[int]:
    """Run an http.server or werkzeug server in a daemon thread; yield its port."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def serve(directory: Path) -> Iterator[str]:
    """Serve `directory` on 127.0.0.1 on a free port (port 0); yield the base URL."""
    handler = functools.partial(QuietHandler, directory=str(directory))
    with running(ThreadingHTTPServer(("127.0.0.1", 0), handler)) as port:
        yield f"http://127.0.0.1:{port}/"


def site_pages(site: Path) -> list[str]:
    """Every page of the built site as a path: "", "stages/01_factory/", ..."""
    pages = [
        path.parent.relative_to(site).as_posix() + "/"
        for path in site.rglob("index.html")
        if "assets" not in path.parts
    ]
    return sorted(page.removeprefix("./") for page in pages)


@contextmanager
def final_docs() -> Iterator[str]:
    """final/'s app on 127.0.0.1 (a free port, a thread, an empty in-memory database); its
    interactive docs' URL. The page must render every operation with no request leaving."""
    sys.path.insert(0, str(ROOT / "final"))
    from app import create_app  # final's package: this process imports no other stage
    from app.extensions import db

    app = create_app("testing")
    with app.app_context():
        db.create_all()
    with running(make_server("127.0.0.1", 0, app, threaded=True)) as port:
        yield f"http://127.0.0.1:{port}/docs/"


def check_extra(page, url: str) -> str:
    """final/'s Swagger UI: the operations list, from /openapi.json, without a CDN."""
    operations = page.locator(".opblock-summary")
    try:
        operations.first.wait_for(timeout=TIMEOUT_MS)
    except PlaywrightError:
        raise PageError("Swagger UI shows no operation") from None
    paths = page.locator(".opblock-summary-path").all_text_contents()
    if "/books/popular" not in [path.strip() for path in paths]:
        raise PageError("Swagger UI lists no /books/popular operation")
    return f"{operations.count()} operations in Swagger UI"


def check_page(page, path: str, site: Path, stage_folders: set[str]) -> str:
    """The checks for one site page; raises PageError, returns a summary of what it saw."""
    if not page.locator("nav.md-nav--primary").count():
        raise PageError("no navigation")
    code_blocks = page.locator(".highlight pre code").count()
    seen = [f"{code_blocks} code blocks"]
    stage = path.strip("/").removeprefix("stages/") if path.startswith("stages/") else None
    # The home page and the page of every stage folder that exists show code; placeholders for
    # stages not written yet may not.
    if (path == "" or stage in stage_folders) and not code_blocks:
        raise PageError("no highlighted code block")
    diff_file = DIFFS / f"{stage}.diff"
    if stage and diff_file.is_file() and diff_file.stat().st_size:
        # Pygments marks inserted and deleted lines with .gi and .gd spans.
        diff = page.locator(".language-diff pre code")
        if not diff.count() or not diff.locator(".gi, .gd").count():
            raise PageError(f"no rendered diff although {stage}.diff exists")
        seen.append("diff")

    # Counted in the built HTML: material takes the class off a diagram it fails to render.
    diagrams = (site / path / "index.html").read_text(encoding="utf-8").count('class="mermaid"')
    if path == "" and not diagrams:
        raise PageError("no mermaid diagram on the home page")
    if diagrams:
        svgs = page.locator("div.mermaid svg")
        try:  # mermaid renders after load: material swaps each <pre> for a <div> with the svg
            svgs.nth(diagrams - 1).wait_for(timeout=TIMEOUT_MS)
        except PlaywrightError:
            raise PageError(f"{svgs.count()} of {diagrams} mermaid diagrams rendered") from None
        if "Syntax error" in " ".join(svgs.all_text_contents()):
            raise PageError("a mermaid diagram has a syntax error")
        seen.append(f"{diagrams} diagrams as SVG")
    return ", ".join(seen)


def accessibility_problems(page) -> list[str]:
    """axe-core's violations of impact serious or critical on the page, one line per element:
    the rule id, what it asks, and the element's CSS selector."""
    page.add_script_tag(path=str(AXE))  # inline: no request, nothing to serve
    # Swagger UI (the OpenAPI page) is a third-party widget, audited by its own project.
    violations = page.evaluate(
        """async () => (await axe.run(
            {exclude: [["#swagger-ui"]]}, {resultTypes: ["violations"]}
        )).violations"""
    )
    return [
        f"axe {violation['id']} ({violation['impact']}): {violation['help']} — "
        f"{' '.join(map(str, node['target']))}"
        for violation in violations
        if violation["impact"] in AXE_FAILS
        for node in violation["nodes"]
    ]


def is_local(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme not in {"http", "https", "ws", "wss"} or parts.hostname in LOCAL_HOSTS


@dataclass
class Visit:
    label: str
    page: object
    problems: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    summary: str = ""


def visit(context, url: str, label: str, check, audit: bool = False) -> Visit:
    """Open one page and run `check(page)`, then axe-core if `audit`; the page stays open to
    catch late requests."""
    page = context.new_page()
    seen = Visit(label, page)

    def on_response(response):
        if response.status >= 400:
            seen.problems.append(f"HTTP {response.status}: {response.url}")

    def on_failed(request):
        seen.problems.append(f"request failed: {request.url} ({request.failure})")

    page.on("request", lambda request: seen.requests.append(request.url))
    page.on("response", on_response)
    page.on("requestfailed", on_failed)
    page.on("pageerror", lambda error: seen.problems.append(f"script error: {error}"))
    try:
        response = page.goto(url, wait_until="load", timeout=TIMEOUT_MS)
        if response is None or response.status != 200:
            seen.problems.append(f"HTTP status {response.status if response else 'none'}")
        else:
            seen.summary = check(page)
            if audit:
                seen.problems += accessibility_problems(page)
                seen.summary += ", no serious axe violation"
    except (PageError, PlaywrightError) as error:
        seen.problems.append(str(error).splitlines()[0])
    return seen


def finish(seen: Visit) -> bool:
    """Wait until the page has been quiet for 500 ms, close it, print its line; True if ok."""
    try:  # requests made after load (search index, a lazily loaded script) count too
        seen.page.wait_for_load_state("networkidle", timeout=TIMEOUT_MS)
    except PlaywrightError as error:
        seen.problems.append(str(error).splitlines()[0])
    seen.page.close()
    seen.problems += [
        f"request to a non-local host: {url}" for url in seen.requests if not is_local(url)
    ]
    if seen.problems:
        print(f"FAIL {seen.label}")
        for problem in dict.fromkeys(seen.problems):  # each once, in order
            print(f"     {problem}")
        return False
    print(f"ok   {seen.label:<28} {seen.summary}; {len(seen.requests)} requests, all local")
    return True


def run(chromium: str, site: Path, urls: Iterable[str] = (), audit: bool = True) -> int:
    stage_folders = {folder.name for folder in chain(ROOT)}
    with serve(site) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        context = browser.new_context()  # one cache for all pages, as for a reader
        context.add_init_script(OPEN_SHADOW_ROOTS)
        # Refuse anything non-local at once: a blocked CDN would otherwise cost a time-out.
        context.route(lambda url: not is_local(url), lambda route: route.abort())
        visits = [
            visit(
                context,
                base + path,
                "/" + path,
                functools.partial(check_page, path=path, site=site, stage_folders=stage_folders),
                audit,
            )
            for path in site_pages(site)
        ]
        visits += [
            visit(context, url, url, functools.partial(check_extra, url=url)) for url in urls
        ]
        # Pages were left open so that their quiet periods overlap: one wait, not one per page.
        ok = sum(finish(seen) for seen in visits)
        browser.close()
    print(f"browser check: {ok} of {len(visits)} pages ok")
    return 0 if ok == len(visits) else 1


def main() -> int:
    chromium = find_chromium()
    if chromium is None:
        if os.environ.get("CI"):
            print("browser check: Chromium not found (apt-get install chromium); CI needs it")
            return 1
        print("browser check skipped: install chromium (apt-get install chromium)")
        return 0
    if not (SITE / "index.html").is_file():
        print(f"browser check: {SITE} has no index.html; build the site first (make docs)")
        return 1
    audit = AXE.is_file()
    if not audit:
        if os.environ.get("CI"):
            print(f"browser check: {AXE} is missing (npm ci --prefix tools/axe); CI needs it")
            return 1
        print("accessibility audit skipped: install axe-core with `npm ci --prefix tools/axe`")
    with final_docs() as docs_url:
        return run(chromium, SITE, [docs_url], audit)


if __name__ == "__main__":
    sys.exit(main())
