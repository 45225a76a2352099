"""Repository hygiene: no secret is committed, whatever a tutorial would hard-code."""

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# The source material's hard-coded JWT secret, and the usual suspects.
KNOWN_SECRETS = ["super secret secrets", "my_secret_key", "changeme123", "s3cr3t"]
# SECRET_KEY = "..." or jwt.encode(..., "literal"...) in application code: a secret in the source.
SECRET_IN_SOURCE = re.compile(
    r"""(\bSECRET_KEY\s*=\s*["'][^"']+["'])|(jwt\.(en|de)code\(\s*\w+\s*,\s*["'][^"']+["'])"""
)
PRIVATE_KEY = re.compile(r"-----BEGIN (RSA |EC |OPENSSH )?PRIVATE KEY-----")


def tracked_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True)
    if listed.returncode != 0:
        pytest.skip("not a git checkout")
    return [ROOT / name for name in listed.stdout.splitlines() if (ROOT / name).is_file()]


def text_of(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
        return ""  # binary files (images, vendored assets) hold no source secrets


def is_deny_list_or_lesson(path: Path) -> bool:
    # config.py lists the known secrets in order to refuse them; the docs and tests name them
    # in order to teach why; the seeds are the source material itself.
    relative = path.relative_to(ROOT)
    return (
        relative.name == "config.py"
        or relative.parts[0] in ("docs", "notebooks")
        or ("tests" in relative.parts)
    )


def test_no_known_secret_outside_the_deny_list_and_the_lessons():
    offenders = [
        f"{path.relative_to(ROOT)}: {secret!r}"
        for path in tracked_files()
        if not is_deny_list_or_lesson(path)
        for secret in KNOWN_SECRETS
        if secret in text_of(path).lower()
    ]
    assert offenders == []


def test_no_secret_is_assigned_in_application_code():
    offenders = [
        f"{path.relative_to(ROOT)}: {match.group(0)}"
        for path in tracked_files()
        if path.suffix == ".py" and "tests" not in path.parts
        for match in SECRET_IN_SOURCE.finditer(text_of(path))
    ]
    assert offenders == []


def test_no_private_key_is_committed():
    assert [p for p in tracked_files() if PRIVATE_KEY.search(text_of(p))] == []


def test_the_scanner_finds_a_hard_coded_secret():
    assert SECRET_IN_SOURCE.search('SECRET_KEY = "super secret secrets"')
    assert SECRET_IN_SOURCE.search("jwt.encode(payload, 'hunter2', algorithm='HS256')")
    assert not SECRET_IN_SOURCE.search('SECRET_KEY = os.environ.get("SECRET_KEY")')


def test_the_license_is_the_one_the_api_description_names():
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")
    for openapi in [*ROOT.glob("stages/*/app/openapi.py"), ROOT / "final/app/openapi.py"]:
        assert '"license": {"name": "MIT"' in openapi.read_text(encoding="utf-8")
