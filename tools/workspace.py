"""Practise a stage: start from the stage before it, then check your code with the stage's tests.

    python tools/workspace.py start 03          # copy stages/02_blueprints to workspace/03_auth/
    python tools/workspace.py check 03          # run stages/03_auth/tests on workspace/03_auth/
    python tools/workspace.py check 03 -k login # arguments after the stage go to pytest

`make start STAGE=03` and `make check STAGE=03` run the same. A stage is named 3, 03, 03_auth or
final. workspace/ is git-ignored: what you write there is yours.

`start` copies the code of the stage before (none for the first stage), with the new stage's
README.md, tests/ and pyproject.toml, and prints the files to write as numbered steps, in an
order in which no step breaks a test that passed (plan()). `check` ends with what is missing,
named after the step that writes it: "POST /users/login answers 404: the login route is not
written yet (...)", "app/auth.py has no encode_token yet", "config.py has no CORS_ORIGINS
setting yet" (Diagnosis, from tools/workspace_plugin.py's report and the failing tests).
"""

import argparse
import ast
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import stages  # tools/stages.py: the stage chain, the files of a stage, the diff of two stages

ROOT = Path(__file__).resolve().parents[1]
# -rfE: a short summary line for each failure and error. no:nbmake: the notebooks' plugin has
# nothing to do in a stage and takes seconds to import (nbformat, jsonschema).
PYTEST = ["-q", "--tb=short", "-rfE", "-p", "no:cacheprovider", "-p", "no:nbmake"]
PYTEST += ["-p", "workspace_plugin"]  # tools/workspace_plugin.py: what each failing test ran into
PLUGIN_REPORT = "LIBRARY_CHECK_REPORT"
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


@dataclass
class Step:
    """One step of the practice: a file to write (rarely two that only work together)."""

    changes: list[stages.FileChange]

    @property
    def paths(self) -> list[str]:
        return [change.path for change in self.changes]


# Files that only work together, as one step, each with its reason. The sweep in
# tests/test_workspace.py proves that every stage's order keeps each passing test passing.
TOGETHER: dict[str, dict[tuple[str, ...], str]] = {
    "02_blueprints": {
        ("app/routes.py", "app/errors.py"): (
            "the old book routes raise InvalidBody, which errors.py replaces with the handler of "
            "the schemas' ValidationError: the routes go with the error type they raise"
        ),
    },
    "03_auth": {
        ("app/models.py", "app/blueprints/users/schemas.py"): (
            "an auto schema shows its model's new column (token_version) at once; the schema "
            "that hides it cannot be written before the column exists"
        ),
    },
    "06_lending": {
        ("app/demo_data.py", "app/cli.py"): (
            "each demo loan gains a field (returned?) that the seed command unpacks: the data "
            "and the code that reads it change together"
        ),
    },
}
# Needs that no import shows, each with its reason: file -> (what to write before it, why).
# A path ending in "/" stands for every file of the stage under it.
RUNS_AFTER: dict[str, dict[str, tuple[tuple[str, ...], str]]] = {
    "09_migrations": {
        "app/cli.py": (
            ("app/__init__.py", "app/lending.py", "migrations/"),
            "init-db runs the migrations, which the factory finds in migrations/; check-stock "
            "calls lending.stock_drift()",
        ),
    },
}
# Files that no import reaches, and the tests that need them (paths in tests/, or folders):
# while such a file is missing from your workspace, a failing test among these names it.
NEEDED_BY: dict[str, dict[str, tuple[str, ...]]] = {
    "final": {  # gunicorn reads its settings from the folder it starts in
        "gunicorn.conf.py": ("tests/test_production.py", "tests/integration/"),
    },
}
# Written as soon as what they import is: code reads settings at run time, and an extension
# works only once the factory binds it to the app, which no import shows.
FIRST = {"config.py", "app/__init__.py"}


def module_of(path: str) -> str | None:
    """app/blueprints/users/routes.py -> app.blueprints.users.routes; app/x/__init__.py -> app.x"""
    if not path.endswith(".py"):
        return None
    parts = path.removesuffix(".py").split("/")
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def parse(text: str) -> ast.Module | None:
    try:
        return ast.parse(text)
    except (SyntaxError, ValueError):
        return None


def defined_names(text: str) -> set[str]:
    """The names a module defines at its top level (functions, classes, assignments, imports)."""
    names: set[str] = set()
    for node in getattr(parse(text), "body", []):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(target.id for target in targets if isinstance(target, ast.Name))
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return names


def imported(path: str, text: str) -> list[tuple[str, str | None]]:
    """(module, name) for each name a Python file imports; name is None for `import module`."""
    package = (module_of(path) or "").split(".")
    if not path.endswith("/__init__.py"):
        package = package[:-1]
    found: list[tuple[str, str | None]] = []
    for node in ast.walk(parse(text) or ast.Module(body=[], type_ignores=[])):
        if isinstance(node, ast.Import):
            found += [(alias.name, None) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            found += [(module, alias.name) for alias in node.names]
    return found


def plan(previous: Path | None, stage: Path) -> list[Step]:
    """The files a learner writes to turn `previous` into `stage`, in an order in which each
    step keeps every passing test passing (tests/test_workspace.py holds every stage to it).
    The first stage (no `previous`) is written from an empty folder.

    Worked out from the imports (see needs()), then: settings and the factory as early as they
    can be (FIRST), files that import each other one after the other, files that mostly delete
    last, once what replaces them is written; else the order of the diff. TOGETHER joins files
    that only work together into one step.
    """
    if previous is None:
        with tempfile.TemporaryDirectory() as nothing:
            return plan(Path(nothing), stage)
    changes = [c for c in stages.diff_pair(previous, stage).changes if is_code(c.path)]
    steps = [Step([change]) for change in changes]
    for group in TOGETHER.get(stage.name, {}):
        members = [step for path in group for step in steps if step.paths == [path]]
        if len(members) == len(group):  # else the stage changed: the sweep test says so
            steps = [step for step in steps if step not in members]
            steps.append(Step([change for step in members for change in step.changes]))
    first = needs(previous, stage, changes)
    for path, (before, _why) in RUNS_AFTER.get(stage.name, {}).items():
        if path in first:
            first[path] |= {c.path for c in changes for b in before if c.path.startswith(b)}
    index = {path: number for number, step in enumerate(steps) for path in step.paths}
    after = [
        {index[need] for path in step.paths for need in first[path]} - {number}
        for number, step in enumerate(steps)
    ]

    def reach(number: int) -> set[int]:
        """The steps this one needs, directly or through others."""
        seen, todo = set(), [number]
        while todo:
            todo += (new := after[todo.pop()] - seen)
            seen |= new
        return seen

    def rank(number: int) -> tuple:
        step = steps[number]
        deletes = sum(c.removed for c in step.changes) > sum(c.added for c in step.changes)
        early = any(path in FIRST for path in step.paths)
        return (deletes, not early, min(changes.index(change) for change in step.changes))

    # Steps that need each other (a package and its routes) are a block, written in a row.
    reaches = [reach(number) for number in range(len(steps))]
    blocks = {
        frozenset(j for j in range(len(steps)) if j == i or (j in reaches[i] and i in reaches[j]))
        for i in range(len(steps))
    }
    ordered: list[int] = []
    while blocks:
        done = set(ordered)
        ready = [block for block in blocks if all(after[i] <= done | block for i in block)]
        block = min(ready, key=lambda block: min(map(rank, block)))
        ordered += sorted(block, key=rank)
        blocks.remove(block)
    return [steps[number] for number in ordered]


def explain(stage: Path, step: Step) -> str:
    """Why a step is where it is, when no import shows it (TOGETHER, RUNS_AFTER); else ""."""
    if reason := TOGETHER.get(stage.name, {}).get(tuple(step.paths)):
        return f"one step: {reason}"
    if after := RUNS_AFTER.get(stage.name, {}).get(step.paths[0]):
        return f"after {', '.join(after[0])}: {after[1]}"
    return ""


def needs(previous: Path, stage: Path, changes: list[stages.FileChange]) -> dict[str, set[str]]:
    """For each changed file, the changed files to write before it, read from the imports:
    a file comes after the files it imports names from (the names may be new, or new there),
    and before a file that drops a name its old version imports."""
    by_module = {module_of(c.path): c for c in changes if module_of(c.path)}
    old = {c.path: stages.read_text(previous / c.path) or "" for c in changes}
    new = {c.path: stages.read_text(stage / c.path) or "" for c in changes}
    first: dict[str, set[str]] = {c.path: set() for c in changes}

    def imports(change: stages.FileChange, text: str):
        """The changed files this one imports from, each with the name (None: the module)."""
        for module, name in imported(change.path, text):
            if name and f"{module}.{name}" in by_module:  # `from package import submodule`
                module, name = f"{module}.{name}", None
            if (other := by_module.get(module)) is not None and other is not change:
                yield other, name

    dropped = set()  # (user, file): the user's old version imports a name the file drops
    for change in changes:
        if change.status != "added":
            for other, name in imports(change, old[change.path]):
                if other.status == "removed" or (
                    other.status == "changed"
                    and name
                    and name not in defined_names(new[other.path])
                ):
                    first[other.path].add(change.path)  # stop using it, then drop it
                    dropped.add((change.path, other.path))
    for change in changes:
        if change.status != "removed":
            for other, name in imports(change, new[change.path]):
                if (change.path, other.path) not in dropped and (other.status == "added" or name):
                    first[change.path].add(other.path)
    return first


def copy_files(source: Path, target: Path, paths: list[str]) -> None:
    for path in paths:
        (target / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / path, target / path)


def is_theirs(path: str) -> bool:
    """What a check takes from the real stage; everything else comes from the workspace."""
    return path == "pyproject.toml" or path.startswith("tests/")


def is_code(path: str) -> bool:
    """What the learner writes: everything but the stage's tests, settings and README."""
    return not is_theirs(path) and path != "README.md"


def start(name: str | None, root: Path = ROOT, force: bool = False) -> int:
    stage, previous = resolve(name, root)
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
    # Your starting point is the code of the stage before (none for the first stage); what you
    # read and what checks your code is the new stage's: its README, its tests and their
    # settings. No caches, no instance/.
    if previous is not None:
        code = [path for path in stages.stage_files(previous) if is_code(path)]
        copy_files(previous, target, code)
    copy_files(stage, target, [path for path in stages.stage_files(stage) if not is_code(path)])

    steps = plan(previous, stage)
    width = max((len(path) for step in steps for path in step.paths), default=0)
    if previous is None:
        print(f"Made {where}/: {stage.name} is the first stage, so you start with no code.")
    else:
        print(f"Copied the code of {relative(previous, root)}/ to {where}/: your starting point.")
    print(
        f"Its README.md and tests/ are {stage.name}'s: read README.md first, it says what to build."
    )
    print()
    print("Write these files in this order: no step breaks a test that passed before it.")
    for number, step in enumerate(steps, 1):
        for index, change in enumerate(step.changes):
            label = f"{number:>3}." if index == 0 else "    "
            status = STATUS[change.status]
            print(
                f"  {label} {status:<8} {change.path:<{width}}  +{change.added} -{change.removed}"
            )
        if reason := explain(stage, step):
            print(textwrap.fill(reason, 96, initial_indent=" " * 7, subsequent_indent=" " * 7))
    print()
    print("Check your code with the stage's tests after each step, as often as you like:")
    print(f"  make check STAGE={short_name(stage)}")
    print(
        f"  python tools/workspace.py check {short_name(stage)} -k NAME"
        "   (only the tests whose name contains NAME)"
    )
    return 0


def check(name: str | None, root: Path = ROOT, pytest_args: list[str] | None = None) -> int:
    stage, previous = resolve(name, root)
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
        report = Path(scratch) / "report.json"
        command = [sys.executable, "-m", "pytest", *PYTEST, "--continue-on-collection-errors"]
        returncode, lines = run(
            command + list(pytest_args or []),
            cwd=build,
            rename=lambda line: real_places(line, build, tests, yours),
            env={PLUGIN_REPORT: str(report), "PYTHONPATH": plugin_path()},
        )
        failures = json.loads(report.read_text(encoding="utf-8")) if report.is_file() else {}
    why = Diagnosis(stage, plan(previous, stage), failures, workspace)
    return summarise(returncode, lines, stage, root, why)


def plugin_path() -> str:
    """PYTHONPATH for the check: tools/ (for workspace_plugin), then what was there before."""
    return os.pathsep.join(filter(None, [str(Path(__file__).parent), os.environ.get("PYTHONPATH")]))


def real_places(line: str, build: Path, tests: str, yours: str) -> str:
    """pytest names files in the temporary copy. Name the ones the learner can open instead:
    tests/ is the stage's (your workspace's tests/ is the older stage's), the rest is yours."""
    for folder in dict.fromkeys([str(build.resolve()), str(build)]):
        line = line.replace(f"{folder}/", "")
    line = TESTS_PATH.sub(f"{tests}/", line)
    return CODE_PATH.sub(f"{yours}/", line)


def run(
    command: list[str], cwd: Path, rename: Callable[[str], str], env: dict[str, str] | None = None
) -> tuple[int, list[str]]:
    """Run the command in its own process, printing its output as it comes."""
    # The learner's terminal width, so that pytest's summary lines are not cut at 80 columns.
    env = {**os.environ, "COLUMNS": str(shutil.get_terminal_size().columns), **(env or {})}
    lines = []
    with subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as process:
        for line in process.stdout:
            line = rename(line)
            print(line, end="", flush=True)
            lines.append(line.rstrip("\n"))
    return process.returncode, lines


def summarise(returncode: int, lines: list[str], stage: Path, root: Path, why: "Diagnosis") -> int:
    """The last lines of a check: did it pass, and if not, what is missing and which test to
    read first."""
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
        if found := why.of_error(error):
            print(f"What is missing: {found[1]} (step {found[0]}).")
        print("The traceback above ends at the line that fails.")
        return returncode
    if returncode != 1:  # 2 interrupted, 3 internal error, 4 usage error
        print(f"pytest stopped (exit {returncode}); its output above says why.")
        return returncode

    missing: dict[tuple[int, str], list[str]] = {}  # (step, what) -> what it breaks
    for path, reason in import_errors(lines).items():
        print(f"{path} cannot be imported: {reason}")
        if found := why.of_error(reason):
            missing.setdefault(found, []).append(path)
    # The short summary lists failures, then errors; a learner wants the first test that ran.
    nodes = {match[1] for line in lines if (match := PROBLEM.match(line)) and "::" in match[1]}
    in_build = {node: node.removeprefix(f"{relative(stage, root)}/") for node in nodes}
    causes = why.of_tests(in_build.values())
    for node in nodes:
        if found := causes.get(in_build[node]):
            missing.setdefault(found, []).append(node)
    if missing:
        print("What is missing, in the order of the steps:")
        for (step, what), broken in sorted(missing.items()):
            tests = sum("::" in item for item in broken)
            files = len(broken) - tests
            effects = [plural(tests, "failing test"), plural(files, "test file") + " not imported"]
            print(f"  step {step}: {what} ({', '.join(e for e in effects if e[0] != '0')})")

    def first(node: str) -> tuple:
        """Tests of the earliest step first, then in the order of the files."""
        cause = causes.get(in_build[node])
        return (cause[0] if cause else len(nodes) + 1, where_defined(root, node))

    failing = sorted(nodes, key=first)
    passing = counts.get("passed", 0)
    if failing:
        node = failing[0]
        path, number = where_defined(root, node)
        count = "1 test fails" if len(failing) == 1 else f"{len(failing)} tests fail"
        print(
            f"{count} ({passing} pass); the first failing test is "
            f"{node.partition('::')[2]} — read it in {path}:{number}"
        )
    else:
        print(f"{passing} tests pass; your code must provide what the other test files import.")
    return returncode


def plural(count: int, thing: str) -> str:
    return f"{count} {thing}{'s' if count != 1 else ''}"


# What an exception says, and the missing piece it names.
NO_MODULE = re.compile(r"No module named '([\w.]+)'")
NO_NAME = re.compile(r"cannot import name '(\w+)' from '([\w.]+)'")
NO_MODULE_ATTRIBUTE = re.compile(r"module '([\w.]+)' has no attribute '(\w+)'")
NO_ATTRIBUTE = re.compile(r"(?:type object '(\w+)'|'(\w+)' object) has no attribute '(\w+)'")
NO_SETTING = re.compile(r"^(?:KeyError: )?'([A-Z][A-Z0-9_]+)'$")  # app.config["NAME"]
# A setting a test names: "CORS_ORIGINS" (a key, an environment variable), TRUSTED_PROXIES=1.
SETTING_NAME = re.compile(r"(?<![\w.])[\"']?([A-Z][A-Z0-9]*_[A-Z0-9_]+)(?:[\"']|=(?!=))")
# Run in the reference stage: which of its routes answer the requests that found none in yours.
ROUTES = """
import inspect, json, os, sys
from app import create_app
from werkzeug.exceptions import HTTPException
app, found = create_app("testing"), {}
for method, path in json.load(sys.stdin):
    try:
        endpoint, _ = app.url_map.bind("localhost").match(path, method)
    except HTTPException:
        continue
    view = inspect.unwrap(app.view_functions[endpoint])
    found[f"{method} {path}"] = [view.__name__, os.path.relpath(inspect.getsourcefile(view))]
print(json.dumps(found))
"""


class Diagnosis:
    """Names the piece a failure misses (a file of the stage, a name in it, a setting, a route)
    with the step of `start` that writes it."""

    def __init__(
        self, stage: Path, steps: list[Step], failures: dict[str, dict], mine: Path | None = None
    ):
        self.stage = stage
        self.step_of = {path: number for number, step in enumerate(steps, 1) for path in step.paths}
        self.failures = failures  # from tools/workspace_plugin.py, by test id
        self.mine = mine  # the learner's workspace, if there is one to compare with

    def file_of(self, module: str) -> str | None:
        base = module.replace(".", "/")
        return next((p for p in (f"{base}.py", f"{base}/__init__.py") if p in self.step_of), None)

    def defines(self, path: str, name: str, cls: str | None = None) -> bool:
        """Whether the stage's file defines `name` at its top level, or in its class `cls`."""
        text = stages.read_text(self.stage / path) or ""
        if cls is None:
            return name in defined_names(text)
        return any(
            name in defined_names(ast.unparse(ast.Module(node.body, [])))
            for node in getattr(parse(text), "body", [])
            if isinstance(node, ast.ClassDef) and node.name == cls
        )

    def of_error(self, error: str) -> tuple[int, str] | None:
        """The missing piece an error message names, as (step, sentence); None if it names
        nothing this stage writes."""
        if match := NO_MODULE.search(error):
            module = match[1]
            while module and not self.file_of(module):  # app.blueprints.x.routes: the package
                module = module.rpartition(".")[0]
            if path := module and self.file_of(module):
                return self.step_of[path], f"{path} does not exist yet"
        if match := NO_NAME.search(error) or NO_MODULE_ATTRIBUTE.search(error):
            name, module = (
                (match[1], match[2]) if "cannot import" in error else (match[2], match[1])
            )
            if (path := self.file_of(module)) and self.defines(path, name):
                return self.step_of[path], f"{path} has no {name} yet"
        if match := NO_ATTRIBUTE.search(error):
            cls, name = match[1] or match[2], match[3]
            for path in self.step_of:
                if path.endswith(".py") and self.defines(path, name, cls):
                    return self.step_of[path], f"{cls} in {path} has no {name} yet"
        if (match := NO_SETTING.search(error)) and "config.py" in self.step_of:
            settings = stages.read_text(self.stage / "config.py") or ""
            if re.search(rf"^\s+{match[1]} = ", settings, re.M):  # a class attribute in config.py
                return self.step_of["config.py"], f"config.py has no {match[1]} setting yet"
        return None

    def of_tests(self, nodes) -> dict[str, tuple[int, str]]:
        """For each failing test (tests/test_x.py::test_y): its missing piece, if one is named."""
        failures = {node: self.failures.get(node, {}) for node in nodes}
        routes = self.routes({(m, p) for f in failures.values() for m, p, _ in f.get("misses", [])})
        causes = {}
        for node, failure in failures.items():
            for method, path, status in failure.get("misses", []):
                if found := routes.get(f"{method} {path}"):
                    function, source = found
                    if source in self.step_of:
                        causes[node] = (
                            self.step_of[source],
                            f"{method} {path} answers {status}: "
                            f"the {function} route is not written yet ({source})",
                        )
                        break
            else:
                error = f"{failure.get('error')}: {failure.get('message')}"
                if found := self.of_error(error) or self.of_source(node):
                    causes[node] = found
        return causes

    def of_source(self, node: str) -> tuple[int, str] | None:
        """What a failing test needs that your workspace lacks, read from the test itself: a
        setting it names that the stage's config.py has and yours does not (a test that sets
        CORS_ORIGINS fails in ways no message ties to config.py), or a file from NEEDED_BY."""
        if self.mine is None:
            return None
        path, _, test = node.partition("::")
        if "config.py" in self.step_of:
            theirs = stages.read_text(self.stage / "config.py") or ""
            yours = stages.read_text(self.mine / "config.py") or ""
            for name in SETTING_NAME.findall(test_source(self.stage / path, test)):
                if re.search(rf"\b{name}\b", theirs) and not re.search(rf"\b{name}\b", yours):
                    return self.step_of["config.py"], f"config.py has no {name} setting yet"
        for file, users in NEEDED_BY.get(self.stage.name, {}).items():
            if file in self.step_of and not (self.mine / file).exists() and path.startswith(users):
                return self.step_of[file], f"{file} does not exist yet"
        return None

    def routes(self, requests: set[tuple[str, str]]) -> dict[str, list[str]]:
        """The reference stage's view (function, file) for each request, if it has one."""
        if not requests:
            return {}
        process = subprocess.run(
            [sys.executable, "-c", ROUTES],
            cwd=self.stage,
            input=json.dumps(sorted(requests)),
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        )
        lines = process.stdout.strip().splitlines()
        return json.loads(lines[-1]) if process.returncode == 0 and lines else {}


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


def test_source(path: Path, test: str) -> str:
    """The source of a test function (test_y, or test_y[case]) in a test file; "" if not found."""
    source = stages.read_text(path) or ""
    function = test.split("[")[0]
    for node in getattr(parse(source), "body", []):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == function:
            return ast.get_source_segment(source, node) or ""
    return ""


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
