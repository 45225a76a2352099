"""bench/results.json and bench/results.md from one run's measurements (bench/run.py calls it).

Every number in results.md comes from the measurements passed in: ratios are computed here,
never typed. docs/performance.md includes results.md as it is.
"""

import importlib.util
import json
import math
import statistics
from pathlib import Path

ENDPOINTS = {
    "list": "list, random page",
    "list (cached)": "list, cached page",
    "get": "get by id",
    "search": "title search",
    "popular (cold)": "popular, miss",
    "popular (cached)": "popular, hit",
}
CONTENDERS = ("floor", "final", "final before the fix", "seed", "flarchitect")
STACKS = ("sqlite", "postgres+redis")
PATCH_MEASURED = "Measured by make bench"
LEDGER_ENDPOINTS = ("get", "list", "list (cached)")

# The cost ledger's rows: what each variant of bench/contenders/final_variant.py changes, what
# kind of change it is, and the line of code it measures (a file of final/ or of a library, and
# a piece of the line, whose number is looked up at every run).
#   feature: turned off; the difference is what the feature costs.
#   lever:   an alternative final/ does not use; the difference is what it would save.
#   undone:  a lever final/ uses, undone; the difference is what the lever saves.
LEDGER = {
    "": ("final/ as it is", "baseline", "app/__init__.py", "def create_app("),
    "nothing": (
        "nothing: final/ beside itself (this run's noise)",
        "noise",
        "app/__init__.py",
        "def create_app(",
    ),
    "rate limit": (
        "rate-limit check (RATELIMIT_ENABLED=False)",
        "feature",
        "app/extensions.py",
        "limiter = Limiter(",
    ),
    "limiter's timer thread": (
        "the memory storage's expiry thread (limits)",
        "feature",
        "limits/storage/memory.py",
        "self.timer = threading.Timer(0.01, self.__expire_events)\n            self.timer.start()",
    ),
    "rate-limit headers": (
        "X-RateLimit-* headers (the count stays)",
        "feature",
        "app/extensions.py",
        "headers_enabled=True",
    ),
    "cache lookup": (
        "@cache.cached: key, lookup and store",
        "feature",
        "app/blueprints/books/routes.py",
        "cached_for_everyone = cache.cached(",
    ),
    "cheaper cache key": (
        "cache key from the raw query string (no sort, no hash)",
        "lever",
        "flask_caching/__init__.py",
        "args_as_sorted_tuple = tuple(sorted(pair for pair in pairs))",
    ),
    "log line": (
        "the request's JSON log line (log level WARNING)",
        "feature",
        "app/observability.py",
        "app.logger.info(",
    ),
    "request id and log line": (
        "request id, timer and log line (observability's hooks)",
        "feature",
        "app/observability.py",
        "def log_request(",
    ),
    "QueueHandler": (
        "the log line written by a QueueHandler's thread",
        "lever",
        "gunicorn.conf.py",
        '"class": "logging.StreamHandler",',
    ),
    "token check": (
        "@token_optional (no Authorization header sent)",
        "feature",
        "app/auth.py",
        "def token_optional(",
    ),
    "marshmallow": (
        "marshmallow's dump, replaced by a plain dict",
        "feature",
        "app/pagination.py",
        '"data": schema.dump(items, many=True)',
    ),
    "ORM objects": (
        "ORM objects, replaced by Core rows",
        "feature",
        "app/blueprints/books/routes.py",
        "book = db.session.get(Book, book_id)",
    ),
    "orjson": (
        "orjson through Flask's JSON provider",
        "lever",
        "app/extensions.py",
        "response = current_app.make_response(view(*args, **kwargs))",
    ),
    "COUNT": ("the page's COUNT (a constant total)", "feature", "app/pagination.py", "def count("),
    "COUNT every request": (
        "the COUNT once per cache generation",
        "undone",
        "app/pagination.py",
        "total = cached_count(query, cache_group) if cache_group else count(query)",
    ),
    "keyset": (
        "keyset pagination (`WHERE id > n`, no OFFSET)",
        "lever",
        "flask_sqlalchemy/pagination.py",
        "select = select.limit(self.per_page).offset(self._query_offset)",
    ),
    "view's answer in the cache": (
        "the bytes sent in the cache, not what the view returns",
        "undone",
        "app/extensions.py",
        "return lambda view: cached(as_sent(view))",
    ),
}


def find(
    rows: list[dict],
    contender: str,
    endpoint: str,
    loans: int | None = None,
    stack: str | None = "sqlite",
) -> dict | None:
    return next(
        (
            row
            for row in rows
            if row["contender"] == contender
            and row["endpoint"] == endpoint
            and loans in (None, row["loans"])
            and stack in (None, row.get("stack", "sqlite"))
        ),
        None,
    )


def stacks(data: dict) -> list[str]:
    return data["method"].get("stacks", ["sqlite"])


def floor(data: dict, stack: str) -> dict:
    """The floor's best run, which every ratio divides by, and the req/s of all its runs."""
    runs = [
        round(run["rps"])
        for run in data["runs"]
        if run["contender"] == "floor" and run.get("stack", "sqlite") == stack
    ]
    return {**find(data["results"], "floor", "list", stack=stack), "runs": runs}


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def get(row: dict | None, key: str) -> float | None:
    return row[key] if row else None


def ledger_code(rows: list[dict], final: Path) -> list[dict]:
    """Each ledger row with `code`: file:line of the line it measures, looked up now."""
    for row in rows:
        _, _, path, needle = LEDGER[row["variant"]]
        if (final / path).is_file():
            folder, shown = final, f"final/{path}"
        else:  # a library, in the venv that runs this
            package = importlib.util.find_spec(path.split("/")[0])
            folder, shown = Path(package.submodule_search_locations[0]).parent, path
        text = (folder / path).read_text() if (folder / path).is_file() else ""
        line = text[: text.find(needle)].count("\n") + 1 if needle in text else None
        row["code"] = f"{shown}:{line}" if line else f"{shown} (line not found)"
        row["code_line"] = text.splitlines()[line - 1].strip() if line else needle
    return rows


def ledger_row(data: dict, stack: str, variant: str, endpoint: str) -> dict | None:
    return next(
        (
            row
            for row in data.get("ledger", [])
            if (row["stack"], row["variant"], row["endpoint"]) == (stack, variant, endpoint)
        ),
        None,
    )


def lowest_cpu(data: dict, contender: str, endpoint: str, stack: str) -> float | None:
    """The lowest CPU ms/req of the contender's runs of the main table on this stack."""
    cpus = [
        run["cpu_ms"]
        for run in data["runs"]
        if (run["contender"], run["endpoint"], run["part"]) == (contender, endpoint, "main")
        and run.get("stack", "sqlite") == stack
        and run["cpu_ms"] is not None
    ]
    return min(cpus, default=None)


def ledger_rows(runs: list[dict]) -> list[dict]:
    """Per stack, variant and endpoint: the median CPU ms/req of its runs, and its Δ, the mean
    over the rounds of its CPU ms/req minus that of final/ as it is, loaded at the same time."""
    rows: dict[tuple, dict] = {}
    for run in runs:
        key = (run["stack"], run["contender"], run["endpoint"])
        row = rows.setdefault(
            key,
            {
                "stack": run["stack"],
                "variant": run["contender"],
                "endpoint": run["endpoint"],
                "rps": run["rps"],
                "cpu_runs": [],
                "deltas": [],
            },
        )
        row["rps"] = max(row["rps"], run["rps"])
        row["cpu_runs"].append(round(run["cpu_ms"], 4))
        if run.get("baseline_cpu_ms") is not None:
            row["deltas"].append(round(run["cpu_ms"] - run["baseline_cpu_ms"], 4))
    for row in rows.values():
        row["cpu_ms"] = statistics.median(row["cpu_runs"])
        row["delta_cpu_ms"] = statistics.mean(row["deltas"]) if row["deltas"] else None
    return list(rows.values())


def ledger_delta(data: dict, stack: str, variant: str, endpoint: str) -> float | None:
    """What the variant changes in CPU ms/req, against final/ as it is (ledger_rows)."""
    return get(ledger_row(data, stack, variant, endpoint), "delta_cpu_ms")


def largest_costs(data: dict, stack: str, endpoint: str, count: int = 3) -> str:
    """The features that cost the most CPU on this endpoint, from the ledger."""
    noise = abs(ledger_delta(data, stack, "nothing", endpoint) or 0)
    costs = [
        (-delta, LEDGER[variant][0].split(" (")[0])
        for variant, (_, kind, _, _) in LEDGER.items()
        if kind == "feature"
        and (delta := ledger_delta(data, stack, variant, endpoint)) is not None
        and -delta > noise  # more than final/ beside itself moved
    ]
    top = sorted(costs, reverse=True)[:count]
    return "; ".join(f"{name} {number(cost)} ms" for cost, name in top) or "n/a"


def targets(data: dict) -> list[dict]:
    """The issue's targets, measured on every stack: the req/s ratio decides, the CPU ratio
    (the same ratio, from CPU ms per request: higher is better too) is shown beside it."""
    results, series = data["results"], data["series"]
    top = max(data["method"]["series_loans"] or [0])

    def versus(endpoint: str, other: str, other_endpoint: str):
        def measure(stack: str) -> tuple[float | None, float | None]:
            mine, theirs = ("final", endpoint), (other, other_endpoint)
            return (
                ratio(
                    get(find(results, *mine, stack=stack), "rps"),
                    get(find(results, *theirs, stack=stack), "rps"),
                ),
                ratio(lowest_cpu(data, *theirs, stack), lowest_cpu(data, *mine, stack)),
            )

        return measure

    def p50_ratio(numerator, denominator):
        def measure(stack: str) -> tuple[float | None, None]:
            return ratio(numerator(stack), denominator(stack)), None

        return measure

    def top_p50(contender: str):
        return lambda stack: get(find(series, contender, "popular (cold)", top, stack), "p50_ms")

    def p50(endpoint: str):
        return lambda stack: get(find(results, "final", endpoint, stack=stack), "p50_ms")

    checks = [
        ("get by id: req/s ÷ the seed's get", 0.8, versus("get", "seed", "get"), "get"),
        ("uncached list: req/s ÷ the floor's", 0.2, versus("list", "floor", "list"), "list"),
        (
            "cached page: req/s ÷ the floor's",
            0.7,
            versus("list (cached)", "floor", "list"),
            "list (cached)",
        ),
        (
            "uncached list: req/s ÷ flarchitect's list",
            3,
            versus("list", "flarchitect", "list"),
            "list",
        ),
        (
            "popularity: p50 of a cache miss ÷ p50 of a hit",
            5,
            p50_ratio(p50("popular (cold)"), p50("popular (cached)")),
            None,
        ),
    ]
    if top:
        checks.append(
            (
                f"popularity at {top:,} loans, uncached: the seed's p50 ÷ this p50",
                50,
                p50_ratio(top_p50("seed"), top_p50("final")),
                None,
            )
        )
    rows = []
    for name, goal, measure, endpoint in checks:
        measured = {stack: measure(stack) for stack in stacks(data)}
        rows.append(
            {
                "target": name,
                "goal": goal,
                "measured": {stack: value for stack, (value, _) in measured.items()},
                "cpu_ratio": {stack: cpu for stack, (_, cpu) in measured.items()},
                "met": {
                    stack: value is not None and value >= goal
                    for stack, (value, _) in measured.items()
                },
                "largest_costs": {
                    stack: largest_costs(data, stack, endpoint) if endpoint else None
                    for stack in measured
                },
            }
        )
    return rows


def number(value: float | None) -> str:
    """Three significant figures, thousands separated, never an exponent: 2,740 · 12.3 · 0.0412."""
    if value is None:
        return "n/a"
    if value < 0:
        return "−" + number(-value)
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 1 or value == 0:
        return f"{value:.3g}"
    return f"{value:.{2 - math.floor(math.log10(value))}f}"


def signed(value: float | None) -> str:
    if value is None:
        return "n/a"
    return ("+" if value >= 0 else "") + number(value)


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows]) + "\n"


def summary(data: dict) -> str:
    m, machine = data["method"], data["machine"]
    floors = "; ".join(
        f"{stack}: {', '.join(f'{rps:,}' for rps in data['floors'][stack]['runs'])}"
        for stack in stacks(data)
    )
    quick = " **Quick mode (BENCH_QUICK=1): one short round, numbers for iterating only.**"
    load = ", ".join(f"{value:g}" for value in machine.get("load_average", []))
    return (
        f"Measured on {data['date']} by `make bench` ({data['total_s']} s), on {machine['nproc']} "
        f"CPUs (`nproc`) of an {machine['cpu']}, Python {machine['python']}, "
        f"gunicorn {machine['gunicorn']}, wrk {machine['wrk']}, "
        f"flarchitect {machine['flarchitect']}; load average at the end {load}."
        f"{quick if m.get('quick') else ''}"
        f"\n\nMethod: every contender is a gunicorn server with {m['workers']} sync workers on "
        f"127.0.0.1, reading the same data ({m['books']:,} books, {m['users']:,} users, "
        f"{m['loans']:,} loans) on each stack: **sqlite** (one SQLite file; final/'s rate "
        "limits and cache in each worker's memory) and **postgres+redis** (PostgreSQL; "
        "final/'s limits and cache in Redis, shared by its workers). final/ ran in the "
        f"{m.get('final_config', 'production')} config. wrk (1 thread, {m['connections']} "
        f"connections) loads one endpoint at a time for {m['duration_s']:g} s "
        f"({m['series_duration_s']:g} s in the loan series) after a warm-up, each request a "
        "random path from a list (pages, ids, search words); the seed's popularity, seconds "
        f"per request, runs long enough for about {m['slow_requests']} requests, on SQLite only. "
        f"Endpoints are interleaved: each one for every contender in turn, {m['rounds']} "
        "times over; the run with the most req/s is kept, since other programs on the machine "
        "can only slow a run down. The floor ran before every endpoint of each round, and last "
        f"({floors} req/s). In brackets, each number divided by its stack's floor's: for req/s "
        "higher is better, for a latency or CPU time lower is better. CPU ms/req is the user + "
        "system time of the server's workers (from /proc) per answered request: the "
        "contention-proof cost of one request.\n"
    )


def with_ratio(row: dict, base: dict, key: str) -> str:
    """`302 (0.0624)`: the value, and in brackets its ratio to the floor's."""
    if row[key] is None:
        return "n/a"
    return f"{number(row[key])} ({number(ratio(row[key], base[key]))})"


def results_table(data: dict, stack: str) -> str:
    base = data["floors"][stack]
    order = {name: i for i, name in enumerate(ENDPOINTS)}
    measured = [
        row
        for row in data["results"]
        if row["contender"] != "floor" and row.get("stack", "sqlite") == stack
    ]
    measured.sort(key=lambda row: (order[row["endpoint"]], CONTENDERS.index(row["contender"])))
    keys = ("rps", "p50_ms", "p99_ms", "cpu_ms")
    rows = [
        [
            ENDPOINTS[row["endpoint"]],
            row["contender"],
            *(with_ratio(row, base, key) for key in keys),
            f"{row['requests']:,}",
        ]
        for row in [base, *measured]
    ]
    header = ["endpoint", "contender", "req/s (÷ floor)", "p50 ms (× floor)", "p99 ms (× floor)"]
    return table([*header, "CPU ms/req (× floor)", "requests"], rows)


def paths_table(data: dict) -> str:
    """What each row loads: one example path per endpoint and contender (wrk varies the page,
    the id or the search word on every request)."""
    names = [name for name in CONTENDERS if find(data["results"], name, "list")]
    rows = []
    for endpoint, label in ENDPOINTS.items():
        cells = [get(find(data["results"], name, endpoint), "example") for name in names]
        rows.append([label, *(f"`{path}`" if path else "" for path in cells)])
    return table(["endpoint", *names], rows)


def targets_table(data: dict) -> str:
    def verdict(row: dict, stack: str) -> str:
        value = row["measured"][stack]
        if value is None:
            return "not measured"
        cpu = row["cpu_ratio"][stack]
        cpu_text = f" (CPU {number(cpu)})" if cpu is not None else ""
        return f"{number(value)}{cpu_text}: {'met' if row['met'][stack] else '**missed**'}"

    def costs(row: dict) -> str:
        return " · ".join(
            f"{stack}: {row['largest_costs'][stack]}"
            for stack in stacks(data)
            if row["largest_costs"].get(stack) and not row["met"][stack]
        )

    return table(
        ["target", "goal", *stacks(data), "largest per-request costs where missed (ledger)"],
        [
            [
                row["target"],
                f"≥ {row['goal']:g}",
                *(verdict(row, stack) for stack in stacks(data)),
                costs(row),
            ]
            for row in data["targets"]
        ],
    )


def ledger_table(data: dict, stack: str) -> str:
    """One row per variant: CPU ms/req on each endpoint and its difference from final/."""
    rows = []
    for variant, (label, kind, _, _) in LEDGER.items():
        measured = [ledger_row(data, stack, variant, endpoint) for endpoint in LEDGER_ENDPOINTS]
        if not any(measured):
            continue
        code = next(row["code"] for row in measured if row)
        cells = []
        for endpoint, row in zip(LEDGER_ENDPOINTS, measured, strict=True):
            if row is None:
                cells.append("")
            elif not variant:
                cells.append(f"**{number(row['cpu_ms'])}**")
            else:
                delta = ledger_delta(data, stack, variant, endpoint)
                cells.append(f"{number(row['cpu_ms'])} ({signed(delta)})")
        line = next(row["code_line"] for row in measured if row).replace("|", "\\|")
        rows.append([label if variant else f"**{label}**", kind, f"`{code}`<br>`{line}`", *cells])
    header = ["what changes", "kind", "code it measures"]
    return table([*header, *(f"{ENDPOINTS[e]}: CPU ms/req (Δ)" for e in LEDGER_ENDPOINTS)], rows)


def series_table(data: dict) -> str:
    loans = data["method"]["series_loans"]
    keys = sorted(
        {(row["endpoint"], row["contender"]) for row in data["series"]},
        key=lambda key: (key[0], CONTENDERS.index(key[1])),
    )
    rows = []
    for endpoint, contender in keys:
        p50 = [get(find(data["series"], contender, endpoint, n), "p50_ms") for n in loans]
        rows.append(
            [ENDPOINTS[endpoint], contender, *map(number, p50), number(ratio(p50[-1], p50[0]))]
        )
    header = ["endpoint", "contender", *(f"{n:,} loans" for n in loans)]
    return table([*header, f"{loans[-1]:,} ÷ {loans[0]:,}"], rows)


def patch_table(data: dict) -> str:
    rows = []
    for endpoint in ENDPOINTS:
        before, after = (
            find(data["results"], "final before the fix", endpoint),
            find(data["results"], "final", endpoint),
        )
        if before and after:
            rows.append(
                [
                    ENDPOINTS[endpoint],
                    number(before["rps"]),
                    number(after["rps"]),
                    number(ratio(after["rps"], before["rps"])),
                    number(before["p50_ms"]),
                    number(after["p50_ms"]),
                    number(before["cpu_ms"]),
                    number(after["cpu_ms"]),
                ]
            )
    header = ["endpoint", "req/s before", "req/s after", "after ÷ before", "p50 ms before"]
    return table([*header, "p50 ms after", "CPU ms/req before", "CPU ms/req after"], rows)


def markdown(data: dict) -> str:
    parts = [
        "<!-- Generated by bench/run.py (`make bench`) from bench/results.json: do not edit. -->\n",
        summary(data),
        "#### Targets\n",
        "Each ratio is final/'s against the contender named, both measured in this run, from "
        "each one's best run (the most req/s); in brackets the same ratio from each one's "
        "lowest CPU ms per request, which other programs on the machine disturb far less. "
        "Where a target is missed, the last "
        "column names the features that cost final/ the most CPU on that endpoint, from the "
        "cost ledger below (those whose Δ is larger than the noise line's).\n",
        targets_table(data),
    ]
    for stack in stacks(data):
        parts += [
            f"#### Cost ledger, {stack}\n",
            f"final/ served once per line, {data['method']['ledger_duration_s']:g} s per cell, "
            f"{data['method']['rounds']} rounds, each line loaded at the same time as final/ "
            "as it is, by a wrk of its own: the two meet the same load from the rest of the "
            "machine. CPU ms/req is the median of the rounds. Δ is the line's CPU ms/req minus "
            "that of final/ loaded beside it, averaged over the rounds: for a *feature* "
            "turned off, minus what it costs; for a *lever*, "
            "what it would save (negative) or add; for a lever final/ uses, *undone*, what it "
            "saves. "
            "Cached page: final/'s cache as configured; get by id and list: every cached view "
            "misses. The *noise* line is final/ loaded beside an identical server: its Δ "
            "should be zero, and a Δ of that size elsewhere is noise.\n",
            ledger_table(data, stack),
        ]
    for stack in stacks(data):
        parts += [
            f"#### Every endpoint, {stack}, {data['method']['loans']:,} loans\n",
            results_table(data, stack),
        ]
    parts += [
        "What each row requests (an example; the seed's list and search return every matching "
        "book, its `.all()`, not a page):\n",
        paths_table(data),
    ]
    if data["series"]:
        parts += [
            "#### Latency (p50, ms) from 1 000 to 100 000 loans, sqlite\n",
            series_table(data),
        ]
    if data["method"]["patch_applied"]:
        parts += [
            "#### The popularity fix: final/ before and after (bench/before-fix.patch undoes it)\n",
            "The fix changes the popularity query only: in the other rows, the difference "
            "between before and after is this run's noise, a gauge of how far to trust one "
            "difference.\n",
            patch_table(data),
        ]
    else:
        parts.append("bench/before-fix.patch no longer applies to final/: not measured.\n")
    return "\n".join(parts)


def patch_summary(data: dict) -> str:
    """The measured lines of bench/before-fix.patch's preamble: popularity before and after."""
    top = max(data["method"]["series_loans"] or [0])
    lines = []
    for rows, loans in ((data["results"], data["method"]["loans"]), (data["series"], top)):
        before = find(rows, "final before the fix", "popular (cold)", loans)
        after = find(rows, "final", "popular (cold)", loans)
        if before and after:
            speedup = number(ratio(after["rps"], before["rps"]))
            lines.append(
                f"  popular, cache miss, {loans:,} loans: {number(before['rps'])} -> "
                f"{number(after['rps'])} req/s ({speedup}x), p50 {number(before['p50_ms'])} -> "
                f"{number(after['p50_ms'])} ms"
            )
    return "\n".join(lines or ["  not measured: the patch did not apply"])


def update_patch(path: Path, data: dict) -> None:
    """Rewrite the patch's preamble with this run's numbers; patch and git apply skip it."""
    text = path.read_text()
    head, diff = text.split("\n--- a/", 1)
    intro = head.split(PATCH_MEASURED, 1)[0]
    measured = f"{PATCH_MEASURED} on {data['date']} (bench/results.md has every number):"
    path.write_text(f"{intro}{measured}\n{patch_summary(data)}\n\n--- a/{diff}")


def write(data: dict, folder: Path) -> None:
    data["floors"] = {stack: floor(data, stack) for stack in stacks(data)}
    data["targets"] = targets(data)
    (folder / "results.json").write_text(json.dumps(data, indent=2) + "\n")
    (folder / "results.md").write_text(markdown(data))
    if data["method"]["patch_applied"]:
        update_patch(folder / "before-fix.patch", data)
