"""Practise a stage: start from the stage before it, then check your code with the stage's tests.

    python tools/workspace.py start 03          # copy stages/02_blueprints to workspace/03_auth/
    python tools/workspace.py check 03          # run stages/03_auth/tests on workspace/03_auth/
    python tools/workspace.py check 03 -k login # arguments after the stage go to pytest

`make start STAGE=03` and `make check STAGE=03` run the same. A stage is named 3, 03, 03_auth or
final. workspace/ is git-ignored: what you write there is yours.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Callable
from pathlib import Path

import stages  # tools/stages.py: the stage chain, the files of a stage, the diff of two stages

ROOT = Path(__file__).resolve().parents[1]
# -rfE: a short summary line for each failure and error. no:nbmake: the notebooks' plugin has
# nothing to do in a stage and takes seconds to import (nbformat, jsonschema).
PYTEST = ["-q", "--tb=short", "-rfE", "-p", "no:cacheprovider", "-p", "no:nbmake"]
# pytest's short summary ("-rfE"): `FAILED tests/test_x.py::test_y - reason`, `ERROR ...`.
PROBLEM = re.compile(r"^(?:FAILED|ERROR) (.+?)(?: - .*)?$")
STATUS = {"added": "new", "changed": "changed", "removed": "deleted"}
COLLECTING = re.compile(r"^_+ ERROR collecting (.+?) _+$")
# Paths relative to the copy, as pytest prints them: "tests/test_x.py:12: in", "app/auth.py:3".
TESTS_PATH = re.compile(r"(?<![\w./-])tests/(?=\w)")
CODE_PATH = re.compile(r"(?<![\w./-])(?=app/|config\.py\b)")
COUNT = re.compile(r"(\d+) (passed|failed|errors?)\b")


class UsageError(Exception):
    """The command line names no stage, or one that does not exist: exit 2 with a usage line."""


def relative(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)


def short_name(folder: Path) -> str:
    """What a learner types: 03 for stages/03_auth, final for final/."""
    return folder.name.split("_")[0]


def usage(root: Path) -> str:
    names = ", ".join(
        folder.name if folder.name == "final" else f"{short_name(folder)} ({folder.name})"
        for folder in stages.chain(root)
    )
    return (
        "usage: make start STAGE=03   then   make check STAGE=03\n"
        "   or: python tools/workspace.py start|check STAGE [pytest arguments]\n"
        f"STAGE is one of: {names}"
    )


def resolve(name: str | None, root: Path = ROOT) -> tuple[Path, Path | None]:
    """The stage folder a name means, and the stage before it (None for the first stage)."""
    if not name:
        raise UsageError("Name a stage.")
    wanted = name.strip().rstrip("/").removeprefix("stages/")
    folders = stages.chain(root)
    for index, folder in enumerate(folders):
        number = short_name(folder)
        same_number = wanted.isdigit() and number.isdigit() and int(wanted) == int(number)
        if wanted in (folder.name, number) or same_number:
            return folder, folders[index - 1] if index else None
    raise UsageError(f"There is no stage {name!r}.")


def copy_files(source: Path, target: Path, paths: list[str]) -> None:
    for path in paths:
        (target / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / path, target / path)


def is_theirs(path: str) -> bool:
    """What a check takes from the real stage; everything else comes from the workspace."""
    return path == "pyproject.toml" or path.startswith("tests/")


def start(name: str | None, root: Path = ROOT, force: bool = False) -> int:
    stage, previous = resolve(name, root)
    if previous is None:
        raise UsageError(f"{stage.name} is the first stage: there is no stage before it to copy.")
    target = root / "workspace" / stage.name
    where = relative(target, root)
    if target.exists():
        if not force:
            print(
                f"{where}/ already exists, and it may hold your work: nothing was copied.\n"
                f"Carry on there, or start over (this deletes it) with:\n"
                f"  python tools/workspace.py start {short_name(stage)} --force"
            )
            return 1
        shutil.rmtree(target)
    copy_files(previous, target, stages.stage_files(previous))  # no caches, no instance/

    changes = stages.diff_pair(previous, stage).changes
    # README.md is step 1; the tests are what checks the code, listed after it.
    code = [c for c in changes if not is_theirs(c.path) and c.path != "README.md"]
    tests = [change for change in changes if change.path.startswith("tests/")]
    width = max((len(change.path) for change in code), default=0)
    print(f"Copied {relative(previous, root)}/ to {where}/: your starting point for {stage.name}.")
    print()
    print(f"  1. Read {relative(stage, root)}/README.md: what this stage adds.")
    print("  2. Change your copy. The reference stage changes these files (lines + and -):")
    for change in code:
        status = STATUS[change.status]
        print(f"       {status:<8} {change.path:<{width}}  +{change.added} -{change.removed}")
    print("  3. Check your copy with the stage's own tests, as often as you like:")
    print(f"       make check STAGE={short_name(stage)}")
    print(
        f"       python tools/workspace.py check {short_name(stage)} -k NAME"
        "   (only the tests whose name contains NAME)"
    )
    if tests:
        listed = ", ".join(f"{change.path} ({STATUS[change.status]})" for change in tests)
        indent = " " * 5
        print(
            textwrap.fill(
                f"New or changed tests: {listed}.",
                96,
                initial_indent=indent,
                subsequent_indent=indent,
            )
        )
    return 0


def check(name: str | None, root: Path = ROOT, pytest_args: list[str] | None = None) -> int:
    stage, _ = resolve(name, root)
    workspace = root / "workspace" / stage.name
    if not workspace.is_dir():
        print(
            f"{relative(workspace, root)}/ does not exist yet. Start it with:\n"
            f"  make start STAGE={short_name(stage)}"
        )
        return 1
    tests, yours = f"{relative(stage, root)}/tests", relative(workspace, root)
    print(f"Running {tests} against your code in {yours}/", flush=True)
    # One folder with your app and the stage's tests, as the stage has them: the tests import
    # `app` and `config` from next to them, and some run `python -c "from app import ..."` there.
    # A temporary folder, so the check leaves nothing behind in your workspace.
    with tempfile.TemporaryDirectory(prefix="library-check-") as scratch:
        build = Path(scratch) / stage.name
        mine = [path for path in stages.stage_files(workspace) if not is_theirs(path)]
        copy_files(workspace, build, mine)
        copy_files(stage, build, [path for path in stages.stage_files(stage) if is_theirs(path)])
        command = [sys.executable, "-m", "pytest", *PYTEST, "--continue-on-collection-errors"]
        returncode, lines = run(
            command + list(pytest_args or []),
            cwd=build,
            rename=lambda line: real_places(line, build, tests, yours),
        )
    return summarise(returncode, lines, stage, root)


def real_places(line: str, build: Path, tests: str, yours: str) -> str:
    """pytest names files in the temporary copy. Name the ones the learner can open instead:
    tests/ is the stage's (your workspace's tests/ is the older stage's), the rest is yours."""
    for folder in dict.fromkeys([str(build.resolve()), str(build)]):
        line = line.replace(f"{folder}/", "")
    line = TESTS_PATH.sub(f"{tests}/", line)
    return CODE_PATH.sub(f"{yours}/", line)


def run(command: list[str], cwd: Path, rename: Callable[[str], str]) -> tuple[int, list[str]]:
    """Run the command in its own process, printing its output as it comes."""
    # The learner's terminal width, so that pytest's summary lines are not cut at 80 columns.
    env = {**os.environ, "COLUMNS": str(shutil.get_terminal_size().columns)}
    lines = []
    with subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as process:
        for line in process.stdout:
            line = rename(line)
            print(line, end="", flush=True)
            lines.append(line.rstrip("\n"))
    return process.returncode, lines


def summarise(returncode: int, lines: list[str], stage: Path, root: Path) -> int:
    """The last lines of a check: did it pass, and if not, which test to read first."""
    tail = next((line for line in reversed(lines) if COUNT.search(line)), "")
    counts = {word.rstrip("s"): int(n) for n, word in COUNT.findall(tail)}
    print()
    if returncode == 0:
        print(f"All {counts.get('passed', 0)} tests pass: your code does what {stage.name} asks.")
        print(f"Compare it with the reference in {relative(stage, root)}/.")
        return 0
    if returncode == 5:
        print("No test ran: does the -k expression match any test name?")
        return returncode
    errors = [line.removeprefix("E").strip() for line in lines if line.startswith("E   ")]
    if any(line.startswith("ImportError while loading conftest") for line in lines):
        error = errors[-1] if errors else "an error"
        print(f"No test could start: importing your app fails with {error}.")
        print("The traceback above ends at the line that fails.")
        return returncode
    if returncode != 1:  # 2 interrupted, 3 internal error, 4 usage error
        print(f"pytest stopped (exit {returncode}); its output above says why.")
        return returncode

    for path, reason in import_errors(lines).items():
        print(f"{path} cannot be imported: {reason}")
    # The short summary lists failures, then errors; a learner wants the first test that ran.
    nodes = {match[1] for line in lines if (match := PROBLEM.match(line)) and "::" in match[1]}
    failing = sorted((where_defined(root, node), node) for node in nodes)
    if failing:
        (path, number), node = failing[0]
        count = "1 test fails" if len(failing) == 1 else f"{len(failing)} tests fail"
        print(
            f"{count} ({counts.get('passed', 0)} pass); the first failing test is "
            f"{node.partition('::')[2]} — read it in {path}:{number}"
        )
    else:
        print("Your code must provide what these test files import.")
    return returncode


def import_errors(lines: list[str]) -> dict[str, str]:
    """Test files that could not be imported, each with the error (the first `E   ` line)."""
    errors, current = {}, None
    for line in lines:
        if match := COLLECTING.match(line):
            current = match[1]
        elif current and line.startswith("E   "):
            errors[current] = line.removeprefix("E").strip()
            current = None
    return errors


def where_defined(root: Path, node: str) -> tuple[str, int]:
    """The file and line where a test (stages/NN/tests/test_x.py::test_y[case]) is defined."""
    path, _, test = node.partition("::")
    function = test.split("[")[0]  # test_y[case] is test_y with parameters
    source = root / path
    if source.is_file():
        for number, line in enumerate(source.read_text(encoding="utf-8").splitlines(), 1):
            if re.match(rf"\s*(async\s+)?def {re.escape(function)}\(", line):
                return path, number
    return path, 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,  # so that pytest's options never pass for abbreviations of ours
    )
    parser.add_argument("command", choices=["start", "check"])
    parser.add_argument("stage", nargs="?", help="3, 03, 03_auth or final")
    parser.add_argument("--force", action="store_true", help="start: replace an existing copy")
    parser.add_argument("--root", type=Path, default=ROOT, help="repository root (for tests)")
    args, pytest_args = parser.parse_known_args(argv)
    try:
        if args.command == "start":
            if pytest_args:
                raise UsageError(f"start takes no other arguments: {' '.join(pytest_args)}")
            return start(args.stage, args.root, args.force)
        return check(args.stage, args.root, pytest_args)
    except UsageError as error:
        print(f"{error}\n{usage(args.root)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
