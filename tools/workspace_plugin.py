"""pytest plugin loaded by `tools/workspace.py check`: what each failing test ran into.

For every failing test it notes the exception (type and message) and the requests that found no
route in your app (a 404, or a 405 for a URL known with another method), and writes them as JSON to
the file named by LIBRARY_CHECK_REPORT. workspace.py turns them into a line that names the
missing piece, e.g. "POST /users/login answers 404: the login route is not written yet".
"""

import json
import os

import pytest

REPORT = "LIBRARY_CHECK_REPORT"
_misses: list[tuple[str, str, int]] = []  # the current test's requests that matched no route
_failures: dict[str, dict] = {}


def record_miss(sender, response, **extra) -> None:
    from flask import request

    # routing_exception: Flask found no rule for the URL (404) or none for its method (405).
    if request.routing_exception is not None and response.status_code in (404, 405):
        _misses.append((request.method, request.path, response.status_code))


def pytest_configure(config) -> None:
    try:
        from flask import request_finished
    except ImportError:  # not a Flask project: nothing to watch
        return
    request_finished.connect(record_miss)  # every app; a module-level function stays referenced


def pytest_runtest_logstart(nodeid, location) -> None:
    _misses.clear()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.failed and item.nodeid not in _failures:
        error = call.excinfo.value if call.excinfo else None
        _failures[item.nodeid] = {
            "when": report.when,
            "error": type(error).__name__ if error else None,
            "message": str(error).splitlines()[0] if error and str(error) else "",
            "misses": list(dict.fromkeys(_misses)),
        }
    return report


def pytest_sessionfinish(session) -> None:
    if path := os.environ.get(REPORT):
        with open(path, "w", encoding="utf-8") as file:
            json.dump(_failures, file)
