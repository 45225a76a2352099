"""The PNG plots of bench/results.json (bench/run.py runs this with bench/.venv's matplotlib).

    bench/.venv/bin/python bench/plots.py bench/

throughput.png: every endpoint's req/s as a fraction of its stack's floor, log scale.
scaling.png: p50 latency of popularity and the list from 1 000 to 100 000 loans, log-log.
ledger.png: the cost ledger, CPU ms per request each change adds or saves, per stack.
"""

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt
from report import CONTENDERS, ENDPOINTS, LEDGER, LEDGER_ENDPOINTS, ledger_delta, stacks

COLOURS = dict(
    zip(CONTENDERS, ("#888888", "#3f51b5", "#00897b", "#e53935", "#fb8c00"), strict=True)
)
ENDPOINT_COLOURS = dict(zip(LEDGER_ENDPOINTS, ("#3f51b5", "#e53935", "#00897b"), strict=True))


def throughput(data: dict, path: Path) -> None:
    rows = [row for row in data["results"] if row["contender"] != "floor"]
    rows.sort(
        key=lambda r: (
            stacks(data).index(r["stack"]),
            list(ENDPOINTS).index(r["endpoint"]),
            CONTENDERS.index(r["contender"]),
        )
    )
    fig, ax = plt.subplots(figsize=(9, 0.28 * len(rows) + 1.2))
    labels = [f"{r['stack']}: {ENDPOINTS[r['endpoint']]} — {r['contender']}" for r in rows]
    ratios = [r["rps"] / data["floors"][r["stack"]]["rps"] for r in rows]
    ax.barh(labels, ratios, color=[COLOURS[r["contender"]] for r in rows])
    ax.axvline(1, color=COLOURS["floor"], linestyle="--", label="floor")
    ax.set_xscale("log")
    ax.invert_yaxis()
    ax.tick_params(axis="y", labelsize="small")
    ax.set_xlabel("requests/second ÷ the floor's on the same stack (log scale; 1 = the floor)")
    ax.set_title(f"Throughput at {data['method']['loans']:,} loans, {data['date']}")
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def scaling(data: dict, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(9.5, 4.5))
    loans = data["method"]["series_loans"]
    for endpoint, style in (("popular (cold)", "-o"), ("list", ":s")):
        for contender in CONTENDERS:
            points = [
                (row["loans"], row["p50_ms"])
                for row in data["series"]
                if row["contender"] == contender and row["endpoint"] == endpoint
            ]
            if points:
                x, y = zip(*sorted(points), strict=True)
                label = f"{contender}: {endpoint}"
                ax.plot(x, y, style, color=COLOURS[contender], label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    if loans:
        ax.set_xticks(loans, [f"{n:,}" for n in loans])
        ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1))  # beside the lines
    ax.set_xlabel("loans in the database")
    ax.set_ylabel("p50 latency, ms (log scale)")
    ax.set_title("Latency as loans grow (uncached, sqlite)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def ledger(data: dict, path: Path) -> None:
    """One panel per stack: a group of bars per ledger line, one bar per endpoint."""
    names = stacks(data)
    measured = {row["variant"] for row in data.get("ledger", [])}
    variants = [variant for variant in LEDGER if variant and variant in measured]
    fig, axes = plt.subplots(
        1,
        len(names),
        figsize=(6.5 * len(names), 0.42 * len(variants) + 1.6),
        squeeze=False,
        sharex=True,  # the same scale on both stacks
    )
    height = 0.8 / len(LEDGER_ENDPOINTS)
    for ax, stack in zip(axes[0], names, strict=True):
        for i, endpoint in enumerate(LEDGER_ENDPOINTS):
            deltas = [ledger_delta(data, stack, variant, endpoint) for variant in variants]
            y = [n + i * height for n in range(len(variants))]
            ax.barh(
                [v for v, d in zip(y, deltas, strict=True) if d is not None],
                [d for d in deltas if d is not None],
                height=height,
                color=ENDPOINT_COLOURS[endpoint],
                label=ENDPOINTS[endpoint],
            )
        ax.set_yticks(
            [n + height for n in range(len(variants))],
            [f"{LEDGER[v][0]} [{LEDGER[v][1]}]" for v in variants],
            fontsize="small",
        )
        ax.axvline(0, color="#888888", linewidth=0.8)
        ax.invert_yaxis()
        ax.set_xlabel("CPU ms per request, minus final/'s (negative: cheaper)")
        ax.set_title(f"Cost ledger, {stack}")
        if ax is not axes[0][0]:
            ax.set_yticklabels([])
    # One legend for both stacks, under them: inside a plot it would hide a bar.
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize="small", loc="lower center", ncol=len(labels))
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    fig.savefig(path, dpi=110)


def main() -> None:
    folder = Path(sys.argv[1])
    data = json.loads((folder / "results.json").read_text())
    throughput(data, folder / "throughput.png")
    scaling(data, folder / "scaling.png")
    ledger(data, folder / "ledger.png")


if __name__ == "__main__":
    main()
