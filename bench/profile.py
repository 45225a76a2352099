"""Profile final/'s uncached list endpoint in-process with pyinstrument (bench/run.py runs it).

    bench/.venv/bin/python bench/profile.py DATABASE OUTPUT

final/ runs as the benchmark serves it (production config, limits on but never reached, every
cached page a miss: bench/contenders/final_variant.py), through Flask's test client: no network,
so the profile shows only what the app does per request. The text report, in % of the total,
goes to OUTPUT. DATABASE is a database URL.
"""

import logging
import os
import random
import sys
from pathlib import Path

from pyinstrument import Profiler

REQUESTS = 500


def main() -> None:
    database, output = sys.argv[1], Path(sys.argv[2])
    os.environ.update(
        APP_CONFIG="production",
        SECRET_KEY=os.urandom(32).hex(),
        DATABASE_URL=database,
        RATELIMIT_DEFAULT="1000000 per second",
    )
    sys.path.insert(0, str(Path(__file__).resolve().parent / "contenders"))
    import final_variant

    app = final_variant.create_app(off="", cache="miss")
    client = app.test_client()
    rng = random.Random(0)
    paths = [f"/books?page={rng.randint(1, 500)}&per_page=20" for _ in range(REQUESTS)]
    profiler = Profiler(interval=0.0002)
    with open(os.devnull, "w") as devnull:
        logging.getLogger().handlers[0].setStream(devnull)  # lines formatted, then dropped
        for path in paths[:50]:  # compile the queries first, as a warm worker has
            client.get(path)
        with profiler:
            for path in paths:
                client.get(path)
    # Library frames are folded away, except the extensions that cost something per request.
    shown = r".*/(flask_limiter|limits|flask_sqlalchemy|flask_caching)/.*"
    options = {"show_regex": shown, "filter_threshold": 0.02}
    text = profiler.output_text(unicode=True, time="percent_of_total", processor_options=options)
    # The report's first frames are this script's: keep the request's own tree.
    tree = text[text.index("FlaskClient.get") :] if "FlaskClient.get" in text else text
    output.write_text(f"{REQUESTS} requests of GET /books?page=N&per_page=20\n\n{tree}")


if __name__ == "__main__":
    main()
