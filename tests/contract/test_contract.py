"""The API's contract, checked from outside, against final/ served for real over HTTP.

    python tools/run_checks.py contract     # or: pytest tests/contract (after npm ci, below)

1. A client that openapi-python-client generates from the live /openapi.json runs a whole
   session (flow.py) without one parse failure, and the code that calls it is mypy --strict clean.
2. Redocly CLI's recommended ruleset finds no error and no warning in the spec
   (pinned in tools/spec-tools/package.json: `npm ci` there installs it).
3. schemathesis, with every check and its stateful phase, finds no failure.

Run in a process of its own: it imports final/'s `app` package.
"""

import importlib
import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
import schemathesis
from click.testing import CliRunner
from schemathesis.cli import schemathesis as schemathesis_cli
from server import ADMIN, serve_final

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
REDOCLY = ROOT / "tools" / "spec-tools" / "node_modules" / ".bin" / "redocly"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    with serve_final(tmp_path_factory.mktemp("server")) as (url, app):
        yield url, app


@pytest.fixture(scope="module")
def spec_file(served, tmp_path_factory) -> Path:
    url, _ = served
    path = tmp_path_factory.mktemp("spec") / "openapi.json"
    with urllib.request.urlopen(f"{url}/openapi.json") as response:
        path.write_bytes(response.read())
    return path


@pytest.fixture(scope="module")
def client_package(spec_file, tmp_path_factory) -> Path:
    """The folder that holds the generated package `library_api_client`."""
    folder = tmp_path_factory.mktemp("client")
    config = folder / "config.yaml"
    config.write_text("post_hooks: []\n")  # no formatting of the generated code: not needed
    generated = subprocess.run(
        [
            str(BIN / "openapi-python-client"),
            "generate",
            "--path",
            str(spec_file),
            "--meta",
            "none",
            "--output-path",
            str(folder / "library_api_client"),
            "--config",
            str(config),
        ],
        capture_output=True,
        text=True,
    )
    # A warning means a part of the spec the generator could not turn into code.
    assert generated.returncode == 0 and "Warning" not in generated.stdout, generated.stdout
    return folder


def test_a_generated_client_runs_a_whole_session(served, client_package, monkeypatch):
    url, _ = served
    monkeypatch.syspath_prepend(str(client_package))
    flow = importlib.import_module("flow")
    steps = flow.run(url, ADMIN["email"], ADMIN["password"])
    assert len(steps) == 24


def test_the_code_that_calls_the_generated_client_is_mypy_clean(client_package, tmp_path):
    checked = subprocess.run(
        [
            str(BIN / "mypy"),
            "--strict",
            "--follow-imports=silent",  # the generated code is the generator's business
            "--cache-dir",
            str(tmp_path / "mypy"),
            str(Path(__file__).with_name("flow.py")),
        ],
        env={"MYPYPATH": str(client_package), "PATH": str(BIN)},
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_redocly_recommended_ruleset_finds_nothing(spec_file):
    if not REDOCLY.exists():
        pytest.fail("Redocly CLI is not installed: run `npm ci` in tools/spec-tools")
    linted = subprocess.run(
        [str(REDOCLY), "lint", "--extends", "recommended", "--format", "json", str(spec_file)],
        capture_output=True,
        text=True,
    )
    report = json.loads(linted.stdout)
    messages = [(p["ruleId"], p["message"]) for p in report["problems"]]
    assert report["totals"] == {"errors": 0, "warnings": 0, "ignored": 0}, messages


def test_schemathesis_with_every_check_and_the_stateful_phase_finds_no_failure(served):
    url, app = served

    from sqlalchemy import select

    from app.auth import encode_token  # final/'s, imported by serve_final()
    from app.extensions import db
    from app.models import User

    # A fresh admin token for every request: the fuzzer logs out and changes passwords too,
    # which ends every earlier token.
    @schemathesis.auth(refresh_interval=None)
    class FreshAdminToken:
        def get(self, case, ctx):
            with app.app_context():
                admin = db.session.scalar(select(User).where(User.role == "admin").limit(1))
                return encode_token(admin)

        def set(self, case, data, ctx):
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}

    result = CliRunner().invoke(
        schemathesis_cli,
        [
            "--config-file",
            str(Path(__file__).with_name("schemathesis.toml")),
            "run",
            f"{url}/openapi.json",
            "--checks",
            "all",
            "--phases",
            "examples,coverage,fuzzing,stateful",
            "--max-examples",
            "5",
            "--workers",
            "1",  # one request at a time: SQLite has one writer (a 503 when busy past its timeout)
            "--generation-deterministic",  # the same requests on every run
        ],
    )
    print(result.output[result.output.find("SUMMARY") :])  # shown with `pytest -s`
    assert result.exit_code == 0, result.output
