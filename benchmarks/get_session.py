"""get_session and sign-in against their ceilings (issue 14), each measured in the same run.

    python benchmarks/get_session.py [--quick] [--only http,inprocess,signin] [--repeats R]
                                     [--duration S] [--signin-duration S] [--backends NAMES]
                                     [--load-generator auto|wrk|python]

Needs the ``test`` extra (``pip install -e ".[test]"``) and, for the HTTP figures, wrk
(``apt-get install -y wrk``; without it a slower Python load generator runs instead). PostgreSQL
and MariaDB rows run when FAROE_TEST_POSTGRESQL_URL / FAROE_TEST_MYSQL_URL are set; each run
creates a fresh database there (faroe_bench_<random>) and drops it at the end. Every server runs
in its own process on 127.0.0.1 with a free port and is stopped at the end.

Sections (every figure is a ratio to a reference measured in the same run, each run interleaving
target and reference, repeated R times; the median of the runs is compared with the target):

1. http: get_session over HTTP (wrk -t2 -c16) against a bare Flask view on waitress that parses
   the JSON body and answers a JSON document of the size of a real get_session answer. Targets:
   the extension on memory parts (>= 0.85), the example (examples/app.py) on SQLite (>= 0.7),
   PostgreSQL and MariaDB (>= 0.5).
2. inprocess: ``server.invoke("get_session")`` against the two SELECTs it needs on a raw driver
   connection (autocommit, kept open); one storage ``update`` (compare-and-swap) against the raw
   UPDATE; one ``get_user_by_email_address`` against the raw SELECT. Targets: <= 5x on SQLite,
   <= 1.5x on PostgreSQL and MariaDB. Memory parts: microseconds only.
3. signin: sign-ins per second by 2 HTTP clients against the example on SQLite with the default
   Argon2id parameters (65536 KiB, t=3, p=1), create_signin + verify_signin_user_password +
   complete_signin, against raw argon2-cffi hashes per second in 2 threads (>= 0.9).

Backends are listed in benchmarks/benchlib/backends.py (``BACKENDS``); its docstring says how to
add one (for example a Redis storage). The exit status is 0 when every section ran (whether or not the targets were met), 1 when a
server failed to start or a measurement failed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import platform
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from argon2.low_level import Type, hash_secret_raw  # noqa: E402

from benchlib import inprocess, servers  # noqa: E402
from benchlib.backends import BACKENDS, Backend  # noqa: E402
from benchlib.load import generator_name, interleaved_load, run_load  # noqa: E402
from benchlib.report import Run, Table, at_least, at_most, load_average, warn  # noqa: E402
from faroe_flask import MemoryStorage, MemoryUserStore  # noqa: E402
from faroe_flask.core.records import Session  # noqa: E402
from faroe_flask.passwords import USER_PASSWORD_ARGON2ID  # noqa: E402
from faroe_flask.sql import SQLUserStore, create_engine, upgrade_database  # noqa: E402

SECTIONS = ("http", "inprocess", "signin")
MEMORY_HTTP_TARGET = 0.85
SIGNIN_TARGET = 0.9
SIGNIN_CLIENTS = 2
SLICE_SECONDS = 1.0  # an HTTP run alternates target and reference in slices this long
PASSWORD = "bench-" + secrets.token_hex(10)  # not on the offline list of common passwords
_USES_PER_USER = 4  # verify_signin_user_password allows 5 per user per minute
HASH_FLOOR_SECONDS = 0.04  # an Argon2id hash of 64 MiB, t=3 takes longer on any machine


class Options(argparse.Namespace):
    quick: bool
    only: str
    repeats: int
    duration: float | None
    signin_duration: float | None
    backends: str
    load_generator: str


# 1. get_session over HTTP ------------------------------------------------------------------------


def get_session_body(token: str) -> bytes:
    return json.dumps({"action": "get_session", "arguments": {"session_token": token}}).encode()


def real_answer() -> str:
    """A real get_session answer (memory parts, in-process), for the bare view to imitate."""
    server, catcher = inprocess.faroe_app(None, storage=MemoryStorage(), user_store=MemoryUserStore())
    _, token = inprocess.signup(server, catcher, PASSWORD)
    return server.resolve_action_invocation_request(get_session_body(token))


StartServer = Callable[[contextlib.ExitStack], servers.ServerProcess]


def http_targets(options: Options) -> Iterator[tuple[str, float, StartServer]]:
    """(figure, target ratio, start) for each HTTP target that is selected and available.

    ``start(stack)`` provisions what the server needs on ``stack`` and starts it.
    """
    chosen = _chosen_backends(options)
    if "memory" in chosen:
        yield "memory parts (extension)", MEMORY_HTTP_TARGET, lambda _stack: servers.start_app("memory")
    for backend in _sql_backends(options):
        def start(stack: contextlib.ExitStack, backend: Backend = backend) -> servers.ServerProcess:
            database = stack.enter_context(backend.provision())
            return servers.start_example(database.settings, f"example on {backend.name}")

        yield f"example on {backend.name}", backend.http_target, start


def section_http(options: Options, durations: dict[str, float]) -> int:
    seconds = durations["http"]
    generator = generator_name(options.load_generator == "python")
    if options.load_generator == "wrk" and generator != "wrk":
        raise SystemExit("wrk is not installed (apt-get install -y wrk)")
    table = Table(
        f"1. get_session over HTTP ({generator}, 2 threads, 16 connections, {seconds:g} s a run "
        f"on each, in slices of {SLICE_SECONDS:g} s alternating with the reference): ratio of "
        "requests/s to the bare Flask view on waitress"
    )
    if generator != "wrk":
        warn("the Python load generator runs, not wrk: it competes with the servers for the CPUs, "
             "so the ratios are less telling")
    with tempfile.TemporaryDirectory(prefix="faroe-bench-") as directory:
        answer_file = Path(directory) / "answer.json"
        answer = real_answer()
        answer_file.write_text(answer)
        with servers.start_app("bare", str(answer_file)) as reference:
            for figure, target, start in http_targets(options):
                with contextlib.ExitStack() as stack:
                    server = stack.enter_context(start(stack))
                    _, token = servers.signup_over_http(server, PASSWORD)
                    body = get_session_body(token)
                    _check_sizes(table, server.url, reference.url, body)
                    for url in (server.url, reference.url):  # warm up (connections, caches)
                        run_load(url, body, 1, generator=generator)
                    runs = []
                    for number in range(options.repeats):
                        got, ceiling = interleaved_load(
                            server.url, reference.url, body, seconds, generator=generator,
                            slices=round(seconds / SLICE_SECONDS), reverse=number % 2 == 1,
                        )
                        if ceiling.per_second == 0:
                            raise RuntimeError(f"the bare view answered no request ({ceiling})")
                        for name, load in (("target", got), ("reference", ceiling)):
                            if load.bad:
                                warn(f"{figure}: {load.bad} failed requests to the {name}")
                        runs.append(
                            Run(got.per_second / ceiling.per_second,
                                f"{got.per_second:.0f}/{ceiling.per_second:.0f}")
                        )
                    table.row(figure, runs, at_least(target))
            for backend in _skipped_backends(options):
                table.skip(f"example on {backend.name}", backend.skip_reason() or "")
    table.note("cells: ratio (target req/s / bare view req/s)")
    return table.failures


def _check_sizes(table: Table, target_url: str, reference_url: str, body: bytes) -> None:
    sizes = []
    for url in (target_url, reference_url):
        status, answer = servers.post(url, body)
        if status != 200 or b'"ok":true' not in answer:
            raise RuntimeError(f"get_session on {url} answered {status}: {answer[:200]!r}")
        sizes.append(len(answer))
    if abs(sizes[0] - sizes[1]) > 8:
        warn(f"answer sizes differ: target {sizes[0]} bytes, bare view {sizes[1]} bytes")


# 2. In-process ------------------------------------------------------------------------------------


def section_inprocess(options: Options, durations: dict[str, float]) -> int:
    budget = durations["inprocess"]
    if "memory" in _chosen_backends(options):
        _memory_inprocess(options, budget)
    table = Table(
        "2b. in-process on SQL, median microseconds of one call: ratio of the Faroe call to the "
        "same statements on a raw driver connection (autocommit, kept open)",
    )
    for backend in _sql_backends(options):
        with backend.provision() as database:
            upgrade_database(database.url)
            server, catcher = inprocess.faroe_app(database.settings)
            raw = backend.raw(database)
            try:
                email, token = inprocess.signup(server, catcher, PASSWORD)
                session = inprocess.invoke_ok(server, "get_session", {"session_token": token})["session"]
                key = server.storage_key_prefix + Session.PREFIX + token.split(".")[0]
                value, _ = raw.session_entry(key)  # the reference reads real rows
                raw.user_by_id(session["user_id"])
                storage, user_store = server.storage, server.user_store
                expires = datetime.now(timezone.utc) + timedelta(days=1)
                naive_expires = expires.replace(tzinfo=None)
                suffix = secrets.token_hex(4)
                storage.add(f"bench.{suffix}.faroe", value, expires)
                storage.add(f"bench.{suffix}.raw", value, expires)
                counters = {"faroe": 0, "raw": 0}

                def faroe_update() -> None:
                    storage.update(f"bench.{suffix}.faroe", value, expires, counters["faroe"])
                    counters["faroe"] += 1

                def raw_update() -> None:
                    if raw.compare_and_swap(f"bench.{suffix}.raw", value, naive_expires, counters["raw"]) != 1:
                        raise RuntimeError("the raw compare-and-swap matched no row")
                    counters["raw"] += 1

                def get_session() -> None:
                    if not server.invoke("get_session", {"session_token": token}).ok:
                        raise RuntimeError("get_session failed")

                def raw_reads() -> None:
                    raw.session_entry(key)
                    raw.user_by_id(session["user_id"])

                figures: list[tuple[str, Callable[[], object], Callable[[], object]]] = [
                    ("get_session", get_session, raw_reads),
                    ("storage update (CAS)", faroe_update, raw_update),
                    ("get_user_by_email_address",
                     lambda: user_store.get_user_by_email_address(email),
                     lambda: raw.user_by_email_address(email)),
                ]
                target = at_most(backend.inprocess_target)
                for name, faroe_call, raw_call in figures:
                    runs, cpu_runs = [], []
                    for number in range(options.repeats):
                        pair = [faroe_call, raw_call] if number % 2 == 0 else [raw_call, faroe_call]
                        measured = {id(op): inprocess.median_microseconds(op, budget) for op in pair}
                        faroe_us, raw_us = measured[id(faroe_call)], measured[id(raw_call)]
                        runs.append(Run(faroe_us.wall / raw_us.wall, f"{faroe_us.wall:.0f}/{raw_us.wall:.0f} us"))
                        cpu_runs.append(Run(faroe_us.cpu / raw_us.cpu, f"{faroe_us.cpu:.0f}/{raw_us.cpu:.0f} us"))
                    table.row(f"{backend.name}: {name}", runs, target)
                    table.row("  same, thread CPU time", cpu_runs, None)
                    faroe_calls, raw_calls = (inprocess.function_calls(op) for op in (faroe_call, raw_call))
                    table.note(
                        f"  function calls per call: {faroe_calls:.0f} (Faroe) / {raw_calls:.0f} "
                        f"(raw) = {faroe_calls / raw_calls:.2f}"
                    )
            finally:
                raw.close()
                _dispose(server)
    for backend in _skipped_backends(options):
        table.skip(backend.name, backend.skip_reason() or "")
    table.note("cells: ratio (Faroe us / raw driver us); the target applies to elapsed time; the "
               "CPU rows leave out waiting (network, database server) and preemption; function "
               "calls (Python and C, counted once, the same on a quiet or a loaded machine) show "
               "the work per call")
    return table.failures


def _memory_inprocess(options: Options, budget: float) -> None:
    server, catcher = inprocess.faroe_app(None, storage=MemoryStorage(), user_store=MemoryUserStore())
    email, token = inprocess.signup(server, catcher, PASSWORD)
    storage, user_store = server.storage, server.user_store
    expires = datetime.now(timezone.utc) + timedelta(days=1)
    storage.add("bench.cas", b"x" * 200, expires)
    counter = [0]

    def update() -> None:
        storage.update("bench.cas", b"x" * 200, expires, counter[0])
        counter[0] += 1

    def get_session() -> None:
        if not server.invoke("get_session", {"session_token": token}).ok:
            raise RuntimeError("get_session failed")

    table = Table("2a. in-process on memory parts: median microseconds of one call, elapsed (thread CPU) (no reference)", "{:.1f}")
    for name, call in (
        ("memory: get_session", get_session),
        ("memory: storage update (CAS)", update),
        ("memory: get_user_by_email_address", lambda: user_store.get_user_by_email_address(email)),
    ):
        timings = [inprocess.median_microseconds(call, budget) for _ in range(options.repeats)]
        table.row(name, [Run(t.wall, f"cpu {t.cpu:.1f}") for t in timings], None)
        table.note(f"  function calls per call: {inprocess.function_calls(call):.0f}")


def _dispose(server: object) -> None:
    engine = getattr(getattr(server, "storage", None), "engine", None)
    if engine is not None:
        engine.dispose()


# 3. Sign-in throughput ---------------------------------------------------------------------------


class _Users:
    """Fresh users on the example's database, each handed out for at most a few sign-ins."""

    def __init__(self, emails: list[str]) -> None:
        self._emails = iter(emails)
        self._lock = threading.Lock()

    def take(self) -> str:
        with self._lock:
            email = next(self._emails, None)
        if email is None:
            raise RuntimeError("the benchmark ran out of users (raise the estimate in section_signin)")
        return email


def _rate(workers: list[tuple[int, float]], started: float) -> float:
    """Completions per second: each worker's count over the time to its last completion."""
    return sum(count / (last - started) for count, last in workers if count and last > started)


def _in_threads(work: Callable[[int], tuple[int, float]], threads: int) -> list[tuple[int, float]]:
    results: list[tuple[int, float] | BaseException] = [(0, 0.0)] * threads

    def run(number: int) -> None:
        try:
            results[number] = work(number)
        except BaseException as exc:  # noqa: BLE001 - reported by the caller
            results[number] = exc

    workers = [threading.Thread(target=run, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results  # type: ignore[return-value]


def hashes_per_second(seconds: float, salt: bytes) -> float:
    algorithm = USER_PASSWORD_ARGON2ID
    started = time.perf_counter()
    deadline = started + seconds

    def work(_number: int) -> tuple[int, float]:
        count, last = 0, started
        while time.perf_counter() < deadline:
            hash_secret_raw(
                PASSWORD.encode(), salt, time_cost=algorithm.time_cost,
                memory_cost=algorithm.memory_cost, parallelism=algorithm.parallelism,
                hash_len=algorithm.hash_len, type=Type.ID,
            )
            count, last = count + 1, time.perf_counter()
        return count, last

    return _rate(_in_threads(work, SIGNIN_CLIENTS), started)


def signins_per_second(url: str, users: _Users, seconds: float) -> float:
    started = time.perf_counter()
    deadline = started + seconds

    def work(_number: int) -> tuple[int, float]:
        connection = servers.Connection(url)
        count, last = 0, started
        try:
            while time.perf_counter() < deadline:
                email = users.take()
                for _ in range(_USES_PER_USER):
                    if time.perf_counter() >= deadline:
                        break
                    values = servers.invoke_ok(connection, "create_signin", {"user_email_address": email})
                    token = values["signin_token"]
                    servers.invoke_ok(
                        connection, "verify_signin_user_password",
                        {"signin_token": token, "password": PASSWORD},
                    )
                    if not servers.invoke_ok(connection, "complete_signin", {"signin_token": token}).get("session_token"):
                        raise RuntimeError("complete_signin gave no session token")
                    count, last = count + 1, time.perf_counter()
        finally:
            connection.close()
        return count, last

    return _rate(_in_threads(work, SIGNIN_CLIENTS), started)


def section_signin(options: Options, durations: dict[str, float]) -> int:
    seconds = durations["signin"]
    algorithm = USER_PASSWORD_ARGON2ID
    table = Table(
        f"3. sign-in over HTTP, {SIGNIN_CLIENTS} clients, example on SQLite, {algorithm.id} "
        f"({seconds:g} s a run): ratio of sign-ins/s to raw argon2-cffi hashes/s in "
        f"{SIGNIN_CLIENTS} threads",
        "{:.3f}",
    )
    sqlite = next(backend for backend in BACKENDS if backend.name == "sqlite")
    with sqlite.provision() as database, servers.start_example(database.settings, "example on sqlite") as server:
        salt = secrets.token_bytes(algorithm.salt_size)
        started = time.perf_counter()
        password_hash = algorithm.hash(PASSWORD, salt)
        one_hash = time.perf_counter() - started
        # Enough users that none is rate limited (5 password checks a minute each): at most one
        # hash at a time per client, and a hash no faster than HASH_FLOOR_SECONDS or than half
        # of this one (the machine may be much less loaded later).
        fastest = min(0.5 * one_hash, HASH_FLOOR_SECONDS)
        per_client_run = math.ceil(seconds / fastest / _USES_PER_USER) + 2
        count = per_client_run * SIGNIN_CLIENTS * (options.repeats + 1)
        engine = create_engine(database.url)
        try:
            store = SQLUserStore(engine)
            emails = [f"bench-signin-{n}-{secrets.token_hex(4)}@example.com" for n in range(count)]
            for email in emails:
                store.create_user(email, password_hash, algorithm.id, salt)
        finally:
            engine.dispose()
        users = _Users(emails)
        signins_per_second(server.url, users, min(2.0, seconds))  # warm up
        runs = []
        for number in range(options.repeats):
            if number % 2 == 0:
                ceiling = hashes_per_second(seconds, salt)
                got = signins_per_second(server.url, users, seconds)
            else:
                got = signins_per_second(server.url, users, seconds)
                ceiling = hashes_per_second(seconds, salt)
            if ceiling == 0:
                raise RuntimeError("no argon2 hash completed: raise --signin-duration")
            runs.append(Run(got / ceiling, f"{got:.2f}/{ceiling:.2f}"))
        table.row("sign-in on sqlite", runs, at_least(SIGNIN_TARGET))
    table.note("cells: ratio (sign-ins/s / argon2 hashes/s)")
    return table.failures


# Main ---------------------------------------------------------------------------------------------


def _chosen_backends(options: Options) -> set[str]:
    names = {name.strip() for name in options.backends.split(",") if name.strip()}
    known = {"memory", *(backend.name for backend in BACKENDS)}
    if names - known:
        raise SystemExit(f"unknown backends {sorted(names - known)}; known: {sorted(known)}")
    return names


def _sql_backends(options: Options) -> list[Backend]:
    chosen = _chosen_backends(options)
    return [b for b in BACKENDS if b.name in chosen and b.skip_reason() is None]


def _skipped_backends(options: Options) -> list[Backend]:
    chosen = _chosen_backends(options)
    return [b for b in BACKENDS if b.name in chosen and b.skip_reason() is not None]


def _describe_run(options: Options, durations: dict[str, float]) -> None:
    commit = subprocess.run(
        ["git", "log", "-1", "--format=%h %s"], capture_output=True, text=True,
        cwd=Path(__file__).resolve().parent, check=False,
    ).stdout.strip()
    print(f"faroe-flask get_session benchmark, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC")
    print(f"commit: {commit or 'unknown'}")
    print(f"python {platform.python_version()}, {load_average()}")
    print(
        f"repeats {options.repeats}; HTTP {durations['http']:g} s, sign-in {durations['signin']:g} s, "
        f"in-process about {durations['inprocess']:g} s per measurement",
        flush=True,
    )


def parse_options(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="short runs (a smoke test, noisy figures)")
    parser.add_argument("--only", default=",".join(SECTIONS), help="comma-separated sections: http, inprocess, signin")
    parser.add_argument("--repeats", type=int, default=3, help="runs per figure (default 3)")
    parser.add_argument("--duration", type=float, help="seconds of each HTTP run (default 5; quick 2)")
    parser.add_argument("--signin-duration", type=float, help="seconds of each sign-in run (default 8; quick 3)")
    parser.add_argument(
        "--backends", default="memory," + ",".join(b.name for b in BACKENDS),
        help="comma-separated: memory, " + ", ".join(b.name for b in BACKENDS),
    )
    parser.add_argument("--load-generator", choices=("auto", "wrk", "python"), default="auto")
    options = parser.parse_args(argv, namespace=Options())
    if not 1 <= options.repeats <= 20:
        parser.error("--repeats must be between 1 and 20")
    for value in (options.duration, options.signin_duration):
        if value is not None and not 1 <= value <= 120:
            parser.error("durations must be between 1 and 120 seconds")
    unknown = {s.strip() for s in options.only.split(",")} - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections {sorted(unknown)}; known: {', '.join(SECTIONS)}")
    return options


def main(argv: list[str] | None = None) -> int:
    options = parse_options(argv)
    durations = {
        "http": options.duration or (2.0 if options.quick else 5.0),
        "signin": options.signin_duration or (3.0 if options.quick else 8.0),
        "inprocess": 0.15 if options.quick else 0.6,
    }
    _describe_run(options, durations)
    sections: dict[str, Callable[[Options, dict[str, float]], int]] = {
        "http": section_http, "inprocess": section_inprocess, "signin": section_signin,
    }
    only = [s.strip() for s in options.only.split(",")]
    failures = 0
    started = time.monotonic()
    try:
        for name in SECTIONS:
            if name in only:
                failures += sections[name](options, durations)
    except servers.ServerStartError as exc:
        print(f"\nERROR: {exc}", file=sys.stderr, flush=True)
        return 1
    except Exception as exc:  # noqa: BLE001 - a benchmark reports and stops
        print(f"\nERROR: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        return 1
    print(
        f"\n{failures} figure(s) below target; {time.monotonic() - started:.0f} s in all; "
        f"{load_average()}",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
