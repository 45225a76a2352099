"""What every contender shares: final/'s models on sys.path, and the benchmark's database."""

import os
import sys
from pathlib import Path

# BENCH_FINAL: another copy of final/ (bench/run.py's copy before the popularity fix).
FINAL = Path(os.environ.get("BENCH_FINAL") or Path(__file__).resolve().parents[2] / "final")
sys.path.insert(0, str(FINAL))  # `app` below is final/'s package: the same models and schema


def database_url() -> str:
    """The database bench/run.py names (SQLite file or PostgreSQL); every contender reads it."""
    return os.environ["DATABASE_URL"]
