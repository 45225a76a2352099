"""bench/results.json and bench/results.md from one run's measurements (bench/run.py calls it).

Every number in results.md comes from the measurements passed in: ratios are computed here,
never typed. docs/performance.md includes results.md as it is.
"""

import json
import math
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
FINALS = ("final", "final before the fix")
PATCH_MEASURED = "Measured by make bench"


def find(rows: list[dict], contender: str, endpoint: str, loans: int | None = None) -> dict | None:
    return next(
        (
            row
            for row in rows
            if row["contender"] == contender
            and row["endpoint"] == endpoint
            and loans in (None, row["loans"])
        ),
        None,
    )


def floor(data: dict) -> dict:
    """The floor's best run, which every ratio divides by, and the req/s of all its runs."""
    runs = [round(run["rps"]) for run in data["runs"] if run["contender"] == "floor"]
    return {**find(data["results"], "floor", "list"), "runs": runs}


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def get(row: dict | None, key: str) -> float | None:
    return row[key] if row else None


def targets(data: dict) -> list[dict]:
    """The issue's targets, each measured for final/ and for final/ before the popularity fix."""
    results, series, base = data["results"], data["series"], data["floor"]
    top = max(data["method"]["series_loans"])

    def rps(contender: str, endpoint: str) -> float | None:
        return get(find(results, contender, endpoint), "rps")

    def p50(contender: str, endpoint: str) -> float | None:
        return get(find(results, contender, endpoint), "p50_ms")

    def top_p50(contender: str) -> float | None:
        return get(find(series, contender, "popular (cold)", top), "p50_ms")

    checks = (
        (
            "uncached list (with its count): req/s ÷ the floor's",
            0.35,
            lambda f: ratio(rps(f, "list"), base["rps"]),
        ),
        (
            "cached page: req/s ÷ the floor's",
            0.70,
            lambda f: ratio(rps(f, "list (cached)"), base["rps"]),
        ),
        (
            "uncached list: req/s ÷ flarchitect's list",
            2.5,
            lambda f: ratio(rps(f, "list"), rps("flarchitect", "list")),
        ),
        (
            f"popularity at {top:,} loans, uncached: the seed's p50 ÷ this p50",
            50,
            lambda f: ratio(top_p50("seed"), top_p50(f)),
        ),
        (
            "popularity: p50 of a cache miss ÷ p50 of a hit",
            5,
            lambda f: ratio(p50(f, "popular (cold)"), p50(f, "popular (cached)")),
        ),
        (
            "list page: p50 of a cache miss ÷ p50 of a hit",
            5,
            lambda f: ratio(p50(f, "list"), p50(f, "list (cached)")),
        ),
    )
    rows = []
    for name, goal, measure in checks:
        measured = {f: measure(f) for f in FINALS}
        met = {f: value is not None and value >= goal for f, value in measured.items()}
        rows.append({"target": name, "goal": goal, "measured": measured, "met": met})
    return rows


def number(value: float | None) -> str:
    """Three significant figures, thousands separated, never an exponent: 2,740 · 12.3 · 0.0412."""
    if value is None:
        return "n/a"
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 1 or value <= 0:
        return f"{value:.3g}"
    return f"{value:.{2 - math.floor(math.log10(value))}f}"


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows]) + "\n"


def summary(data: dict) -> str:
    m, machine, base = data["method"], data["machine"], data["floor"]
    return (
        f"Measured on {data['date']} by `make bench` ({data['total_s']} s), on {machine['nproc']} "
        f"CPUs (`nproc`) of an {machine['cpu']}, Python {machine['python']}, "
        f"gunicorn {machine['gunicorn']}, wrk {machine['wrk']}, "
        f"flarchitect {machine['flarchitect']}."
        f"\n\nMethod: every contender is a gunicorn server with {m['workers']} sync workers on "
        f"127.0.0.1, reading the same SQLite file ({m['books']:,} books, {m['users']:,} users, "
        f"{m['loans']:,} loans). wrk (1 thread, {m['connections']} connections) loads one "
        f"endpoint at a time for {m['duration_s']:g} s ({m['series_duration_s']:g} s in the loan "
        "series) after a warm-up, each request a random path from a list (pages, ids, search "
        "words); the seed's popularity, seconds per request, runs long enough for about "
        f"{m['slow_requests']} requests. Endpoints are interleaved: each one for every contender "
        f"in turn, {m['rounds']} times over; the run with the most req/s is kept, since other "
        "programs on the machine can only slow a run down. The floor ran first, in the middle "
        f"and last of each round ({', '.join(f'{rps:,}' for rps in base['runs'])} req/s). "
        "In brackets, each number divided by the floor's: for req/s higher is better, for a "
        "latency or CPU time lower is better. CPU ms/req is the user + system time "
        "of the server's workers (from /proc) per answered request: the contention-proof cost "
        "of one request.\n"
    )


def with_ratio(row: dict, base: dict, key: str) -> str:
    """`302 (0.0624)`: the value, and in brackets its ratio to the floor's."""
    if row[key] is None:
        return "n/a"
    return f"{number(row[key])} ({number(ratio(row[key], base[key]))})"


def results_table(data: dict) -> str:
    base = data["floor"]
    order = {name: i for i, name in enumerate(ENDPOINTS)}
    measured = [row for row in data["results"] if row["contender"] != "floor"]
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


def targets_table(rows: list[dict]) -> str:
    def verdict(row: dict, name: str) -> str:
        value = row["measured"][name]
        if value is None:
            return "not measured"
        return f"{number(value)}: {'met' if row['met'][name] else '**missed**'}"

    return table(
        ["target", "goal", *FINALS],
        [[row["target"], f"≥ {row['goal']:g}", *(verdict(row, f) for f in FINALS)] for row in rows],
    )


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
        targets_table(data["targets"]),
        f"#### Every endpoint, {data['method']['loans']:,} loans\n",
        results_table(data),
        "What each row requests (an example; the seed's list and search return every matching "
        "book, its `.all()`, not a page):\n",
        paths_table(data),
        "#### Latency (p50, ms) from 1 000 to 100 000 loans\n",
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
    top = max(data["method"]["series_loans"])
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
    data["floor"] = floor(data)
    data["targets"] = targets(data)
    (folder / "results.json").write_text(json.dumps(data, indent=2) + "\n")
    (folder / "results.md").write_text(markdown(data))
    if data["method"]["patch_applied"]:
        update_patch(folder / "before-fix.patch", data)
