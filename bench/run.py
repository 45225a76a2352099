"""Benchmark final/ against a floor, the source material's patterns and flarchitect: `make bench`.

Every contender is a gunicorn server (same worker count, 127.0.0.1 only) reading the same
generated database; wrk, a separate process, loads one endpoint at a time for a bounded time.
Two stacks: SQLite with final/'s limits and cache in each worker's memory, and PostgreSQL with
Redis (final/'s recommended production stack; tools/services.sh starts throw-away servers, or
TEST_DATABASE_URL and TEST_REDIS_URL name running ones). The cost ledger serves final/ once per
feature turned off (bench/contenders/final_variant.py) and measures CPU ms per request.
Numbers are written to bench/results.json and bench/results.md (included by
docs/performance.md) and drawn in bench/*.png; nothing is typed in by hand.

    python bench/run.py [--duration 4] [--series-duration 2]
    BENCH_QUICK=1 python bench/run.py   # one short round of everything, no loan series: minutes

bench/.venv (flarchitect, matplotlib, pyinstrument, orjson) is created here from
bench/requirements.txt; the repository's own .venv, which runs this script, never gets them.
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
PLOTS = ("throughput.png", "scaling.png", "ledger.png")  # what bench/plots.py draws

BOOKS, USERS, LOANS = 10_000, 2_000, 50_000
SERIES_LOANS = (1_000, 10_000, 100_000)
WORKERS = 2  # one per core; every contender gets the same
CONNECTIONS = 4  # two per worker, so that no worker ever waits for wrk
ROUNDS = 2  # the main run measures every fast cell twice and keeps the better run
SLOW_REQUESTS, SLOW_CAP = 6, 60  # endpoints that take seconds: about 6 requests, 60 s at most
# Rate limits stay on (final/ in production counts every request) but can never be reached.
NO_LIMIT = "1000000 per second"
QUICK = os.environ.get("BENCH_QUICK") == "1"  # for iterating on the benchmark itself

SQLITE, POSTGRES = "sqlite", "postgres+redis"
PG_PORT, REDIS_PORT = "54341", "63841"  # tools/services.sh's servers for make bench alone
SERVICES_DIR = "/tmp/library-bench-services"
REDIS_DB = 15  # a database of its own, flushed before the run, even on a shared Redis


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
class Stack:
    """Where the contenders keep their data: one database URL, and Redis for final/ or not."""

    name: str
    database_url: str
    redis_url: str | None = None


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
CACHES = ("miss", "hit")
SLOW = {("seed", "popular (cold)")}

# The cost ledger: final/ served once per variant of bench/contenders/final_variant.py, each
# measured on the endpoints where it changes something. "" is final/ as it is.
LEDGER_ENDPOINTS = ("get", "list", "list (cached)")
LEDGER = {
    "nothing": LEDGER_ENDPOINTS,
    "rate limit": LEDGER_ENDPOINTS,
    "limiter's timer thread": LEDGER_ENDPOINTS,
    "rate-limit headers": LEDGER_ENDPOINTS,
    "cache lookup": ("get", "list"),  # without the decorator a cached page is a miss
    "cheaper cache key": ("list", "list (cached)"),  # get by id has no query string
    "request id and log line": LEDGER_ENDPOINTS,
    "QueueHandler": ("get", "list (cached)"),
    "token check": ("get", "list (cached)"),
    "marshmallow": ("get", "list"),
    "ORM objects": ("get", "list"),
    "orjson": ("get", "list"),  # a hit sends cached bytes: nothing to encode
    "COUNT every request": ("list",),
    "keyset": ("list",),
    "view's answer in the cache": ("get", "list (cached)"),
}
# On PostgreSQL + Redis, the variants whose cost the stack changes (no timer thread there).
LEDGER_ON_SERVICES = (
    "nothing",
    "rate limit",
    "rate-limit headers",
    "cache lookup",
    "request id and log line",
    "ORM objects",
    "orjson",
    "COUNT every request",
    "view's answer in the cache",
)


def final_server(
    name: str, folder: Path, stack: Stack, cache: str, off: str = "", bin: Path = MAIN_BIN
) -> Server:
    """final/ (or its patched copy) through bench/contenders/final_variant.py: `cache` is "miss"
    (every cached view misses, counts still cache) or "hit" (as configured); `off` a variant.

    APP_CONFIG=production, as deployed: SECRET_KEY and DATABASE_URL come from the environment
    and every request is logged as a JSON line. On the services stack, REDIS_URL holds the
    rate-limit counters and the cache, shared by both workers.
    """
    env = {
        "APP_CONFIG": "production",
        "SECRET_KEY": secrets.token_hex(32),
        "RATELIMIT_DEFAULT": NO_LIMIT,
        "RATELIMIT_WRITE": NO_LIMIT,
        "LOGIN_RATE_LIMIT": NO_LIMIT,
        "BENCH_FINAL": str(folder),
        "BENCH_CACHE": cache,
        "BENCH_OFF": off,
    }
    if stack.redis_url:
        env["REDIS_URL"] = stack.redis_url
    return Server(name, "final_variant:create_app()", CONTENDERS, "/books/1", bin, env)


def contenders(stack: Stack, patched: Path | None) -> dict[str, dict[str, tuple[Server, list]]]:
    """Each contender's endpoints: the server that answers it and the paths wrk picks from."""
    floor = Server("floor", "floor:app", CONTENDERS, "/books")
    seed = Server("seed", "seed:app", CONTENDERS, "/books/1")
    flarchitect = Server(
        "flarchitect", "flarchitect_app:app", CONTENDERS, "/api/books/1", BENCH_BIN
    )
    table = {"floor": {"list": (floor, ["/books"])}}
    finals = [("final", ROOT / "final")] + ([("final before the fix", patched)] if patched else [])
    for name, folder in finals:
        miss = final_server(name, folder, stack, "miss")
        hit = final_server(name, folder, stack, "hit")
        table[name] = {
            key: (hit if key in CACHED else miss, FINAL_PATHS[key]) for key in FINAL_PATHS
        }
    seed_paths = dict(SEED_PATHS)
    if stack.name != SQLITE or QUICK:  # 10 000 lazy loads over TCP: minutes, not seconds
        del seed_paths["popular (cold)"]
    table["seed"] = {key: (seed, paths) for key, paths in seed_paths.items()}
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


def with_floor(cells: list[Cell], floor: Cell) -> list[Cell]:
    """The floor before each endpoint's cells and after the last: every cell has a floor run
    seconds away, to divide by (report.py pairs them)."""
    fast = [cell for cell in cells if not cell.slow]
    planned = []
    for n, cell in enumerate(fast):
        if n == 0 or cell.endpoint != fast[n - 1].endpoint:
            planned.append(floor)
        planned.append(cell)
    return [*planned, floor, *cells[len(fast) :]]


def main_plan(table: dict) -> list[Cell]:
    """Every endpoint of every contender, and the floor."""
    names = tuple(name for name in table if name != "floor")
    return with_floor(
        plan(table, tuple(FINAL_PATHS), names), Cell("floor", "list", *table["floor"]["list"])
    )


def ledger_plan(stack: Stack, variants: tuple[str, ...]) -> list[list[tuple[Cell, Cell]]]:
    """Per variant, its endpoints, each paired with final/ as it is on the same endpoint: the
    two are loaded at the same time (measure_pairs). Both from bench/.venv, where orjson (one
    of the variants) is installed; its pins are .venv's."""
    groups = []
    for off in variants:
        servers = {
            (cache, name): final_server(
                f"final - {name or 'all on'}", ROOT / "final", stack, cache, name, BENCH_BIN
            )
            for cache in CACHES
            for name in (off, "")
        }
        pairs = []
        for endpoint in LEDGER[off]:
            cache = "hit" if endpoint in CACHED else "miss"
            paths = FINAL_PATHS[endpoint]
            pairs.append(
                (
                    Cell(off, endpoint, servers[cache, off], paths),
                    Cell("", endpoint, servers[cache, ""], paths),
                )
            )
        groups.append(pairs)
    return groups


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


def start(server: Server, stack: Stack) -> tuple[subprocess.Popen, str, Path]:
    port = free_port()
    name = f"{stack.name} {server.name} {server.app} {server.env.get('BENCH_CACHE', '')}"
    log = WORK / (re.sub(r"\W+", "-", name).strip("-") + ".log")
    command = [
        str(server.bin / "gunicorn"),
        *("--workers", str(WORKERS), "--bind", f"127.0.0.1:{port}", "--chdir", str(server.chdir)),
        *("--timeout", "120"),  # the seed's popularity takes seconds per request
        "--no-control-socket",  # one per server, not one shared path in $HOME for all of them
        server.app,
    ]
    # Not the caller's environment: a REDIS_URL or APP_CONFIG there would change what is measured.
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": stack.database_url, **server.env}
    # Started in WORK, where no gunicorn.conf.py is: every setting is on the command line above,
    # the same for every contender (final/'s own gunicorn.conf.py would add its own).
    with log.open("w") as output:
        process = subprocess.Popen(command, cwd=WORK, env=env, stdout=output, stderr=output)
    return process, f"http://127.0.0.1:{port}", log


def wait_until_ready(server: Server, process: subprocess.Popen, url: str, log: Path) -> None:
    # Generous: the ledger starts some thirty servers at once, on a machine others may share.
    deadline = time.monotonic() + 300
    while True:
        if process.poll() is not None:
            raise SystemExit(f"{server.name} did not start; see {log}")
        with contextlib.suppress(OSError):
            if get(url + server.ready, timeout=5) == 200:
                return
        if time.monotonic() > deadline:
            raise SystemExit(f"{server.name} did not answer within 300 s; see {log}")
        time.sleep(0.2)


def stop(started: dict) -> None:
    for process, _, _ in started.values():
        process.send_signal(signal.SIGINT)  # quick shutdown: don't finish slow requests
    for process, _, _ in started.values():
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def serving(
    servers: list[Server], stack: Stack, started: dict | None = None
) -> Iterator[dict[Server, tuple[str, int]]]:
    """Start every server at once (idle ones cost nothing; `started`: some already are), yield
    their URLs and process ids, stop them all."""
    started = dict(started or {})
    try:
        for server in servers:
            if server not in started:
                started[server] = start(server, stack)
        for server, (process, url, log) in started.items():
            wait_until_ready(server, process, url, log)
        yield {server: (url, process.pid) for server, (process, url, _) in started.items()}
    finally:
        stop(started)


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
    return load_together([(url, master, cell)], duration)[0]


def load_together(loads: list[tuple[str, int, Cell]], duration: int) -> list[dict]:
    """One wrk per (server, cell), all at the same time: cells loaded together meet the same
    load from the rest of the machine, so their CPU times per request compare fairly."""
    durations, commands = [], []
    for n, (url, _, cell) in enumerate(loads):
        paths_file = WORK / f"paths-{n}.txt"
        paths_file.write_text("\n".join(cell.paths) + "\n")
        seconds = warm_up(url, cell.paths, 0.5 if len(loads) == 1 else 0.3)
        if cell.slow:  # about SLOW_REQUESTS requests on the workers, and some to spare: under
            waves = SLOW_REQUESTS / WORKERS + 1.5  # load, a request takes longer than alone
            durations.append(min(SLOW_CAP, max(duration, math.ceil(waves * seconds))))
        else:
            durations.append(duration)
        commands.append(
            [
                *("wrk", "--threads", "1", "--connections", str(CONNECTIONS)),
                *("--duration", f"{durations[-1]}s", "--timeout", f"{SLOW_CAP}s"),
                *("--script", str(BENCH / "paths.lua"), url, "--", str(paths_file)),
            ]
        )
    cpus = [workers_cpu(master) for _, master, _ in loads]
    running = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for command in commands
    ]
    outputs = [process.communicate() for process in running]
    numbers = []
    for (url, _, cell), process, (stdout, stderr) in zip(loads, running, outputs, strict=True):
        lines = [line for line in stdout.splitlines() if line.startswith("BENCH_JSON ")]
        if process.returncode != 0 or not lines:
            raise SystemExit(f"wrk failed on {url}{cell.paths[0]}:\n{stdout}{stderr}")
        numbers.append(json.loads(lines[0].removeprefix("BENCH_JSON ")))
    # Requests wrk left unanswered still run on the server: let them finish before the next cell.
    time.sleep(min(max(n["p99_us"] for n in numbers) / 1e6, 5))
    results = []
    for (_, master, cell), number, cpu, seconds in zip(
        loads, numbers, cpus, durations, strict=True
    ):
        cpu = workers_cpu(master) - cpu
        requests = number["requests"]
        result = {
            "contender": cell.contender,
            "endpoint": cell.endpoint,
            "example": cell.paths[0],
            "duration_s": seconds,
            "requests": requests,
            "rps": requests / (number["duration_us"] / 1e6),
            "p50_ms": number["p50_us"] / 1000 if requests else None,
            "p99_ms": number["p99_us"] / 1000 if requests else None,
            # Not for slow cells: their unfinished requests add CPU time no request accounts for.
            "cpu_ms": cpu * 1000 / requests if requests and not cell.slow else None,
            "errors": sum(number[key] for key in ("connect", "read", "write", "timeout", "status")),
        }
        print(
            f"  {cell.contender or 'all on':<22} {cell.endpoint:<17} {result['rps']:9.1f} req/s  "
            f"p50 {number['p50_us'] / 1000:8.2f} ms  p99 {number['p99_us'] / 1000:8.2f} ms  "
            f"cpu {cpu * 1000 / max(requests, 1):7.3f} ms/req  "
            f"({requests} requests in {seconds} s, {result['errors']} errors)"
        )
        results.append(result)
    return results


def measure_pairs(
    groups: list[list[tuple[Cell, Cell]]], stack: Stack, duration: int, rounds: int, **extra
) -> list:
    """The ledger: each group (one variant's endpoints, each paired with final/ as it is) has
    servers of its own, started together, so both sides of a pair have served the same requests
    since they started (a cache holds as much on both). Each pair is loaded together
    (load_together), `rounds` times over; each variant's run carries its partner's CPU ms/req."""

    def servers_of(pairs: list[tuple[Cell, Cell]]) -> list[Server]:
        return list(dict.fromkeys(cell.server for pair in pairs for cell in pair))

    runs, following = [], {}
    try:
        for number, pairs in enumerate(groups):
            with serving(servers_of(pairs), stack, following) as started:
                # The next group's servers start while this one is measured: both sides of
                # every pair meet their start-up alike, and the run does not wait for it.
                following.clear()
                for server in servers_of(groups[number + 1]) if number + 1 < len(groups) else []:
                    following[server] = start(server, stack)
                for n in range(rounds):
                    for variant, baseline in pairs:
                        mine, base = load_together(
                            [
                                (*started[variant.server], variant),
                                (*started[baseline.server], baseline),
                            ],
                            duration,
                        )
                        common = {"stack": stack.name, "round": n, **extra}
                        runs += [
                            {**mine, **common, "baseline_cpu_ms": base["cpu_ms"]},
                            {**base, **common, "paired_with": variant.contender},
                        ]
    finally:
        stop(following)  # started for a group that never ran, if something failed
    return runs


def measure(cells: list[Cell], stack: Stack, duration: int, rounds: int = 1, **extra) -> list:
    """Every cell, `rounds` times over (slow cells once, at the end); every run is returned,
    with its round and its place in the run (`seq`), so that report.py can pair each run with
    the runs measured next to it."""
    servers = list(dict.fromkeys(cell.server for cell in cells))
    fast = [cell for cell in cells if not cell.slow]
    order = [(n, cell) for n in range(rounds) for cell in fast]
    order += [(rounds - 1, cell) for cell in cells if cell.slow]
    with serving(servers, stack) as started:
        return [
            {
                **load(*started[cell.server], cell, duration),
                "stack": stack.name,
                "round": n,
                "seq": seq,
                **extra,
            }
            for seq, (n, cell) in enumerate(order)
        ]


def best(runs: list[dict]) -> list[dict]:
    """Per stack, part, contender, endpoint and loan count, the run with the most req/s:
    programs on the machine can only slow a run down, so the fastest is the least disturbed."""
    kept = {}
    for run in runs:
        key = (run["stack"], run["part"], run["contender"], run["endpoint"], run["loans"])
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
    print("Creating bench/.venv (flarchitect, matplotlib, pyinstrument, orjson)...")
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(BENCH_VENV)], check=True)
    pip = [str(BENCH_BIN / "python"), "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, "--disable-pip-version-check", "-r", str(requirements)], check=True)
    stamp.write_text(wanted)


def make_database(target: str, loans: int) -> str:
    """The dataset in a SQLite file (target: a file name in WORK) or a PostgreSQL URL."""
    url = target if "://" in target else f"sqlite:///{WORK / target}"
    command = [sys.executable, str(BENCH / "dataset.py"), url, "--loans", str(loans)]
    subprocess.run([*command, "--books", str(BOOKS), "--users", str(USERS)], check=True)
    return url


@contextlib.contextmanager
def services() -> Iterator[tuple[str, str] | None]:
    """PostgreSQL and Redis URLs: TEST_DATABASE_URL and TEST_REDIS_URL if set, else throw-away
    servers from tools/services.sh (stopped afterwards); None if neither is possible."""
    if os.environ.get("TEST_DATABASE_URL") and os.environ.get("TEST_REDIS_URL"):
        yield os.environ["TEST_DATABASE_URL"], os.environ["TEST_REDIS_URL"]
        return
    env = {**os.environ, "SERVICES_DIR": SERVICES_DIR}
    env.update(TEST_PG_PORT=PG_PORT, TEST_REDIS_PORT=REDIS_PORT)
    script = str(ROOT / "tools" / "services.sh")
    started = subprocess.run([script, "start"], env=env, capture_output=True, text=True)
    if started.returncode != 0:
        print(f"No PostgreSQL + Redis stack: tools/services.sh start failed:\n{started.stderr}")
        yield None
        return
    urls = dict(re.findall(r"export (\w+)=(\S+)", started.stdout))
    try:
        yield urls["TEST_DATABASE_URL"], urls["TEST_REDIS_URL"]
    finally:
        subprocess.run([script, "stop"], env=env, check=False)


def services_stack(database_url: str, redis_url: str) -> Stack:
    """A database of the benchmark's own beside the given one, and a Redis database of its own,
    emptied: the tests' data is never touched, and no entry of an earlier run is read."""
    import psycopg  # the repository's .venv has it: final/ runs on PostgreSQL

    url = re.sub(r"/[^/]*$", "/library_bench", database_url)
    with psycopg.connect(database_url.replace("+psycopg", ""), autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = 'library_bench'")
        if exists.fetchone() is None:
            connection.execute("CREATE DATABASE library_bench")
    redis_url = re.sub(r"/\d*$", "", redis_url) + f"/{REDIS_DB}"
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    return Stack(POSTGRES, url, redis_url)


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


def final_config() -> str:
    """The config final/ ran in: production, unless a server's log says it fell back."""
    from final_variant import FALLBACK

    for log in WORK.glob("*final*.log"):
        for line in log.read_text(errors="replace").splitlines():
            if line.startswith(FALLBACK):
                return "development with JSON logs (" + line.split(": ", 1)[1] + ")"
    return "production"


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
        "load_average": [round(value, 2) for value in os.getloadavg()],  # at the end of the run
    }


def elapsed(started: float) -> str:
    return f"at {time.monotonic() - started:.0f} s"


def run_stack(stack: Stack, args: argparse.Namespace, patched: Path | None, started: float):
    """The main run and the ledger on one stack (and, on SQLite, the loan series)."""
    rounds = 1 if QUICK else ROUNDS
    table = contenders(stack, patched if stack.name == SQLITE else None)
    print(f"\n{stack.name}: main run ({elapsed(started)}), {LOANS} loans")
    main_cells = main_plan(table)
    runs = measure(main_cells, stack, args.duration, rounds, part="main", loans=LOANS)
    print(f"\n{stack.name}: cost ledger ({elapsed(started)})")
    variants = tuple(LEDGER) if stack.name == SQLITE else LEDGER_ON_SERVICES
    ledger = measure_pairs(
        ledger_plan(stack, variants), stack, args.ledger_duration, rounds, part="ledger"
    )
    return runs, ledger


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=3, help="seconds of load per endpoint")
    parser.add_argument(
        "--series-duration", type=int, default=2, help="seconds per endpoint in the loan series"
    )
    parser.add_argument(
        "--ledger-duration", type=int, default=2, help="seconds per cell of the cost ledger"
    )
    args = parser.parse_args()
    if QUICK:
        args.duration = args.series_duration = args.ledger_duration = 1
    sys.stdout.reconfigure(line_buffering=True)  # progress shows as it happens, even piped
    if shutil.which("wrk") is None:
        sys.exit("wrk, the load generator, is missing. Install it: sudo apt-get install -y wrk")
    started = time.monotonic()
    WORK.mkdir(exist_ok=True)
    for log in WORK.glob("*.log"):
        log.unlink()
    sys.path.insert(0, str(CONTENDERS))
    ensure_bench_venv()
    series_loans = () if QUICK else SERIES_LOANS
    databases = {n: make_database(f"library-{n}.db", n) for n in sorted({LOANS, *series_loans})}
    patched = patched_final()

    sqlite = Stack(SQLITE, databases[LOANS])
    runs, ledger = run_stack(sqlite, args, patched, started)

    if series_loans:
        print(f"\nLoan series ({elapsed(started)}): popularity and list, 1 000 to 100 000 loans")
        table = contenders(sqlite, patched)
        names = ("final", "final before the fix", "seed")
        series_plan = plan(table, ("list", "popular (cold)"), names)
        for loans in series_loans:
            print(f" {loans} loans")
            stack = Stack(SQLITE, databases[loans])
            runs += measure(series_plan, stack, args.series_duration, part="series", loans=loans)

    with services() as urls:
        if urls:
            stack = services_stack(*urls)
            print(f"\n{POSTGRES} ({elapsed(started)}): generating the dataset in PostgreSQL")
            make_database(stack.database_url, LOANS)
            more_runs, more_ledger = run_stack(stack, args, None, started)
            runs += more_runs
            ledger += more_ledger

    print(f"\nProfiling final/'s list endpoint with pyinstrument ({elapsed(started)})")
    profile = [str(BENCH_BIN / "python"), str(BENCH / "profile.py"), databases[LOANS]]
    subprocess.run([*profile, str(BENCH / "profile.txt")], check=True)

    data = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "method": {
            "books": BOOKS,
            "users": USERS,
            "loans": LOANS,
            "series_loans": list(series_loans),
            "workers": WORKERS,
            "connections": CONNECTIONS,
            "duration_s": args.duration,
            "slow_requests": SLOW_REQUESTS,
            "series_duration_s": args.series_duration,
            "ledger_duration_s": args.ledger_duration,
            "rounds": 1 if QUICK else ROUNDS,
            "quick": QUICK,
            "patch_applied": patched is not None,
            "stacks": sorted({run["stack"] for run in runs}, key=[SQLITE, POSTGRES].index),
            "final_config": final_config(),
        },
        "results": [run for run in best(runs) if run["part"] == "main"],
        "series": [run for run in best(runs) if run["part"] == "series"],
        "ledger": report.ledger_code(report.ledger_rows(ledger), ROOT / "final"),
        "runs": runs,  # every run, the floor's included
        "ledger_runs": ledger,
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
