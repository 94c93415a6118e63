"""Every ``flask faroe`` command fails with one line and exit code 1 when the database is
unreachable, its tables are missing, or a ``FAROE_*`` value is unusable - never a traceback."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from faroe_flask.flask.extension import Faroe

from ..conftest import BannedPasswords, CapturingEmailSender
from .conftest import FAST_HASHING

EMAIL = "user@example.com"

COMMANDS = [
    pytest.param(["users", "disable", EMAIL], id="users-disable"),
    pytest.param(["users", "enable", EMAIL], id="users-enable"),
    pytest.param(["sessions", "revoke", EMAIL], id="sessions-revoke"),
    pytest.param(["purge-expired"], id="purge-expired"),
    pytest.param(["check"], id="check"),
]


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_cli_app(database_url: str, **config: Any) -> Flask:
    app = Flask("faroe_cli_failures")
    app.config.update(FAST_HASHING, TESTING=True, FAROE_DATABASE_URL=database_url,
                      FAROE_DATABASE_CONNECT_TIMEOUT=3, **config)
    Faroe(app, email_sender=CapturingEmailSender(), password_strength_checker=BannedPasswords())
    return app


def run(app: Flask, args: list[str]) -> tuple[int, list[str], float]:
    started = time.monotonic()
    result = app.test_cli_runner().invoke(args=["faroe", *args])
    elapsed = time.monotonic() - started
    engine = app.extensions["faroe"].engine
    if engine is not None:
        engine.dispose()
    return result.exit_code, result.output.strip().splitlines(), elapsed


def assert_one_line_failure(exit_code: int, lines: list[str], *expected: str) -> None:
    assert exit_code == 1, lines
    assert len(lines) == 1, lines
    assert lines[0].startswith("Error: ") and "Traceback" not in lines[0]
    for part in expected:
        assert part in lines[0], lines


@pytest.mark.parametrize("args", COMMANDS)
def test_missing_tables(args: list[str], tmp_path: Path) -> None:
    app = make_cli_app(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    exit_code, lines, _ = run(app, args)
    assert_one_line_failure(exit_code, lines)
    assert "no such table" in lines[0] or "OperationalError" in lines[0]


@pytest.mark.parametrize("args", COMMANDS)
@pytest.mark.parametrize("scheme", ["postgresql+psycopg", "mysql+pymysql"])
def test_unreachable_database(args: list[str], scheme: str) -> None:
    app = make_cli_app(f"{scheme}://faroe@127.0.0.1:{closed_port()}/faroe")
    exit_code, lines, elapsed = run(app, args)
    assert_one_line_failure(exit_code, lines, "OperationalError")
    assert elapsed < 10


def test_db_upgrade_on_an_unreachable_database() -> None:
    app = make_cli_app(f"postgresql+psycopg://faroe@127.0.0.1:{closed_port()}/faroe")
    exit_code, lines, _ = run(app, ["db", "upgrade"])
    assert_one_line_failure(exit_code, lines, "migration failed")


def test_a_bad_serving_setting(tmp_path: Path) -> None:
    app = make_cli_app(f"sqlite:///{tmp_path / 'x.sqlite3'}", FAROE_SERVE_THREADS="many")
    exit_code, lines, _ = run(app, ["serve"])
    assert_one_line_failure(exit_code, lines, "FAROE_SERVE_THREADS")


def test_check_passes_on_a_migrated_database(tmp_path: Path) -> None:
    app = make_cli_app(f"sqlite:///{tmp_path / 'ok.sqlite3'}")
    assert run(app, ["db", "upgrade"])[0] == 0
    exit_code, lines, _ = run(app, ["check"])
    assert exit_code == 0 and lines == ["ok: storage and user store answer"]
