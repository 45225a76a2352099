"""Fuzzing: schemathesis generates requests from the app's own /openapi.json and checks that the
API keeps the promises the spec makes. No 5xx, and every status, content type, header and body
as documented. Anonymous, as a member and as an admin; a bounded number of examples each."""

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import select

from app import create_app
from app.auth import encode_token
from app.extensions import db
from app.models import User

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
UNLIMITED = "1000000 per hour"  # fuzzing is not abuse: keep 429s out of the way


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


app = fuzzed_app()
with app.app_context():
    TOKENS = {
        role: encode_token(db.session.scalar(select(User).where(User.email == email)))
        for role, email in (("member", "ada@example.com"), ("admin", "admin@example.com"))
    }
schema = schemathesis.openapi.from_wsgi("/openapi.json", app)


@pytest.mark.parametrize("caller", ["anonymous", "member", "admin"])
@schema.parametrize()
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_the_api_keeps_the_promises_of_its_spec(case, caller):
    headers = {"Authorization": f"Bearer {TOKENS[caller]}"} if caller in TOKENS else {}
    case.call_and_validate(headers=headers, checks=CHECKS)
