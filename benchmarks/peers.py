"""A protected view against its peers (issue 21), every figure a ratio measured in the same run.

    python benchmarks/peers.py [--quick] [--only calls,instructions,http] [--repeats R]
                               [--duration S] [--backends sqlite,postgresql,mariadb]
                               [--threads N] [--requests N]

Needs the ``bench`` extra (``pip install -e ".[test,bench]"``: Flask-Login, Flask-SQLAlchemy,
Flask-Security-Too), wrk for the HTTP figures (``apt-get install -y wrk``) and valgrind with a C
compiler for the instruction counts (skipped with a note when missing). The apps are in
``benchmarks/benchlib/peer_apps.py``: a bare view, Flask-Login + Flask-SQLAlchemy (signed cookie,
``user_loader``), Flask-Login on a server-side session table (``request_loader``),
Flask-Security-Too (``auth_required``), faroe-flask's ``login_required`` + ``current_user``, and
faroe-flask's endpoint (``POST /faroe`` ``get_session``). Each protected view answers the signed-in
user's email address; every answer is checked for it.

Sections:

1. calls: Python and C function calls per authenticated request, with Flask's test client on
   SQLite (a figure the machine's load cannot move), and the share of faroe-flask's answers that
   carry ``Set-Cookie`` within one activity-check interval. Targets: faroe-flask's view at most
   1.35x the bare view's calls; Set-Cookie on at most 1 in 100 answers.
2. instructions: instructions per request under ``valgrind --tool=callgrind`` (counted only
   around the requests; the test client included), on SQLite.
3. http: requests per second over HTTP (waitress, ``--threads`` threads each; wrk -t2 -c16) in
   interleaved rounds: every round gives each app a slice, in an order that turns each round.
   Ratios to the bare view and of faroe-flask's view to Flask-Login's. Targets: faroe-flask's view
   at least 2x Flask-Login + Flask-SQLAlchemy on SQLite and PostgreSQL, at least 0.5 of the bare
   view on SQLite.

PostgreSQL and MariaDB rows run when FAROE_TEST_POSTGRESQL_URL / FAROE_TEST_MYSQL_URL are set;
each app gets a fresh database there (dropped at the end). The machine's load average is printed
with every table. Exit status: 0 when every section ran (targets met or not), 1 when a server or
a measurement failed.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import platform
import sys
import tempfile
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import callgrind, peer_apps, servers  # noqa: E402
from benchlib.backends import BACKENDS, Backend  # noqa: E402
from benchlib.inprocess import function_calls  # noqa: E402
from benchlib.load import Probe, generator_name, interleaved_rounds, run_probe  # noqa: E402
from benchlib.report import Run, Table, at_least, at_most, load_average  # noqa: E402

SECTIONS = ("calls", "instructions", "http")
NAMES = {
    "bare": "bare view",
    "flask_login": "Flask-Login + Flask-SQLAlchemy",
    "flask_login_table": "Flask-Login + session table",
    "flask_security": "Flask-Security-Too",
    "faroe": "faroe-flask view",
    "faroe_endpoint": "faroe-flask endpoint",
}
ROWS = tuple(NAMES)
CALLS_TARGET = 1.35
SET_COOKIE_TARGET = 0.01
OVER_FLASK_LOGIN_TARGET = 2.0  # SQLite and PostgreSQL
OVER_BARE_TARGET = 0.5  # SQLite
SLICE_SECONDS = 1.0
HTTP_BACKENDS = ("sqlite", "postgresql", "mariadb")


class Options(argparse.Namespace):
    quick: bool
    only: str
    repeats: int
    duration: float | None
    backends: str
    threads: int
    requests: int | None


# 1. Calls per request ----------------------------------------------------------------------------


def section_calls(options: Options) -> None:
    table = Table(
        "1. Python and C function calls per authenticated request (Flask's test client, SQLite): "
        "ratio to the bare view"
    )
    calls: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="faroe-bench-peers-") as directory:
        for kind in peer_apps.KINDS:
            app = peer_apps.create(kind, f"sqlite:///{Path(directory) / kind}.sqlite3")
            client = app.test_client()
            email = client.get("/bench-signin").get_data(as_text=True).split()[0]

            def request(client: object = client, email: str = email) -> None:
                response = client.get("/me")  # type: ignore[attr-defined]
                if response.status_code != 200 or response.get_data(as_text=True) != email:
                    raise RuntimeError(f"{kind}: answered {response.status_code}, not the user")

            calls[kind] = function_calls(request, calls=200)
            if kind == "faroe":
                _set_cookie_share(table, client, request)
    bare = calls["bare"]
    for kind in peer_apps.KINDS:
        ratio = calls[kind] / bare
        target = at_most(CALLS_TARGET) if kind == "faroe" else None
        table.row(NAMES[kind], [Run(ratio, f"{calls[kind]:.0f} calls")], target)


def _set_cookie_share(table: Table, client: object, request: object) -> None:
    """How many of 1,000 authenticated answers re-send the cookie (the test client's requests
    come within well under a minute: one activity-check interval)."""
    total = sets = 0
    for _ in range(1000):
        response = client.get("/me")  # type: ignore[attr-defined]
        total += 1
        sets += any(h.startswith("faroe_session=") for h in response.headers.getlist("Set-Cookie"))
    share = sets / total
    verdict = "PASS" if share <= SET_COOKIE_TARGET else "FAIL"
    table.note(
        f"faroe-flask view: Set-Cookie on {sets} of {total} answers ({share:.1%}; target "
        f"<= {SET_COOKIE_TARGET:.0%}): {verdict}"
    )


# 2. Instructions per request ---------------------------------------------------------------------


def section_instructions(options: Options) -> None:
    table = Table(
        "2. instructions per authenticated request (valgrind --tool=callgrind, Flask's test "
        "client, SQLite): ratio to the bare view"
    )
    reason = callgrind.unavailable()
    if reason:
        table.skip("every app", reason)
        return
    requests = options.requests or (50 if options.quick else 300)
    counts: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="faroe-bench-peers-") as directory:
        for kind in peer_apps.KINDS:
            got = callgrind.instructions_per_request(
                kind, f"sqlite:///{Path(directory) / kind}.sqlite3", requests
            )
            if isinstance(got, str):
                raise RuntimeError(f"{kind}: {got}")
            counts[kind] = got
    for kind in peer_apps.KINDS:
        ratio = counts[kind] / counts["bare"]
        table.row(NAMES[kind], [Run(ratio, f"{counts[kind] / 1000:.0f}k instr.")], None)


# 3. Over HTTP ------------------------------------------------------------------------------------


def _sign_in(url: str) -> tuple[str, str, str]:
    """``GET /bench-signin``: (email address, user id, the Cookie header to send)."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        connection.request("GET", "/bench-signin")
        response = connection.getresponse()
        body = response.read().decode()
        if response.status != 200:
            raise RuntimeError(f"sign-in on {url} answered {response.status}")
        cookies = [
            value.split(";", 1)[0] for name, value in response.getheaders() if name.lower() == "set-cookie"
        ]
    finally:
        connection.close()
    email, user_id = body.split()
    return email, user_id, "; ".join(cookies)


def _probes(kind: str, url: str) -> list[tuple[str, str, Probe]]:
    """(row, url, probe) for one server: the view, and for Faroe also the endpoint."""
    email, user_id, cookie = _sign_in(url)
    view = Probe(method="GET", headers=(("Cookie", cookie),) if cookie else (), marks=(email,))
    rows = [(kind, url + "/me", view)]
    if kind == "faroe":
        token = cookie.split("faroe_session=", 1)[1].split(";", 1)[0]
        body = json.dumps({"action": "get_session", "arguments": {"session_token": token}}).encode()
        endpoint = Probe(body=body, marks=('"ok":true', f'"user_id":"{user_id}"'))
        rows.append(("faroe_endpoint", url + "/faroe", endpoint))
    return rows


@contextlib.contextmanager
def _database(backend: Backend) -> Iterator[str]:
    with backend.provision() as database:
        yield database.url


def section_http(options: Options) -> None:
    seconds = options.duration or (3.0 if options.quick else 20.0)
    if generator_name(False) != "wrk":
        Table("3. over HTTP").skip("every app", "wrk is not installed (apt-get install -y wrk)")
        return
    chosen = [name.strip() for name in options.backends.split(",") if name.strip()]
    for backend in BACKENDS:
        if backend.name not in chosen or backend.name not in HTTP_BACKENDS:
            continue
        table = Table(
            f"3. over HTTP on {backend.name} (waitress, {options.threads} threads; wrk -t2 -c16, "
            f"{seconds:g} s a run on each app in {SLICE_SECONDS:g} s slices, rounds interleaved): "
            "requests/s, ratio to the bare view"
        )
        if backend.skip_reason():
            table.skip(backend.name, backend.skip_reason() or "")
            continue
        with contextlib.ExitStack() as stack:
            targets: list[tuple[str, str, Probe]] = []
            for kind in peer_apps.KINDS:
                if kind == "bare":
                    url_of_database = "sqlite://"
                else:
                    url_of_database = stack.enter_context(_database(backend))
                server = stack.enter_context(servers.start_peer(kind, url_of_database, options.threads))
                targets.extend(_probes(kind, server.url))
            for _, url, probe in targets:  # warm up: connections, caches, the JIT of nothing
                run_probe(url, probe, 1)
            runs: dict[str, list[float]] = {row: [] for row, _, _ in targets}
            for number in range(options.repeats):
                results = interleaved_rounds(
                    [(url, probe) for _, url, probe in targets], seconds,
                    slices=round(seconds / SLICE_SECONDS), offset=number,
                )
                for (row, _, _), result in zip(targets, results):
                    if result.bad:
                        raise RuntimeError(f"{row}: {result.bad} bad answers of {result.good + result.bad}")
                    runs[row].append(result.per_second)
            table.note(load_average())
            _http_rows(table, backend.name, runs)


def _http_rows(table: Table, backend: str, runs: dict[str, list[float]]) -> None:
    bare = runs["bare"]
    for row in ROWS:
        if row not in runs:
            continue
        ratios = [Run(got / ceiling, f"{got:.0f}/{ceiling:.0f}") for got, ceiling in zip(runs[row], bare)]
        target = at_least(OVER_BARE_TARGET) if row == "faroe" and backend == "sqlite" else None
        table.row(f"{NAMES[row]} / bare", ratios, target)
    over = [Run(f / l, f"{f:.0f}/{l:.0f}") for f, l in zip(runs["faroe"], runs["flask_login"])]
    target = at_least(OVER_FLASK_LOGIN_TARGET) if backend in ("sqlite", "postgresql") else None
    table.row("faroe-flask view / Flask-Login", over, target)


# Main --------------------------------------------------------------------------------------------


def parse(argv: list[str]) -> Options:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="short runs (a smoke test, not figures)")
    parser.add_argument("--only", default=",".join(SECTIONS), help="sections: " + ",".join(SECTIONS))
    parser.add_argument("--repeats", type=int, default=3, help="HTTP runs per backend (default 3)")
    parser.add_argument("--duration", type=float, help="seconds of load per app and run (default 20)")
    parser.add_argument("--backends", default=",".join(HTTP_BACKENDS), help="HTTP backends")
    parser.add_argument("--threads", type=int, default=4, help="waitress threads of every app")
    parser.add_argument("--requests", type=int, help="requests counted under callgrind (default 300)")
    options = parser.parse_args(argv, namespace=Options())
    if options.quick and options.repeats == 3:
        options.repeats = 1
    return options


def main(argv: list[str]) -> int:
    options = parse(argv)
    chosen = {name.strip() for name in options.only.split(",") if name.strip()}
    unknown = chosen - set(SECTIONS)
    if unknown:
        raise SystemExit(f"unknown sections: {', '.join(sorted(unknown))}")
    print(f"peers.py on Python {platform.python_version()}; {load_average()}")
    try:
        if "calls" in chosen:
            section_calls(options)
        if "instructions" in chosen:
            section_instructions(options)
        if "http" in chosen:
            section_http(options)
    except (RuntimeError, servers.ServerStartError) as exc:
        print(f"\nFAILED: {exc}", flush=True)
        return 1
    print(f"\nfinished; {load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
