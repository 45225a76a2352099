"""Run every check of the repository, each test suite in its own process, and summarise.

    python tools/run_checks.py            # everything `make test` runs
    python tools/run_checks.py stages     # only the given groups: lint stages tools chain docs ...
    python tools/run_checks.py contract   # the API contract from outside (tests/contract/)
    python tools/run_checks.py --jobs 1   # one check at a time (default: one per CPU, at most 2)

Every stage and final/ has its own `app` package, so each suite runs as `pytest` inside its own
folder, in a separate process. Checks run side by side, the longest first; each one's output is
printed whole when it ends. The last line is a total that CI can read.
"""

import argparse
import os
import re
import subprocess
import sys
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SPEC_TOOLS = ROOT / "tools" / "spec-tools"  # npm tools that check the spec, pinned by its lockfile
SUMMARY = re.compile(r"(\d+) (passed|failed|skipped|errors?|xfailed|xpassed)")


@dataclass
class Check:
    group: str
    name: str
    command: list[str]
    cwd: Path = ROOT
    is_pytest: bool = False
    env: dict | None = None  # added to this process's environment
    after: str | None = None  # the name of a check that must end first
    weight: int = 1  # roughly how long it takes: the heaviest start first


@dataclass
class Outcome:
    check: Check
    returncode: int
    seconds: float
    counts: dict[str, int]

    @property
    def line(self) -> str:
        status = "ok" if self.returncode == 0 else f"FAILED (exit {self.returncode})"
        if self.counts:
            status = ", ".join(f"{n} {word}" for word, n in self.counts.items()) + (
                "" if self.returncode == 0 else f" — FAILED (exit {self.returncode})"
            )
        return f"{self.check.name:<28} {status}  [{self.seconds:.1f}s]"


def suites() -> list[Path]:
    """Every folder with its own test suite: the stages in order, then final/."""
    folders = sorted(path.parent for path in ROOT.glob("stages/*/pyproject.toml"))
    if (ROOT / "final" / "pyproject.toml").exists():
        folders.append(ROOT / "final")
    return folders


def services_configured() -> bool:
    return bool(os.environ.get("TEST_DATABASE_URL") and os.environ.get("TEST_REDIS_URL"))


def all_checks() -> list[Check]:
    pytest = [str(BIN / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    suite = [*pytest, "-p", "no:nbmake"]  # the notebook plugin only slows the other suites down
    checks = [
        Check("lint", "ruff check", [str(BIN / "ruff"), "check", "."], weight=1000),  # fast: first
        Check("lint", "ruff format --check", [str(BIN / "ruff"), "format", "--check", "."]),
    ]
    for folder in suites():
        name = str(folder.relative_to(ROOT))
        weight = len(list(folder.glob("tests/**/test_*.py")))  # later stages test more
        checks.append(Check("stages", name, suite, cwd=folder, is_pytest=True, weight=weight))
    if (ROOT / "final").is_dir() and services_configured():
        # The same suite on PostgreSQL and Redis, plus the gunicorn integration tests.
        checks.append(
            Check(
                "services",
                "final on PostgreSQL + Redis",
                suite,
                cwd=ROOT / "final",
                is_pytest=True,
                env={"TEST_SERVICES": "1"},
                weight=100,
            )
        )
    if (ROOT / "tests").is_dir():
        checks.append(Check("tools", "tests (repository)", pytest, is_pytest=True, weight=10))
    if (ROOT / "tools" / "stages.py").exists():
        checks.append(
            Check("chain", "stage chain", [str(BIN / "python"), "tools/stages.py", "--check"])
        )
    if (ROOT / "tests" / "contract").is_dir():
        # The lockfile, once installed, is copied into node_modules: a changed one installs again.
        installed = "node_modules/.installed-package-lock.json"
        npm_ci = (
            f"cmp -s package-lock.json {installed} || {{ npm ci --ignore-scripts --no-audit "
            f"--no-fund && cp package-lock.json {installed}; }}"
        )
        checks.append(
            Check("contract", "spec tools (npm ci)", ["sh", "-c", npm_ci], SPEC_TOOLS, weight=50)
        )
        checks.append(
            Check(
                "contract",
                "contract (final/ over HTTP)",
                [*pytest, "tests/contract"],
                is_pytest=True,
                after="spec tools (npm ci)",
                weight=30,
            )
        )
    if (ROOT / "mkdocs.yml").exists():
        # Not -q: at that level mkdocs does not see its own warnings, and --strict passes them.
        build = [str(BIN / "mkdocs"), "build", "--strict"]
        checks.append(Check("docs", "mkdocs build --strict", build, weight=50))
    notebooks = sorted(str(path.relative_to(ROOT)) for path in ROOT.glob("notebooks/*.ipynb"))
    if notebooks:
        checks.append(
            Check(
                "notebooks",
                "notebooks",
                [*pytest, "--nbmake", *notebooks],
                is_pytest=True,
                weight=15,
            )
        )
    if (ROOT / "tools" / "browser_check.py").exists():
        checks.append(
            Check(
                "browser",
                "browser check",
                [str(BIN / "python"), "tools/browser_check.py"],
                after="mkdocs build --strict",  # it opens the built site
                weight=40,
            )
        )
    return checks


def run(check: Check) -> Outcome:
    start = time.monotonic()
    process = subprocess.run(
        check.command,
        cwd=check.cwd,
        env={**os.environ, **(check.env or {})},
        stdout=subprocess.PIPE,
        text=True,
        stderr=subprocess.STDOUT,
    )
    counts = {}
    if check.is_pytest:
        tail = process.stdout.strip().splitlines()[-1:] or [""]
        counts = {
            word.rstrip("s") if word.startswith("error") else word: int(n)
            for n, word in SUMMARY.findall(tail[0])
        }
    outcome = Outcome(check, process.returncode, time.monotonic() - start, counts)
    print(f"\n==> {outcome.line}\n{process.stdout}", end="", flush=True)  # whole, not interleaved
    return outcome


def run_all(checks: list[Check], jobs: int) -> list[Outcome]:
    """Run the checks `jobs` at a time, the heaviest ready one first; a check waits for the
    one named in its `after`. Outcomes come back in the order of `checks`."""
    names = {check.name for check in checks}
    waiting, done, running = list(checks), {}, {}
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        while waiting or running:
            ready = [c for c in waiting if c.after not in names or c.after in done]
            for check in sorted(ready, key=lambda c: -c.weight)[: jobs - len(running)]:
                waiting.remove(check)
                running[pool.submit(run, check)] = check
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                done[running.pop(future).name] = future.result()
    return [done[check.name] for check in checks]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("groups", nargs="*", help="run only these groups")
    parser.add_argument(
        "--jobs", type=int, default=min(2, os.cpu_count() or 1), help="checks at a time"
    )
    arguments = parser.parse_args()
    groups = arguments.groups
    checks = [check for check in all_checks() if not groups or check.group in groups]
    start = time.monotonic()
    outcomes = run_all(checks, max(1, arguments.jobs))

    print("\n" + "=" * 72 + "\nSummary")
    for outcome in outcomes:
        print(outcome.line)
    if (ROOT / "final").is_dir() and not services_configured() and not groups:
        print(
            f"{'final on PostgreSQL + Redis':<28} SKIPPED: set TEST_DATABASE_URL and TEST_REDIS_URL"
            ' (eval "$(tools/services.sh start)") to run it and the gunicorn integration tests'
        )
    totals = {"passed": 0, "failed": 0, "skipped": 0}
    for outcome in outcomes:
        for word, n in outcome.counts.items():
            key = "failed" if word in {"failed", "error"} else word
            totals[key] = totals.get(key, 0) + n
    failed_checks = [outcome.check.name for outcome in outcomes if outcome.returncode != 0]
    if failed_checks:
        print(f"\nFailed: {', '.join(failed_checks)}")
    print(
        f"total: {totals['passed']} passed, {totals['failed']} failed, {totals['skipped']} skipped"
        f" in {time.monotonic() - start:.0f} s, {arguments.jobs} at a time"
    )
    return 1 if failed_checks else 0


if __name__ == "__main__":
    sys.exit(main())
