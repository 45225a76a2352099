"""Fuzzing: schemathesis generates requests from the app's own /openapi.json and checks that the
API keeps the promises the spec makes. No 5xx, and every status, content type, header and body
as documented. Anonymous, as a member and as an admin; valid and invalid requests; a bounded
number of examples for each operation.

Nothing is built or loaded at import: the app, its tokens and its spec are fixtures, and
schemathesis and hypothesis (two seconds to import) are imported by the code that runs them,
so collecting the suite, or running a part of it, stays fast.
"""

import pytest
from sqlalchemy import select

from app import create_app
from app.auth import encode_token
from app.extensions import db
from app.models import User

UNLIMITED = "1000000 per hour"  # fuzzing is not abuse: keep 429s out of the way


@pytest.fixture(scope="module")
def fuzzed_app():
    app = create_app(
        {
            "APP_CONFIG": "testing",
            "RATELIMIT_DEFAULT": UNLIMITED,
            "RATELIMIT_WRITE": UNLIMITED,
            "LOGIN_RATE_LIMIT": UNLIMITED,
        }
    )
    with app.app_context():
        db.create_all()
    app.test_cli_runner().invoke(args=["seed"])
    app.test_cli_runner().invoke(
        args=["create-admin", "--email", "admin@example.com", "--password", "fuzzing-admin-pw"]
    )
    return app


@pytest.fixture(scope="module")
def tokens(fuzzed_app):
    with fuzzed_app.app_context():
        return {
            role: encode_token(db.session.scalar(select(User).where(User.email == email)))
            for role, email in (("member", "ada@example.com"), ("admin", "admin@example.com"))
        }


@pytest.fixture(scope="module")
def spec(fuzzed_app):
    """The app's own spec, as schemathesis reads it from /openapi.json."""
    import schemathesis

    return schemathesis.openapi.from_wsgi("/openapi.json", fuzzed_app)


def keeps_its_promises(spec, operation, mode: str, headers: dict) -> None:
    """Requests for one operation, each checked against the spec: first the edge cases
    schemathesis derives from it (limits, missing fields, wrong types), the same on every run,
    then a bounded number of random ones."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis.errors import Unsatisfiable
    from schemathesis import GenerationMode
    from schemathesis.checks import (
        content_type_conformance,
        not_a_server_error,
        response_headers_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    checks = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_headers_conformance,
        response_schema_conformance,
    ]
    mode = GenerationMode(mode)
    generation = spec.config.generation_for(operation=operation)
    for case in spec.iter_coverage_cases(
        operation, generation_modes=[mode], generation_config=generation
    ):
        case.call_and_validate(headers=headers, checks=checks)

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=8,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,  # the same examples on every run
    )
    def random_requests(case):
        case.call_and_validate(headers=headers, checks=checks)

    try:
        random_requests()
    except Unsatisfiable:
        if mode is GenerationMode.POSITIVE:
            raise
        # An operation that takes no input (GET /health) has no invalid request to send.


@pytest.mark.parametrize("mode", ["positive", "negative"])
@pytest.mark.parametrize("caller", ["anonymous", "member", "admin"])
def test_the_api_keeps_the_promises_of_its_spec(spec, tokens, caller, mode):
    headers = {"Authorization": f"Bearer {tokens[caller]}"} if caller in tokens else {}
    for result in spec.get_all_operations():
        operation = result.ok()
        try:
            keeps_its_promises(spec, operation, mode, headers)
        except Exception as error:
            error.add_note(f"in {operation.label}, as {caller}")
            raise
