"""Benchmark final/ against a floor, the source material's patterns and flarchitect: `make bench`.

Every contender is a gunicorn server (same worker count, 127.0.0.1 only) reading the same
generated SQLite database; wrk, a separate process, loads one endpoint at a time for a bounded
time. Numbers are written to bench/results.json and bench/results.md (included by
docs/performance.md) and drawn in bench/*.png; nothing is typed in by hand.

    python bench/run.py [--duration 4] [--series-duration 2]

bench/.venv (flarchitect, matplotlib, pyinstrument) is created here from bench/requirements.txt;
the repository's own .venv, which runs this script, never gets those packages.
"""

import argparse
import contextlib
import json
import math
import os
import platform
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import report
from dataset import SEARCH_WORDS

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
WORK = (
    BENCH / ".work"
)  # databases, logs, path lists, the copy of final/ before the fix: git-ignored
CONTENDERS = BENCH / "contenders"
MAIN_BIN = Path(sys.executable).parent  # the repository's .venv: `make bench` runs us with it
BENCH_VENV = BENCH / ".venv"
BENCH_BIN = BENCH_VENV / "bin"
PATCH = BENCH / "before-fix.patch"
PLOTS = ("throughput.png", "scaling.png")  # what bench/plots.py draws

BOOKS, USERS, LOANS = 10_000, 2_000, 50_000
SERIES_LOANS = (1_000, 10_000, 50_000, 100_000)
WORKERS = 2  # one per core; every contender gets the same
CONNECTIONS = 4  # two per worker, so that no worker ever waits for wrk
ROUNDS = 2  # the main run measures every fast cell twice and keeps the better run
SLOW_REQUESTS, SLOW_CAP = 6, 60  # endpoints that take seconds: about 6 requests, 60 s at most
# Rate limits stay on (final/ in production counts every request) but can never be reached.
NO_LIMIT = "1000000 per second"


@dataclass(eq=False)  # told apart by identity: one process per Server object
class Server:
    """One gunicorn server: a contender's app in one configuration."""

    name: str
    app: str  # gunicorn's APP_MODULE
    chdir: Path
    ready: str  # a path that answers 200 once the app is up
    bin: Path = MAIN_BIN
    env: dict = field(default_factory=dict)


@dataclass
class Cell:
    """One measurement: a contender's endpoint under load."""

    contender: str
    endpoint: str
    server: Server
    paths: list[str]
    slow: bool = False  # seconds per request: load as long as a few requests take, and last


def random_paths(template: str, count: int = 1000, **ranges: range) -> list[str]:
    """Paths for wrk to pick from: `{page}`, `{id}` or `{word}` filled at random (seeded)."""
    rng = random.Random(template)
    values = {name: list(values) for name, values in ranges.items()}
    return [
        template.format(**{name: rng.choice(choices) for name, choices in values.items()})
        for _ in range(count)
    ]


PAGES = range(1, BOOKS // 20 + 1)
IDS = range(1, BOOKS + 1)
CACHED_PAGES = range(1, 11)  # few enough that a short warm-up caches all of them in every worker
FINAL_PATHS = {
    "list": random_paths("/books?page={page}&per_page=20", page=PAGES),
    "list (cached)": random_paths("/books?page={page}&per_page=20", page=CACHED_PAGES),
    "get": random_paths("/books/{id}", id=IDS),
    "search": random_paths("/books?title__ilike={word}", word=SEARCH_WORDS),
    "popular (cold)": ["/books/popular?limit=10"],
    "popular (cached)": ["/books/popular?limit=10"],
}
# The seed's list and search return every matching book (`.all()`); its popularity has no limit.
SEED_PATHS = {
    "list": ["/books"],
    "get": random_paths("/books/{id}", id=IDS),
    "search": random_paths("/books/search?q={word}", word=SEARCH_WORDS),
    "popular (cold)": ["/books/popular"],
}
FLARCHITECT_PATHS = {
    "list": random_paths("/api/books?page={page}&limit=20", page=PAGES),
    "get": random_paths("/api/books/{id}", id=IDS),
    "search": random_paths("/api/books?title__ilike={word}&limit=20", word=SEARCH_WORDS),
}
CACHED = ("list (cached)", "popular (cached)")
SLOW = {("seed", "popular (cold)")}


def final_servers(name: str, folder: Path) -> tuple[Server, Server]:
    """final/ (or its patched copy) twice: with a cache that never hits, and as configured.

    APP_CONFIG=production, as deployed: SECRET_KEY and DATABASE_URL come from the environment
    and every request is logged as a JSON line. NullCache makes every request a miss.
    """
    env = {
        "APP_CONFIG": "production",
        "SECRET_KEY": secrets.token_hex(32),
        "RATELIMIT_DEFAULT": NO_LIMIT,
        "RATELIMIT_WRITE": NO_LIMIT,
        "LOGIN_RATE_LIMIT": NO_LIMIT,
    }
    miss = Server(name, 'app:create_app({"CACHE_TYPE": "NullCache"})', folder, "/books/1", env=env)
    return miss, Server(name, "app:create_app()", folder, "/books/1", env=env)


def contenders(patched: Path | None) -> dict[str, dict[str, tuple[Server, list[str]]]]:
    """Each contender's endpoints: the server that answers it and the paths wrk picks from."""
    floor = Server("floor", "floor:app", CONTENDERS, "/books")
    seed = Server("seed", "seed:app", CONTENDERS, "/books/1")
    flarchitect = Server(
        "flarchitect", "flarchitect_app:app", CONTENDERS, "/api/books/1", BENCH_BIN
    )
    table = {"floor": {"list": (floor, ["/books"])}}
    finals = [("final", ROOT / "final")] + ([("final before the fix", patched)] if patched else [])
    for name, folder in finals:
        miss, hit = final_servers(name, folder)
        table[name] = {
            key: (hit if key in CACHED else miss, FINAL_PATHS[key]) for key in FINAL_PATHS
        }
    table["seed"] = {key: (seed, paths) for key, paths in SEED_PATHS.items()}
    table["flarchitect"] = {key: (flarchitect, paths) for key, paths in FLARCHITECT_PATHS.items()}
    return table


def plan(table: dict, endpoints: tuple[str, ...], names: tuple[str, ...]) -> list[Cell]:
    """Interleaved: each endpoint, every contender in turn, so that the machine's drift hits
    them alike. Slow cells come last: their unfinished requests would run into the next one."""
    cells = [
        Cell(name, endpoint, *table[name][endpoint], slow=(name, endpoint) in SLOW)
        for endpoint in endpoints
        for name in names
        if endpoint in table.get(name, {})
    ]
    return sorted(cells, key=lambda cell: cell.slow)


def main_plan(table: dict) -> list[Cell]:
    """Every endpoint of every contender; the floor first, in the middle and last."""
    names = tuple(name for name in table if name != "floor")
    cells = plan(table, tuple(FINAL_PATHS), names)
    floor = Cell("floor", "list", *table["floor"]["list"])
    fast = [cell for cell in cells if not cell.slow]
    middle = len(fast) // 2
    return [floor, *fast[:middle], floor, *fast[middle:], floor, *cells[len(fast) :]]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never an http_proxy


def get(url: str, timeout: float = 120) -> int:
    try:
        with DIRECT.open(url, timeout=timeout) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def start(server: Server, database: Path) -> tuple[subprocess.Popen, str, Path]:
    port = free_port()
    log = WORK / (re.sub(r"\W+", "-", f"{server.name} {server.app}").strip("-") + ".log")
    command = [
        str(server.bin / "gunicorn"),
        *("--workers", str(WORKERS), "--bind", f"127.0.0.1:{port}", "--chdir", str(server.chdir)),
        *("--timeout", "120"),  # the seed's popularity takes seconds per request
        "--no-control-socket",  # one per server, not one shared path in $HOME for all of them
        server.app,
    ]
    # Not the caller's environment: a REDIS_URL or APP_CONFIG there would change what is measured.
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": f"sqlite:///{database}", **server.env}
    # Started in WORK, where no gunicorn.conf.py is: every setting is on the command line above,
    # the same for every contender (final/'s own gunicorn.conf.py would add its own).
    with log.open("w") as output:
        process = subprocess.Popen(command, cwd=WORK, env=env, stdout=output, stderr=output)
    return process, f"http://127.0.0.1:{port}", log


def wait_until_ready(server: Server, process: subprocess.Popen, url: str, log: Path) -> None:
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            raise SystemExit(f"{server.name} did not start; see {log}")
        with contextlib.suppress(OSError):
            if get(url + server.ready, timeout=5) == 200:
                return
        if time.monotonic() > deadline:
            raise SystemExit(f"{server.name} did not answer within 60 s; see {log}")
        time.sleep(0.2)


@contextlib.contextmanager
def serving(servers: list[Server], database: Path) -> Iterator[dict[Server, tuple[str, int]]]:
    """Start every server at once (idle ones cost nothing), yield their URLs and process ids,
    stop them all."""
    started = {}
    try:
        for server in servers:
            started[server] = start(server, database)
        for server, (process, url, log) in started.items():
            wait_until_ready(server, process, url, log)
        yield {server: (url, process.pid) for server, (process, url, _) in started.items()}
    finally:
        for process, _, _ in started.values():
            process.send_signal(signal.SIGINT)  # quick shutdown: don't finish slow requests
        for process, _, _ in started.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def warm_up(url: str, paths: list[str], budget: float = 0.5) -> float:
    """Sequential requests until the budget is spent (at least one), so that every worker has
    compiled its queries and filled its cache before wrk measures. Anything but 200 stops the
    run. Returns the slowest request's seconds."""
    deadline, slowest = time.monotonic() + budget, 0.0
    for path in paths * 50:
        started = time.monotonic()
        status = get(url + path)
        slowest = max(slowest, time.monotonic() - started)
        if status != 200:
            raise SystemExit(f"GET {url}{path} answered {status}, not 200")
        if time.monotonic() > deadline:
            break
    return slowest


def workers_cpu(master: int) -> float:
    """CPU seconds (user + system) used so far by the gunicorn master's workers, from /proc:
    unlike req/s, barely changed by other programs competing for the same cores."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()  # after "pid (name)"
            if int(fields[1]) == master:  # ppid
                ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def load(url: str, master: int, cell: Cell, duration: int) -> dict:
    """wrk on one endpoint: requests/second and latency percentiles from paths.lua's done(),
    and the server's CPU time per request."""
    paths_file = WORK / "paths.txt"
    paths_file.write_text("\n".join(cell.paths) + "\n")
    seconds = warm_up(url, cell.paths)
    if cell.slow:  # about SLOW_REQUESTS requests on the workers, and half a request to spare
        waves = SLOW_REQUESTS / WORKERS + 0.5
        duration = min(SLOW_CAP, max(duration, math.ceil(waves * seconds)))
    command = [
        *("wrk", "--threads", "1", "--connections", str(CONNECTIONS)),
        *("--duration", f"{duration}s", "--timeout", f"{SLOW_CAP}s"),
        *("--script", str(BENCH / "paths.lua"), url, "--", str(paths_file)),
    ]
    cpu = workers_cpu(master)
    wrk = subprocess.run(command, capture_output=True, text=True)
    lines = [line for line in wrk.stdout.splitlines() if line.startswith("BENCH_JSON ")]
    if wrk.returncode != 0 or not lines:
        raise SystemExit(f"wrk failed on {url}{cell.paths[0]}:\n{wrk.stdout}{wrk.stderr}")
    numbers = json.loads(lines[0].removeprefix("BENCH_JSON "))
    # Requests wrk left unanswered still run on the server: let them finish before the next cell.
    time.sleep(min(numbers["p99_us"] / 1e6, 5))
    cpu = workers_cpu(master) - cpu
    requests = numbers["requests"]
    result = {
        "contender": cell.contender,
        "endpoint": cell.endpoint,
        "example": cell.paths[0],
        "duration_s": duration,
        "requests": requests,
        "rps": requests / (numbers["duration_us"] / 1e6),
        "p50_ms": numbers["p50_us"] / 1000 if requests else None,
        "p99_ms": numbers["p99_us"] / 1000 if requests else None,
        # Not for slow cells: their unfinished requests add CPU time that no request accounts for.
        "cpu_ms": cpu * 1000 / requests if requests and not cell.slow else None,
        "errors": sum(numbers[key] for key in ("connect", "read", "write", "timeout", "status")),
    }
    print(
        f"  {cell.contender:<14} {cell.endpoint:<17} {result['rps']:9.1f} req/s  "
        f"p50 {numbers['p50_us'] / 1000:8.2f} ms  p99 {numbers['p99_us'] / 1000:8.2f} ms  "
        f"cpu {cpu * 1000 / max(requests, 1):7.2f} ms/req  "
        f"({requests} requests in {duration} s, {result['errors']} errors)"
    )
    return result


def measure(cells: list[Cell], database: Path, duration: int, rounds: int = 1, **extra) -> list:
    """Every cell, `rounds` times over (slow cells once, at the end); every run is returned."""
    servers = list(dict.fromkeys(cell.server for cell in cells))
    fast = [cell for cell in cells if not cell.slow] * rounds
    with serving(servers, database) as started:
        return [
            {**load(*started[cell.server], cell, duration), **extra}
            for cell in fast + [cell for cell in cells if cell.slow]
        ]


def best(runs: list[dict]) -> list[dict]:
    """Per part, contender, endpoint and loan count, the run with the most req/s: programs on
    the machine can only slow a run down, so the fastest is the least disturbed."""
    kept = {}
    for run in runs:
        key = (run["part"], run["contender"], run["endpoint"], run["loans"])
        if key not in kept or run["rps"] > kept[key]["rps"]:
            kept[key] = run
    return list(kept.values())


def ensure_bench_venv() -> None:
    """bench/.venv from bench/requirements.txt, rebuilt only when the requirements change."""
    requirements = BENCH / "requirements.txt"
    stamp = BENCH_VENV / ".requirements"
    wanted = requirements.read_text() + (ROOT / "requirements.txt").read_text()
    if stamp.is_file() and stamp.read_text() == wanted:
        return
    print("Creating bench/.venv (flarchitect, matplotlib, pyinstrument)...")
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(BENCH_VENV)], check=True)
    pip = [str(BENCH_BIN / "python"), "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, "--disable-pip-version-check", "-r", str(requirements)], check=True)
    stamp.write_text(wanted)


def make_database(loans: int) -> Path:
    path = WORK / f"library-{loans}.db"
    command = [sys.executable, str(BENCH / "dataset.py"), str(path), "--loans", str(loans)]
    subprocess.run([*command, "--books", str(BOOKS), "--users", str(USERS)], check=True)
    return path


def patched_final() -> Path | None:
    """A copy of final/ with bench/before-fix.patch applied; None if it no longer applies."""
    folder = WORK / "final-patched"
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(
        ROOT / "final", folder, ignore=shutil.ignore_patterns("instance", "__pycache__", "*.db")
    )
    # -p2 drops "a/final/"; --directory puts the files under the copy instead.
    directory = folder.relative_to(ROOT)
    applied = subprocess.run(
        ["git", "apply", "-p2", f"--directory={directory}", str(PATCH)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if applied.returncode != 0:
        print(f"bench/before-fix.patch does not apply to final/ any more:\n{applied.stderr}")
        return None
    return folder


def machine() -> dict:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout.split()
    gunicorn = subprocess.run(
        [str(MAIN_BIN / "gunicorn"), "--version"], capture_output=True, text=True
    ).stdout
    flarchitect = subprocess.run(
        [str(BENCH_BIN / "python"), "-c", "import flarchitect; print(flarchitect.__version__)"],
        capture_output=True,
        text=True,
    ).stdout
    return {
        "nproc": int(subprocess.run(["nproc"], capture_output=True, text=True).stdout),
        "cpu": cpu,
        "python": platform.python_version(),
        "os": platform.platform(terse=True),
        "wrk": wrk[1] if len(wrk) > 1 else "?",  # "wrk debian/4.1.0-3+b2 [epoll] ..."
        "gunicorn": gunicorn.strip().removeprefix("gunicorn (version ").rstrip(")"),
        "flarchitect": flarchitect.strip(),
    }


def elapsed(started: float) -> str:
    return f"at {time.monotonic() - started:.0f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=4, help="seconds of load per endpoint")
    parser.add_argument(
        "--series-duration", type=int, default=2, help="seconds per endpoint in the loan series"
    )
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # progress shows as it happens, even piped
    if shutil.which("wrk") is None:
        sys.exit("wrk, the load generator, is missing. Install it: sudo apt-get install -y wrk")
    started = time.monotonic()
    WORK.mkdir(exist_ok=True)
    ensure_bench_venv()
    databases = {loans: make_database(loans) for loans in sorted({LOANS, *SERIES_LOANS})}
    patched = patched_final()

    table = contenders(patched)
    print(f"\nMain run ({elapsed(started)}): {BOOKS} books, {USERS} users, {LOANS} loans")
    runs = measure(
        main_plan(table), databases[LOANS], args.duration, ROUNDS, part="main", loans=LOANS
    )
    print(f"\nLoan series ({elapsed(started)}): popularity and list, 1 000 to 100 000 loans")
    series_plan = plan(table, ("list", "popular (cold)"), ("final", "final before the fix", "seed"))
    for loans in SERIES_LOANS:
        print(f" {loans} loans")
        database = databases[loans]
        runs += measure(series_plan, database, args.series_duration, part="series", loans=loans)

    print(f"\nProfiling final/'s list endpoint with pyinstrument ({elapsed(started)})")
    profile = [str(BENCH_BIN / "python"), str(BENCH / "profile.py"), str(databases[LOANS])]
    subprocess.run([*profile, str(BENCH / "profile.txt")], check=True)

    data = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "method": {
            "books": BOOKS,
            "users": USERS,
            "loans": LOANS,
            "series_loans": list(SERIES_LOANS),
            "workers": WORKERS,
            "connections": CONNECTIONS,
            "duration_s": args.duration,
            "slow_requests": SLOW_REQUESTS,
            "series_duration_s": args.series_duration,
            "rounds": ROUNDS,
            "patch_applied": patched is not None,
        },
        "results": [run for run in best(runs) if run["part"] == "main"],
        "series": [run for run in best(runs) if run["part"] == "series"],
        "runs": runs,  # every run, the floor's included
    }
    data["total_s"] = round(time.monotonic() - started)
    report.write(data, BENCH)
    subprocess.run([str(BENCH_BIN / "python"), str(BENCH / "plots.py"), str(BENCH)], check=True)
    docs_assets = ROOT / "docs" / "assets" / "bench"
    docs_assets.mkdir(parents=True, exist_ok=True)
    for png in PLOTS:  # the docs site only serves files under docs/
        shutil.copy(BENCH / png, docs_assets / png)
    print(f"\nbench/results.md, results.json and plots written in {data['total_s']} s.")


if __name__ == "__main__":
    main()
