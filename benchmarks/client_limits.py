"""What the per-client limits cost (issue 18), as ratios measured in one run.

    python benchmarks/client_limits.py [--repeats R] [--budget S] [--backends NAMES]

For each storage (memory parts; SQLite; PostgreSQL, MariaDB and Redis storage when
FAROE_TEST_POSTGRESQL_URL / FAROE_TEST_MYSQL_URL / FAROE_TEST_REDIS_URL are set) two apps are
built on the same database, one with the limits on (the email limit set so high that it never
refuses: every call pays a real token take, a storage read and a compare-and-swap) and one with
``FAROE_CLIENT_LIMITS=off``. Calls go through the endpoint's WSGI view (Flask's test client, from
one client address), so that network noise does not hide the difference; each run interleaves
the two apps, and runs are repeated R times, each printed with the load average.

1. ``get_session`` (a read the limits never touch): time with limits / without (expect 1.00
   within the noise), and the Python + C function calls the limits add to one request (a count
   the load cannot move; target: at most 1, the endpoint's admit hook).
2. ``create_signup`` (an email action, limited): time with limits / without, and the absolute
   microseconds the limit adds; the limiter's own token take on its own, in microseconds.

The exit status is 0 when every figure was measured and the function-call target was met.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import secrets
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from flask import Flask  # noqa: E402

from benchlib.backends import BACKENDS, Backend, Database  # noqa: E402
from benchlib.inprocess import CodeCatcher, function_calls, median_microseconds  # noqa: E402
from benchlib.report import Run, Table, Target, load_average  # noqa: E402
from faroe_flask import Faroe, MemoryStorage, MemoryUserStore  # noqa: E402
from faroe_flask.flask.rejections import RejectionLog  # noqa: E402
from faroe_flask.sql import upgrade_database  # noqa: E402

NEVER_EMPTY = (10**9, 1)
#: get_session pays one function call for the limits (the endpoint's admit hook, which finds the
#: action in no limit); the load cannot move this count, unlike the times.
ADDED_CALLS = Target("<= 1", lambda value: value <= 1)  # a bucket that always has a token: every call takes one
CLIENT = "198.51.100.23"


class Options(argparse.Namespace):
    repeats: int
    budget: float
    backends: str


def build(settings: dict[str, Any], limits: bool, **parts: Any) -> Flask:
    app = Flask(f"faroe_bench_limits_{'on' if limits else 'off'}")
    app.config.update(FAROE_PASSWORD_STRENGTH_CHECK="offline", FAROE_EMAIL_SENDER="console", TESTING=True)
    app.config.update(settings)
    app.config.update(FAROE_CLIENT_LIMITS="on" if limits else "off", FAROE_CLIENT_EMAIL_LIMIT=NEVER_EMPTY)
    Faroe(app, email_sender=CodeCatcher(), **parts)
    return app


def poster(app: Flask, action: str, arguments: Callable[[], dict[str, str]]) -> Callable[[], object]:
    client = app.test_client()
    environ = {"REMOTE_ADDR": CLIENT}

    def call() -> object:
        body = json.dumps({"action": action, "arguments": arguments()})
        response = client.post("/faroe", data=body, environ_base=environ)
        if response.status_code != 200:
            raise RuntimeError(f"{action} answered HTTP {response.status_code}")
        return response

    return call


def session_token(app: Flask) -> str:
    """A valid session, made in-process (outside a request: no limit)."""
    server = app.extensions["faroe"].server
    catcher = server.email_sender
    email = f"bench-{secrets.token_hex(6)}@example.com"
    token = server.invoke("create_signup", {"email_address": email}).values["signup_token"]
    server.invoke("verify_signup_email_address_verification_code",
                  {"signup_token": token, "email_address_verification_code": catcher.code})
    server.invoke("set_signup_password", {"signup_token": token, "password": "bench " + secrets.token_hex(8)})
    return str(server.invoke("complete_signup", {"signup_token": token}).values["session_token"])


def unique_email() -> dict[str, str]:
    return {"email_address": f"b{secrets.token_hex(8)}@example.com"}


@contextlib.contextmanager
def storages(options: Options) -> Iterator[tuple[str, dict[str, Any], Callable[[], dict[str, Any]]]]:
    """(name, settings, parts factory) per storage; SQL ones on a fresh database."""
    wanted = set(options.backends.split(",")) if options.backends else None
    yielded: list[tuple[str, dict[str, Any], Callable[[], dict[str, Any]]]] = []
    with contextlib.ExitStack() as stack:
        if wanted is None or "memory" in wanted:
            shared = (MemoryStorage(), MemoryUserStore())
            yielded.append(("memory", {}, lambda: {"storage": shared[0], "user_store": shared[1]}))
        for backend in BACKENDS:
            if wanted is not None and backend.name not in wanted:
                continue
            if backend.skip_reason():
                print(f"  {backend.name}: skipped ({backend.skip_reason()})", flush=True)
                continue
            database: Database = stack.enter_context(_provisioned(backend))
            yielded.append((backend.name, database.settings, dict))
        yield yielded  # type: ignore[misc]


@contextlib.contextmanager
def _provisioned(backend: Backend) -> Iterator[Database]:
    with backend.provision() as database:
        upgrade_database(database.url)
        yield database


def measure(on: Callable[[], object], off: Callable[[], object], options: Options) -> list[tuple[float, float]]:
    """(on, off) median microseconds per run, the two interleaved within each run."""
    runs = []
    for _ in range(options.repeats):
        first = median_microseconds(on, options.budget / 2).wall
        second = median_microseconds(off, options.budget).wall
        third = median_microseconds(on, options.budget / 2).wall
        runs.append(((first + third) / 2, second))
    return runs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--budget", type=float, default=2.0, help="seconds per figure and run")
    parser.add_argument("--backends", default="", help="comma-separated: memory,sqlite,postgresql,mariadb,redis")
    options = parser.parse_args(argv, namespace=Options())
    logging.getLogger("faroe_flask").setLevel(logging.ERROR)  # the open-endpoint warning
    print(f"client_limits benchmark: {options.repeats} runs, {load_average()}", flush=True)
    failures = 0
    with storages(options) as backends:
        for name, settings, parts in backends:
            on, off = build(settings, True, **parts()), build(settings, False, **parts())
            token = session_token(on)
            table = Table(f"{name}: limits on / off, median elapsed microseconds (on vs off per run)")
            read_on = poster(on, "get_session", lambda: {"session_token": token})
            read_off = poster(off, "get_session", lambda: {"session_token": token})
            reads = measure(read_on, read_off, options)
            table.row("get_session: on / off", [Run(a / b, f"{a:.0f}/{b:.0f}") for a, b in reads], None)
            table.row("get_session: added function calls",
                      [Run(function_calls(read_on) - function_calls(read_off)) for _ in reads], ADDED_CALLS)
            signups = measure(poster(on, "create_signup", unique_email), poster(off, "create_signup", unique_email),
                              options)
            table.row("create_signup: on / off", [Run(a / b, f"{a:.0f}/{b:.0f}") for a, b in signups], None)
            table.row("create_signup: added us", [Run(a - b) for a, b in signups], None)
            state = on.extensions["faroe"]
            limits = state.guard.limits
            log = RejectionLog()
            take = median_microseconds(lambda: limits.admit(state.server, "create_signup", CLIENT, log), options.budget)
            table.note(f"one token take on its own (read + compare-and-swap): {take.wall:.1f} us "
                       f"({take.cpu:.1f} us CPU); {load_average()}")
            failures += table.failures
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
