import importlib
import re
import shutil
from pathlib import Path

import pytest

import stages

# tools/ is on sys.path (conftest.py). Not `import workspace`: ruff sorts that import as
# first-party once a learner's workspace/ folder exists and as third-party before, so lint flips.
workspace = importlib.import_module("workspace")
ROOT = Path(__file__).resolve().parents[1]
LOCAL_FILES = shutil.ignore_patterns("__pycache__", ".pytest_cache", "instance")
# Two real tests of stage 03, so a check takes a second, not the whole suite: create-admin is
# new in stage 03 (fails on stage 02's code), the seed command is not (passes on both).
TWO_TESTS = ["-k", "create_admin_promotes_an_existing_user or seed_is_idempotent"]


@pytest.fixture
def root(tmp_path):
    """A repository with copies of the real stages 02 and 03; the real workspace/ stays as is."""
    for name in ("02_blueprints", "03_auth"):
        shutil.copytree(ROOT / "stages" / name, tmp_path / "stages" / name, ignore=LOCAL_FILES)
    return tmp_path


@pytest.fixture
def cli(root, capsys):
    """Run `python tools/workspace.py ARGS` on the temporary repository: (exit code, output)."""

    def run(*args: str) -> tuple[int, str]:
        code = workspace.main([*args, "--root", str(root)])
        captured = capsys.readouterr()
        return code, captured.out + captured.err

    return run


def test_start_copies_the_stage_before_without_local_files(root, cli):
    previous = root / "stages" / "02_blueprints"
    for local in ("instance/library.db", "app/__pycache__/models.pyc", ".pytest_cache/README.md"):
        (previous / local).parent.mkdir(parents=True, exist_ok=True)
        (previous / local).write_text("made by running the stage, not part of it")

    code, out = cli("start", "03")

    copy = root / "workspace" / "03_auth"
    assert code == 0, out
    assert stages.stage_files(copy) == stages.stage_files(previous)
    assert (copy / "app" / "models.py").read_bytes() == (
        previous / "app" / "models.py"
    ).read_bytes()
    assert not (copy / "instance").exists()
    assert not (copy / "app" / "__pycache__").exists()
    assert not (copy / ".pytest_cache").exists()
    # What to do next: what the stage adds, where, and how to check it.
    assert "Read stages/03_auth/README.md" in out
    assert re.search(r"new +app/auth\.py +\+\d+ -0", out)
    assert re.search(r"changed +app/blueprints/users/routes\.py", out)
    assert "tests/test_auth.py (new)" in out
    assert "make check STAGE=03" in out


def test_start_never_overwrites_your_work_unless_forced(root, cli):
    cli("start", "03")
    work = root / "workspace" / "03_auth" / "app" / "auth.py"
    work.write_text("# my work\n")

    code, out = cli("start", "03")
    assert code == 1
    assert "workspace/03_auth/ already exists" in out
    assert "start 03 --force" in out
    assert work.read_text() == "# my work\n"

    code, _ = cli("start", "03", "--force")
    assert code == 0
    assert not work.exists()


@pytest.mark.parametrize(
    ("name", "stage", "previous"),
    [
        ("3", "03_auth", "02_blueprints"),
        ("03", "03_auth", "02_blueprints"),
        ("03_auth", "03_auth", "02_blueprints"),
        ("stages/03_auth/", "03_auth", "02_blueprints"),
        ("final", "final", "10_idempotency"),
        ("1", "01_factory", None),
    ],
)
def test_a_stage_is_named_by_number_or_folder(name, stage, previous):
    found, before = workspace.resolve(name, ROOT)  # reads the real stages, writes nothing
    assert found.name == stage
    assert (before.name if before else None) == previous


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["start"], "Name a stage."),
        (["check"], "Name a stage."),
        (["start", "07"], "There is no stage '07'."),
        (["start", "02"], "02_blueprints is the first stage"),  # 01 is not in this repository
        (["start", "03", "-k", "login"], "start takes no other arguments"),
    ],
)
def test_a_missing_or_unknown_stage_is_a_usage_error(cli, args, message):
    code, out = cli(*args)
    assert code == 2
    assert message in out
    assert "usage: make start STAGE=03" in out
    assert "STAGE is one of: 02 (02_blueprints), 03 (03_auth)" in out


def test_check_without_a_workspace_says_how_to_start(cli):
    code, out = cli("check", "03")
    assert code == 1
    assert "workspace/03_auth/ does not exist yet" in out
    assert "make start STAGE=03" in out


def test_check_on_an_untouched_copy_of_the_stage_before_fails_and_names_a_test(root, cli):
    cli("start", "03")
    files_before = stages.stage_files(root / "workspace" / "03_auth")

    code, out = cli("check", "03", *TWO_TESTS)

    assert code == 1, out
    # Stage 03's own tests ran on stage 02's code: the new module is missing, create-admin too.
    assert (
        "stages/03_auth/tests/test_auth.py cannot be imported: "
        "ModuleNotFoundError: No module named 'app.auth'"
    ) in out
    assert re.search(
        r"1 test fails \(1 pass\); the first failing test is "
        r"test_create_admin_promotes_an_existing_user — read it in "
        r"stages/03_auth/tests/test_cli\.py:\d+\n$",
        out,
    )
    assert stages.stage_files(root / "workspace" / "03_auth") == files_before  # left as it was


def test_check_on_a_copy_of_the_real_stage_passes(root, cli):
    shutil.copytree(root / "stages" / "03_auth", root / "workspace" / "03_auth")
    code, out = cli("check", "03", *TWO_TESTS)
    assert code == 0, out
    assert "All 2 tests pass: your code does what 03_auth asks." in out


def test_code_that_cannot_be_imported_is_named(root, cli):
    shutil.copytree(root / "stages" / "03_auth", root / "workspace" / "03_auth")
    with (root / "workspace" / "03_auth" / "app" / "models.py").open("a") as models:
        models.write("def unfinished(:\n")

    code, out = cli("check", "03", *TWO_TESTS)

    assert code != 0
    assert 'File "workspace/03_auth/app/models.py"' in out  # your file, not the temporary copy
    assert "No test could start: importing your app fails with SyntaxError" in out


@pytest.mark.parametrize(
    ("printed", "shown"),
    [
        (
            "{build}/tests/test_cli.py:77: in test_x",
            "stages/03_auth/tests/test_cli.py:77: in test_x",
        ),
        ("tests/conftest.py:59: in headers", "stages/03_auth/tests/conftest.py:59: in headers"),
        ("FAILED tests/test_a.py::test_b - x", "FAILED stages/03_auth/tests/test_a.py::test_b - x"),
        ("app/auth.py:31: in encode_token", "workspace/03_auth/app/auth.py:31: in encode_token"),
        ("{build}/config.py:9: in <module>", "workspace/03_auth/config.py:9: in <module>"),
        ("E   assert 'application/json'", "E   assert 'application/json'"),
        (".venv/lib/flask/app.py:919: in dispatch", ".venv/lib/flask/app.py:919: in dispatch"),
    ],
)
def test_output_names_the_files_you_can_open_not_the_temporary_copy(tmp_path, printed, shown):
    build = tmp_path / "03_auth"
    line = printed.format(build=build)
    assert workspace.real_places(line, build, "stages/03_auth/tests", "workspace/03_auth") == shown
