"""The PNG plots of bench/results.json (bench/run.py runs this with bench/.venv's matplotlib).

    bench/.venv/bin/python bench/plots.py bench/

throughput.png: every endpoint's req/s as a fraction of the floor's, log scale.
scaling.png: p50 latency of popularity and the list from 1 000 to 100 000 loans, log-log.
"""

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt
from report import CONTENDERS, ENDPOINTS

COLOURS = dict(
    zip(CONTENDERS, ("#888888", "#3f51b5", "#00897b", "#e53935", "#fb8c00"), strict=True)
)


def throughput(data: dict, path: Path) -> None:
    base = data["floor"]["rps"]
    rows = [row for row in data["results"] if row["contender"] != "floor"]
    rows.sort(
        key=lambda r: (list(ENDPOINTS).index(r["endpoint"]), CONTENDERS.index(r["contender"]))
    )
    fig, ax = plt.subplots(figsize=(9, 0.32 * len(rows) + 1.2))
    labels = [f"{ENDPOINTS[r['endpoint']].replace('`', '')} — {r['contender']}" for r in rows]
    ratios = [r["rps"] / base for r in rows]
    ax.barh(labels, ratios, color=[COLOURS[r["contender"]] for r in rows])
    ax.axvline(1, color=COLOURS["floor"], linestyle="--", label="floor")
    ax.set_xscale("log")
    ax.invert_yaxis()
    ax.set_xlabel("requests/second ÷ the floor's (log scale; 1 = the floor)")
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
    ax.set_xticks(loans, [f"{n:,}" for n in loans])
    ax.set_xlabel("loans in the database")
    ax.set_ylabel("p50 latency, ms (log scale)")
    ax.set_title("Latency as loans grow (uncached)")
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1))  # beside the lines
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    folder = Path(sys.argv[1])
    data = json.loads((folder / "results.json").read_text())
    throughput(data, folder / "throughput.png")
    scaling(data, folder / "scaling.png")


if __name__ == "__main__":
    main()
