"""Generate the benchmark's database: final/'s schema, filled with bulk inserts.

    python bench/dataset.py PATH_OR_URL [--books 10000] [--users 2000] [--loans 50000]

A path (or a sqlite:/// URL) is a new SQLite file; a postgresql+psycopg:// URL names a database
whose tables are dropped and made again.

The tables come from final/'s own models (create_all through final's app factory), so every
contender reads exactly the schema final/ serves. Rows go in with executemany: seconds, not
minutes. The data is deterministic (seeded), so two runs compare like with like.
"""

import argparse
import random
import sys
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

FINAL = Path(__file__).resolve().parents[1] / "final"


def words(text: str, separator: str = " ") -> list[str]:
    return text.split(separator)


# Titles are "<Adjective> <Noun> <n>": every word matches about 1 title in 40, so a
# `title__ilike=<word>` search finds a few hundred books, as a real catalogue search would.
ADJECTIVES = words("silent hidden golden broken last secret burning frozen distant wild") + words(
    "crimson hollow iron quiet lost ancient bright dark endless little"
)
NOUNS = words("garden river empire winter storm mirror forest tower ocean kingdom") + words(
    "shadow harbor desert island letter machine orchard voyage lantern bridge"
)
SEARCH_WORDS = ADJECTIVES + NOUNS
FIRST_NAMES = words("Ada Alan Grace Linus Margaret Tim Barbara Edsger Donald Frances")
LAST_NAMES = words("Lovelace Turing Hopper Hamilton Liskov Dijkstra Knuth Allen Ritchie Kay")
GENRES = words("Fantasy,Science Fiction,Romance,Dystopian,Classic,Horror,Comedy,History", ",")
AGES = ("Children", "Young Adult", "Adult")
TODAY = date(2026, 6, 1)  # fixed, so the data does not depend on the day it is made
ACTIVE_DAYS = 30  # loans made in the last 30 days are still out: about 4% of them


def book_rows(rng: random.Random, count: int) -> list[dict]:
    return [
        {
            "id": i,
            "title": f"{rng.choice(ADJECTIVES).title()} {rng.choice(NOUNS).title()} {i}",
            "author": f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
            "genre": rng.choice(GENRES),
            "age_category": rng.choice(AGES),
            "publish_date": date(1850, 1, 1) + timedelta(days=rng.randrange(170 * 365)),
            "isbn": f"978{i:010d}",
            "copies": rng.randint(1, 5),
            "on_loan": 0,
        }
        for i in range(1, count + 1)
    ]


def user_rows(count: int, password_hash: str) -> list[dict]:
    return [
        {
            "id": i,
            "first_name": FIRST_NAMES[i % len(FIRST_NAMES)],
            "last_name": LAST_NAMES[i // len(FIRST_NAMES) % len(LAST_NAMES)],
            "email": f"user{i}@example.com",
            "password_hash": password_hash,  # one hash for all: scrypt per user would take minutes
            "role": "member",
        }
        for i in range(1, count + 1)
    ]


def loan_rows(rng: random.Random, count: int, users: int, books: int, period) -> tuple[list, list]:
    loans, links = [], []
    for i in range(1, count + 1):
        loan_date = TODAY - timedelta(days=rng.randrange(730))
        active = (TODAY - loan_date).days < ACTIVE_DAYS
        returned = None if active else loan_date + timedelta(days=rng.randint(1, 20))
        loans.append(
            {
                "id": i,
                "user_id": rng.randint(1, users),
                "loan_date": loan_date,
                "due_date": loan_date + period,
                "return_date": returned,
            }
        )
        # Skewed towards low ids, so that some books are far more popular than others.
        picked = {int(books * rng.random() ** 2) + 1 for _ in range(rng.randint(1, 3))}
        links += [{"loan_id": i, "book_id": book_id, "active": active} for book_id in picked]
    return loans, links


def database_url(target: str) -> str:
    """A URL for the target; an SQLite file is deleted first, so that it starts empty."""
    if "://" in target and not target.startswith("sqlite:///"):
        return target
    path = Path(target.removeprefix("sqlite:///")).resolve()  # not relative to final/instance/
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    return f"sqlite:///{path}"


def generate(target: str, books: int, users: int, loans: int, seed: int = 42) -> dict:
    # final/ is imported here, not at the top: bench/run.py reads the word lists without it.
    sys.path.insert(0, str(FINAL))
    from sqlalchemy import insert, text

    from app import create_app
    from app.extensions import db
    from app.models import LOAN_PERIOD, Book, Loan, User, loan_books

    rng = random.Random(seed)
    url = database_url(target)
    app = create_app({"APP_CONFIG": "development", "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        db.drop_all()
        db.create_all()
        book_data = book_rows(rng, books)
        loan_data, link_data = loan_rows(rng, loans, users, books, LOAN_PERIOD)
        # on_loan is the number of active loans holding the book, as the borrow route keeps it;
        # the CHECK constraint wants copies >= on_loan, so a busy book gets more copies.
        on_loan = Counter(link["book_id"] for link in link_data if link.pop("active"))
        for book in book_data:
            book["on_loan"] = on_loan[book["id"]]
            book["copies"] = max(book["copies"], book["on_loan"])
        user = User()
        user.set_password("benchmark-password")
        db.session.execute(insert(Book), book_data)
        db.session.execute(insert(User), user_rows(users, user.password_hash))
        db.session.execute(insert(Loan), loan_data)
        db.session.execute(insert(loan_books), link_data)
        db.session.commit()
        if (
            db.engine.dialect.name == "postgresql"
        ):  # statistics for the planner, as autovacuum would
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(text("ANALYZE"))
        db.engine.dispose()
    return {"books": books, "users": users, "loans": loans, "loan_books": len(link_data)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target", help="an SQLite file's path, or a database URL")
    parser.add_argument("--books", type=int, default=10_000)
    parser.add_argument("--users", type=int, default=2_000)
    parser.add_argument("--loans", type=int, default=50_000)
    args = parser.parse_args()
    start = time.perf_counter()
    counts = generate(args.target, args.books, args.users, args.loans)
    print(f"{args.target}: {counts} in {time.perf_counter() - start:.1f}s")


if __name__ == "__main__":
    main()
