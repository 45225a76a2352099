"""Does the login's response time reveal which emails have an account?

Times POST /users/login in-process (final/, scrypt as in production) for three cases, side by
side: an unknown email, a known email with a wrong password, and the right password. Without the
dummy hash check, an unknown email would answer in a fraction of the time. Writes
bench/login_timing.json and bench/login_timing.md.

    .venv/bin/python bench/login_timing.py [--rounds 40]
"""

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "final"))

from app import create_app  # noqa: E402
from app.blueprints.users import routes as users_routes  # noqa: E402
from app.extensions import db  # noqa: E402

EMAIL, PASSWORD = "ada@example.com", "correct horse battery staple"
CASES = {
    "unknown email": {"email": "nobody@example.com", "password": PASSWORD},
    "wrong password": {"email": EMAIL, "password": "not the password"},
    "right password": {"email": EMAIL, "password": PASSWORD},
}


def measure(rounds: int) -> dict[str, dict[str, float]]:
    app = create_app(
        {
            "APP_CONFIG": "development",  # the production hash method (scrypt), in memory
            "SQLALCHEMY_DATABASE_URI": "sqlite://",
            "LOGIN_RATE_LIMIT": "1000000 per hour",
        }
    )
    with app.app_context():
        db.create_all()
    client = app.test_client()
    user = {"first_name": "Ada", "last_name": "Lovelace", "email": EMAIL, "password": PASSWORD}
    assert client.post("/users", json=user).status_code == 201
    samples = {name: [] for name in CASES}
    for _ in range(rounds):
        for name, body in CASES.items():  # interleaved: machine noise hits every case alike
            start = time.perf_counter()
            client.post("/users/login", json=body)
            samples[name].append((time.perf_counter() - start) * 1000)
    # The counterfactual: the same request with the dummy hash check switched off.
    real_check = users_routes.check_password_hash
    users_routes.check_password_hash = lambda *args: False
    try:
        for _ in range(rounds):
            start = time.perf_counter()
            client.post("/users/login", json=CASES["unknown email"])
            samples.setdefault("unknown email, no dummy hash", []).append(
                (time.perf_counter() - start) * 1000
            )
    finally:
        users_routes.check_password_hash = real_check
    return {
        name: {
            "median_ms": statistics.median(times),
            "p90_ms": statistics.quantiles(times, n=10)[8],
        }
        for name, times in samples.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    rounds = parser.parse_args().rounds
    results = measure(rounds)
    baseline = results["wrong password"]["median_ms"]
    lines = [
        f"Login timing, {rounds} interleaved rounds, in-process (`bench/login_timing.py`):",
        "",
        "| case | median (ms) | p90 (ms) | median / wrong password |",
        "|---|---:|---:|---:|",
    ]
    for name, numbers in results.items():
        ratio = numbers["median_ms"] / baseline
        lines.append(
            f"| {name} | {numbers['median_ms']:.1f} | {numbers['p90_ms']:.1f} | {ratio:.2f} |"
        )
    (ROOT / "bench" / "login_timing.json").write_text(json.dumps(results, indent=2) + "\n")
    (ROOT / "bench" / "login_timing.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
