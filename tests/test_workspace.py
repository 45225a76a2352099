import ast
import concurrent.futures
import contextlib
import importlib
import io
import os
import re
import shutil
import subprocess
import sys
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


def test_start_copies_the_code_before_and_the_new_stages_readme_and_tests(root, cli):
    previous, stage = root / "stages" / "02_blueprints", root / "stages" / "03_auth"
    for local in ("instance/library.db", "app/__pycache__/models.pyc", ".pytest_cache/README.md"):
        (previous / local).parent.mkdir(parents=True, exist_ok=True)
        (previous / local).write_text("made by running the stage, not part of it")

    code, out = cli("start", "03")

    copy = root / "workspace" / "03_auth"
    assert code == 0, out
    code_files = [path for path in stages.stage_files(previous) if workspace.is_code(path)]
    theirs = [path for path in stages.stage_files(stage) if not workspace.is_code(path)]
    assert stages.stage_files(copy) == sorted(code_files + theirs)
    for path in code_files:  # your starting point: the code of the stage before
        assert (copy / path).read_bytes() == (previous / path).read_bytes(), path
    for path in theirs:  # what you read and what checks you: the new stage's
        assert (copy / path).read_bytes() == (stage / path).read_bytes(), path
    assert "tests/test_auth.py" in theirs and "README.md" in theirs
    assert not (copy / "instance").exists()
    assert not (copy / "app" / "__pycache__").exists()
    assert not (copy / ".pytest_cache").exists()
    # What to do next: read the README, then the files to write, numbered, in a working order.
    assert "read README.md first" in out
    steps = re.findall(r"^ +(\d+)\. +(new|changed|deleted) +(\S+) +\+\d+ -\d+$", out, re.M)
    assert [int(number) for number, *_ in steps] == list(range(1, len(steps) + 1))
    written = [path for *_, path in steps]
    assert ("new", "app/auth.py") in [(status, path) for _, status, path in steps]
    assert written.index("app/auth.py") < written.index("app/blueprints/users/routes.py")
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
        (["start", "03", "-k", "login"], "start takes no other arguments"),
    ],
)
def test_a_missing_or_unknown_stage_is_a_usage_error(cli, args, message):
    code, out = cli(*args)
    assert code == 2
    assert message in out
    assert "usage: make start STAGE=03" in out
    assert "STAGE is one of: 02 (02_blueprints), 03 (03_auth)" in out


def test_the_first_stage_starts_from_no_code(root, cli):
    shutil.rmtree(root / "stages" / "02_blueprints")  # 03 is now the first stage

    code, out = cli("start", "03")

    stage, copy = root / "stages" / "03_auth", root / "workspace" / "03_auth"
    assert code == 0, out
    theirs = [path for path in stages.stage_files(stage) if not workspace.is_code(path)]
    assert stages.stage_files(copy) == theirs  # the README, the tests: no code at all
    assert "03_auth is the first stage, so you start with no code" in out
    steps = re.findall(r"^ +(?:\d+\.)? +new +(\S+) +\+\d+ -0$", out, re.M)
    assert sorted(steps) == [path for path in stages.stage_files(stage) if workspace.is_code(path)]

    code, out = cli("check", "03", *TWO_TESTS)
    assert code != 0, out
    assert "No test could start" in out
    assert re.search(r"What is missing: app/__init__\.py does not exist yet \(step \d+\)\.", out)


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
    assert re.search(r"step \d+: app/auth\.py does not exist yet \(1 test file not imported\)", out)
    assert re.search(
        r"1 test fails \(1 pass\); the first failing test is "
        r"test_create_admin_promotes_an_existing_user — read it in "
        r"stages/03_auth/tests/test_cli\.py:\d+\n$",
        out,
    )
    assert stages.stage_files(root / "workspace" / "03_auth") == files_before  # left as it was


def test_a_route_the_stage_adds_is_named_not_the_fixture_it_breaks(root, cli):
    # Every test with a `member` fixture logs in first: on stage 02's code that is a KeyError
    # deep in conftest.py. What is missing is the login route.
    cli("start", "03")
    code, out = cli("check", "03", "-k", "test_me_is_the_caller or test_delete_me")

    assert code == 1, out
    assert (
        "POST /users/login answers 404: the login route is not written yet "
        "(app/blueprints/users/routes.py) (2 failing tests)"
    ) in out


def test_a_name_the_stage_adds_is_named(root, cli):
    shutil.copytree(root / "stages" / "03_auth", root / "workspace" / "03_auth")
    auth = root / "workspace" / "03_auth" / "app" / "auth.py"
    auth.write_text(auth.read_text().replace("def encode_token(", "def make_token("))

    code, out = cli("check", "03", *TWO_TESTS)

    assert code != 0, out  # the routes import it: no test can start
    assert re.search(r"What is missing: app/auth\.py has no encode_token yet \(step \d+\)\.", out)


@pytest.mark.parametrize(
    ("error", "missing"),
    [
        ("ModuleNotFoundError: No module named 'app.auth'", "app/auth.py does not exist yet"),
        (
            "ImportError: cannot import name 'encode_token' from 'app.auth' (/tmp/x/app/auth.py)",
            "app/auth.py has no encode_token yet",
        ),
        (
            "AttributeError: module 'app.auth' has no attribute 'admin_required'",
            "app/auth.py has no admin_required yet",
        ),
        (
            "AttributeError: 'User' object has no attribute 'revoke_tokens'",
            "User in app/models.py has no revoke_tokens yet",
        ),
        ("KeyError: 'TOKEN_LIFETIME'", "config.py has no TOKEN_LIFETIME setting yet"),
        ("ImportError: cannot import name 'db' from 'app.extensions'", None),  # not this stage's
        ("AttributeError: 'User' object has no attribute 'nickname'", None),  # in no stage
        ("KeyError: 'token'", None),  # a test's dict, not a setting
    ],
)
def test_an_error_is_named_as_the_missing_piece_of_a_step(error, missing):
    stage, previous = workspace.resolve("03", ROOT)
    why = workspace.Diagnosis(stage, workspace.plan(previous, stage), failures={})
    found = why.of_error(error)
    assert (found[1] if found else None) == missing


@pytest.mark.parametrize(
    ("node", "yours", "missing"),
    [
        (
            "tests/test_errors.py::test_cors_allows_only_the_configured_origins",
            "stages/09_migrations",
            "config.py has no CORS_ORIGINS setting yet",
        ),
        (  # a keyword argument names a setting too: make_client(TRUSTED_PROXIES=1)
            "tests/test_limits.py::test_behind_one_trusted_proxy_each_client_has_its_own_bucket",
            "stages/09_migrations",
            "config.py has no TRUSTED_PROXIES setting yet",
        ),
        (
            "tests/test_production.py::test_production_refuses_to_start_with_one_json_line[x]",
            "stages/09_migrations",
            "gunicorn.conf.py does not exist yet",
        ),
        ("tests/test_errors.py::test_cors_allows_only_the_configured_origins", "final", None),
        ("tests/test_production.py::test_one_worker_without_redis_is_allowed", "final", None),
    ],
)
def test_what_a_failing_test_needs_is_read_from_the_test(node, yours, missing):
    # Failures whose message names nothing (a header that is not there, a server that did not
    # start): the test itself names a setting your config.py lacks, or a file you lack.
    stage, previous = workspace.resolve("final", ROOT)
    why = workspace.Diagnosis(stage, workspace.plan(previous, stage), {}, ROOT / yours)
    found = why.of_source(node)
    assert (found[1] if found else None) == missing


@pytest.mark.parametrize("folder", stages.chain(ROOT), ids=lambda folder: folder.name)
def test_every_stage_has_steps_that_write_each_file_of_its_diff_once(folder):
    _, previous = workspace.resolve(folder.name, ROOT)
    steps = workspace.plan(previous, folder)
    written = [path for step in steps for path in step.paths]
    diff = (
        stages.stage_files(folder)
        if previous is None
        else [change.path for change in stages.diff_pair(previous, folder).changes]
    )
    assert sorted(written) == [path for path in diff if workspace.is_code(path)]
    for group in workspace.TOGETHER.get(folder.name, {}):  # a stale group would do nothing
        assert [step.paths for step in steps if step.paths[0] in group] == [list(group)]
    for path, (before, _why) in workspace.RUNS_AFTER.get(folder.name, {}).items():
        assert path in written
        assert all(any(p.startswith(b) for p in written[: written.index(path)]) for b in before)


def test_a_file_comes_after_the_new_names_it_imports(make_stage, tmp_path):
    before = make_stage("01_before", {"app/routes.py": "from app.models import Book\n"})
    after = make_stage(
        "02_after",
        {
            "app/routes.py": "from app.models import Book, Loan\nfrom app.new import thing\n",
            "app/models.py": "Book = Loan = None\n",  # Loan is new
            "app/new.py": "thing = 1\n",
        },
    )
    (before / "app" / "models.py").write_text("Book = None\n")
    order = [step.paths for step in workspace.plan(before, after)]
    assert order.index(["app/models.py"]) < order.index(["app/routes.py"])
    assert order.index(["app/new.py"]) < order.index(["app/routes.py"])


def test_a_file_that_drops_a_name_comes_after_the_files_that_stop_using_it(make_stage):
    before = make_stage(
        "01_factory",
        {"app/errors.py": "class Old: ...\n", "app/routes.py": "from app.errors import Old\n"},
    )
    after = make_stage(
        "02_after",
        {"app/errors.py": "class New: ...\n", "app/routes.py": "x = 1\n"},
    )
    order = [step.paths for step in workspace.plan(before, after)]
    assert order.index(["app/routes.py"]) < order.index(["app/errors.py"])


def test_files_that_import_each_other_are_written_in_a_row(make_stage):
    package = (
        "from flask import Blueprint\nbp = Blueprint('b', __name__)\nfrom app.b import routes\n"
    )
    before = make_stage("01_before")
    after = make_stage(
        "02_after",
        {
            "app/a.py": "a = 1\n",
            "app/b/__init__.py": package,
            "app/b/routes.py": "from app.b import bp\nfrom app.b.schemas import s\n",
            "app/b/schemas.py": "s = 1\n",
            "app/c.py": "c = 1\n",
        },
    )
    order = [path for step in workspace.plan(before, after) for path in step.paths]
    assert order.index("app/b/schemas.py") < order.index("app/b/__init__.py")
    assert order.index("app/b/routes.py") == order.index("app/b/__init__.py") + 1


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


# The sweep: a learner who writes the files in the order `start` prints never sees the number
# of passing tests drop, and ends with every test passing. That is a check per step per stage,
# about a hundred checks of two to five seconds of CPU each, so by default (and in `make test`)
# the sweep covers stage 03 only, each check running a sample of the stage's tests (every
# SAMPLE_EVERY-th test function of each file, the first included). By hand:
#   WORKSPACE_SWEEP=all pytest tests/test_workspace.py -k sweep    # every stage (many minutes)
#   WORKSPACE_SWEEP=05,final pytest tests/test_workspace.py -k sweep   # the stages named
#   WORKSPACE_SWEEP=full ...   every stage, every test of each
SWEEP = os.environ.get("WORKSPACE_SWEEP", "").strip()
SWEPT = (
    {folder.name for folder in stages.chain(ROOT)}
    if SWEEP in ("all", "full")
    else {workspace.resolve(name, ROOT)[0].name for name in (SWEEP or "03").split(",")}
)
SAMPLE_EVERY = 1 if SWEEP == "full" else 4
SLOW_FILES = set() if SWEEP == "full" else {"test_fuzz.py"}  # a minute of fuzzing per check
PASSING = re.compile(r"^All (\d+) tests pass|\((\d+) pass\)|^(\d+) tests pass;", re.M)


def sample(stage: Path) -> list[str]:
    """A -k expression for a sample of the stage's test functions (all their parameters).

    Races are left out: on code without their fix, threads that collide or not pass or fail
    by luck, so a race could pass after one step and fail after the next with nothing broken.
    The stage's own suite runs them.
    """
    chosen = []
    for path in sorted((stage / "tests").glob("test_*.py")):
        if path.name not in SLOW_FILES:
            source = path.read_text(encoding="utf-8")
            names = [
                node.name
                for node in ast.parse(source).body
                if getattr(node, "name", "").startswith("test_") and not is_race(node, source)
            ]
            chosen += names[::SAMPLE_EVERY]
    return ["-k", " or ".join(chosen)]


def is_race(test: ast.FunctionDef, source: str) -> bool:
    """A test that starts threads, itself or through the `race` fixture of test_lending.py."""
    uses_race = "race" in [argument.arg for argument in test.args.args]
    return uses_race or "threading." in (ast.get_source_segment(source, test) or "")


def apply(steps: list, reference: Path, copy: Path) -> None:
    """Write the reference stage's version of each file of these steps into the copy."""
    for change in (change for step in steps for change in step.changes):
        if change.status == "removed":
            (copy / change.path).unlink()
        else:
            (copy / change.path).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(reference / change.path, copy / change.path)


def passing(out: str) -> int:
    """The number of passing tests a check's last lines report (0 if none could start)."""
    if "No test could start" in out:
        return 0
    *_, last = PASSING.finditer(out)
    return int(next(group for group in last.groups() if group))


@pytest.mark.parametrize("folder", stages.chain(ROOT), ids=lambda folder: folder.name)
def test_sweep_writing_the_steps_in_order_never_lowers_the_passing_count(tmp_path, folder):
    if folder.name not in SWEPT:
        pytest.skip(f"minutes per stage: WORKSPACE_SWEEP={folder.name} (or all) sweeps it")
    _, previous = workspace.resolve(folder.name, ROOT)
    steps = workspace.plan(previous, folder)
    roots = []
    for done in range(len(steps) + 1):  # one repository per state: untouched, then each step
        root = tmp_path / f"after-{done}"
        for stage in filter(None, (previous, folder)):
            shutil.copytree(stage, root / stage.relative_to(ROOT), ignore=LOCAL_FILES)
        with contextlib.redirect_stdout(io.StringIO()):
            assert workspace.start(folder.name, root) == 0
        apply(steps[:done], folder, root / "workspace" / folder.name)
        roots.append(root)
    tools = ROOT / "tools" / "workspace.py"

    def check(root: Path) -> str:
        command = [sys.executable, str(tools), "check", folder.name, "--root", str(root)]
        done = subprocess.run(command + sample(folder), capture_output=True, text=True)
        return done.stdout + done.stderr

    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        outputs = list(pool.map(check, roots))

    counts = [passing(out) for out in outputs]
    labels = ["untouched"] + [" + ".join(step.paths) for step in steps]
    table = "\n".join(f"{n:5} pass after {label}" for n, label in zip(counts, labels, strict=True))
    print(f"{folder.name}, a sample of its tests:\n{table}")  # shown with pytest -s
    assert counts == sorted(counts), table
    assert re.search(r"^All \d+ tests pass", outputs[-1], re.M), outputs[-1]
    # The first check on an untouched copy fails in what the stage writes, not everywhere: the
    # tests of what the stage before built still pass (the first stage has no code to start).
    assert previous is None or counts[0] > 0, table
    named = re.findall(r"^  step (\d+): |^What is missing: .* \(step (\d+)\)\.$", outputs[0], re.M)
    named = [number for pair in named for number in pair if number]
    assert named and all(1 <= int(number) <= len(steps) for number in named), outputs[0]
