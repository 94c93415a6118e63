"""Profile in-process get_session on one backend (the loop that section 2 of get_session.py times).

    python benchmarks/profile_get_session.py BACKEND [--seconds S] [--cprofile] [--top N]
    py-spy record --idle --format raw --rate 250 -o stacks.txt -- \\
        python benchmarks/profile_get_session.py BACKEND --seconds 15
    python benchmarks/profile_get_session.py --summarize stacks.txt [--top N]

BACKEND is memory, sqlite, postgresql or mariadb (the last two on a fresh database on the server
of FAROE_TEST_POSTGRESQL_URL / FAROE_TEST_MYSQL_URL, dropped at the end). Without ``--cprofile``
it only runs get_session in a loop for S seconds (for a sampling profiler). ``--summarize`` reads
py-spy's raw (collapsed) output and prints the top functions by own and by total samples, counting
only the samples taken inside the loop (not the set-up).
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import cProfile
import pstats
import secrets
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import inprocess  # noqa: E402
from benchlib.backends import BACKENDS  # noqa: E402
from faroe_flask import MemoryStorage, MemoryUserStore, Server  # noqa: E402
from faroe_flask.sql import upgrade_database  # noqa: E402

LOOP = "get_session_loop"


@contextlib.contextmanager
def session_on(backend_name: str) -> Iterator[tuple[Server, str]]:
    password = "bench-" + secrets.token_hex(10)
    if backend_name == "memory":
        server, catcher = inprocess.faroe_app(None, storage=MemoryStorage(), user_store=MemoryUserStore())
        yield server, inprocess.signup(server, catcher, password)[1]
        return
    backend = next((b for b in BACKENDS if b.name == backend_name), None)
    if backend is None:
        raise SystemExit(f"unknown backend {backend_name}")
    if backend.skip_reason():
        raise SystemExit(backend.skip_reason())
    with backend.provision() as database:
        upgrade_database(database.url)
        server, catcher = inprocess.faroe_app(database.settings)
        try:
            yield server, inprocess.signup(server, catcher, password)[1]
        finally:
            server.storage.engine.dispose()  # type: ignore[attr-defined]


def get_session_loop(server: Server, token: str, seconds: float) -> int:
    arguments = {"session_token": token}
    calls = 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        if not server.invoke("get_session", arguments).ok:
            raise RuntimeError("get_session failed")
        calls += 1
    return calls


# Where a sample inside the SQL layer goes, by the frames below the outermost faroe_flask.sql one
# (the store method); the first rule that matches wins.
_CATEGORIES: list[tuple[str, Callable[[list[str]], bool]]] = [
    ("pool: pre-ping", lambda below: any("do_ping" in f for f in below)),
    ("pool: checkout, checkin, reset", lambda below: any("sqlalchemy/pool/" in f for f in below)),
    ("COMMIT / ROLLBACK", lambda below: any(("commit" in f.lower() or "rollback" in f.lower()) for f in below)),
    ("BEGIN", lambda below: any(f.split(" ")[0].endswith(("begin", "_on_begin", "_begin_impl")) for f in below)),
    ("reading the row (Result.first, row mapping)", lambda below: any(
        "sqlalchemy/engine/result.py" in f or "sqlalchemy/engine/row.py" in f or "Result.first" in f
        for f in below)),
    ("execute: cache key of the statement", lambda below: any("_generate_cache_key" in f for f in below)),
    ("execute: compiled-cache lookup, compile", lambda below: any("_compile_w_cache" in f for f in below)),
    ("execute: driver (cursor.execute, fetch)", lambda below: any(
        f.startswith(("DefaultDialect.do_execute", "CursorFetchStrategy.fetchone")) for f in below)),
    ("execute: events, context, result set-up", lambda below: any(
        f.startswith(("Connection.execute", "ClauseElement._execute_on_connection")) for f in below)),
    ("building statements (select, where, ==)", lambda below: any("sqlalchemy/sql/" in f for f in below)),
    ("engine.connect, connection close, execution_options", lambda below: any(
        "sqlalchemy/engine/" in f for f in below)),
]


def summarize(path: Path, top: int) -> None:
    """Top functions of py-spy's raw output, over the samples inside ``get_session_loop``."""
    own: collections.Counter[str] = collections.Counter()
    categories: collections.Counter[str] = collections.Counter()
    samples = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        frames = stack.split(";")
        inside = next((n for n, frame in enumerate(frames) if frame.startswith(LOOP + " ")), None)
        if inside is None or not count_text.isdigit():
            continue
        count = int(count_text)
        samples += count
        frames = [_short(frame) for frame in frames[inside + 1:]]
        if frames:
            own[frames[-1]] += count
        categories[_category(frames)] += count
    print(f"{samples} samples inside {LOOP}\n")
    print("where the time goes:")
    for name, count in categories.most_common():
        print(f"  {100 * count / samples:5.1f}%  {name}")
    print(f"\ntop {top} functions by own samples:")
    for frame, count in own.most_common(top):
        print(f"  {100 * count / samples:5.1f}%  {frame}")


def _category(frames: list[str]) -> str:
    sql = [n for n, frame in enumerate(frames) if "(faroe_flask/sql/" in frame]
    if not sql:
        if any("(faroe_flask/" in frame for frame in frames[-1:]):
            return "Faroe engine (outside the SQL layer)"
        return "Faroe engine: library code it calls (json, hashlib, ...)"
    below = frames[sql[0] + 1:]
    for name, matches in _CATEGORIES:
        if matches(below):
            return name
    if all("(faroe_flask/sql/" in frame for frame in below):
        return "SQL layer's own code (faroe_flask/sql)"
    return "other, under the SQL layer"


def _short(frame: str) -> str:
    """'name (path/to/site-packages/pkg/mod.py:12)' -> 'name (pkg/mod.py)': one entry per function."""
    name, _, where = frame.partition(" (")
    where = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "/lib/python3"):
        if marker in where:
            where = where.split(marker, 1)[1]
            break
    else:
        if "/faroe_flask/" in where:
            where = "faroe_flask/" + where.split("/faroe_flask/", 1)[1]
    return f"{name} ({where})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("backend", nargs="?")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--cprofile", action="store_true")
    parser.add_argument("--summarize", type=Path)
    parser.add_argument("--top", type=int, default=20)
    options = parser.parse_args()
    if options.summarize:
        summarize(options.summarize, options.top)
        return
    if not options.backend:
        parser.error("name a backend")
    with session_on(options.backend) as (server, token):
        get_session_loop(server, token, 1.0)  # warm up
        if options.cprofile:
            profile = cProfile.Profile()
            calls = profile.runcall(get_session_loop, server, token, options.seconds)
            print(f"{calls} get_session calls on {options.backend} under cProfile\n")
            stats = pstats.Stats(profile)
            stats.sort_stats("tottime").print_stats(options.top)
            stats.sort_stats("cumulative").print_stats(options.top)
        else:
            calls = get_session_loop(server, token, options.seconds)
            print(f"{calls} get_session calls on {options.backend} in {options.seconds:g} s "
                  f"({1e6 * options.seconds / calls:.0f} us each)")


if __name__ == "__main__":
    main()
