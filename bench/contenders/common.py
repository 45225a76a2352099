"""What every contender shares: final/'s models on sys.path, and the benchmark's database."""

import os
import sys
from pathlib import Path

FINAL = Path(__file__).resolve().parents[2] / "final"
sys.path.insert(0, str(FINAL))  # `app` below is final/'s package: the same models and schema


def database_url() -> str:
    """The generated SQLite file bench/run.py names; every contender reads the same one."""
    return os.environ["DATABASE_URL"]
