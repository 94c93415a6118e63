"""Servers in subprocesses on 127.0.0.1 (a free port each), and a small JSON client for them.

Every process started here is registered and killed at exit, whatever happens. A server that
does not print its ``Faroe endpoint: POST <url>`` line in time, or exits, raises
``ServerStartError`` carrying its stderr.
"""

from __future__ import annotations

import atexit
import http.client
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any

REPOSITORY = Path(__file__).resolve().parents[2]
APPS = Path(__file__).resolve().parent / "apps.py"
PEER_APPS = Path(__file__).resolve().parent / "peer_apps.py"
EXAMPLE = REPOSITORY / "examples" / "app.py"

_READY = re.compile(r"(Faroe endpoint: POST|Serving on) (http://\S+)")
_START_TIMEOUT = 90.0
_RUNNING: list[subprocess.Popen[bytes]] = []

# Variables of the caller's environment that would change what the example does.
_SCRUBBED_PREFIXES = ("MAIL_", "FAROE_")
_SCRUBBED = ("HOST", "PORT")


class ServerStartError(RuntimeError):
    pass


def _kill_all() -> None:
    for process in _RUNNING:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


atexit.register(_kill_all)


def _exit_on_sigterm(_signal: int, _frame: object) -> None:
    raise SystemExit(143)  # runs the finally blocks and atexit: no server is left behind


if threading.current_thread() is threading.main_thread():
    signal.signal(signal.SIGTERM, _exit_on_sigterm)


class ServerProcess:
    """One server process: ``url`` once started; stdout (emails on the console) in a file."""

    def __init__(self, name: str, command: list[str], environment: dict[str, str]) -> None:
        self.name = name
        self._directory = tempfile.TemporaryDirectory(prefix="faroe-bench-")
        self.stdout_path = Path(self._directory.name) / "stdout.txt"
        self.stderr_path = Path(self._directory.name) / "stderr.txt"
        base = {
            k: v for k, v in os.environ.items()
            if k not in _SCRUBBED and not k.startswith(_SCRUBBED_PREFIXES)
        }
        env = {**base, "HOST": "127.0.0.1", "PORT": "0", "PYTHONUNBUFFERED": "1", **environment}
        with open(self.stdout_path, "wb") as stdout, open(self.stderr_path, "wb") as stderr:
            self.process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr,
                env=env, cwd=REPOSITORY,
            )
        _RUNNING.append(self.process)
        self.url = self._wait_until_ready()

    def _wait_until_ready(self) -> str:
        deadline = time.monotonic() + _START_TIMEOUT
        while time.monotonic() < deadline:
            match = _READY.search(self.stdout_path.read_text(errors="replace"))
            if match:
                url = match.group(2)
                if match.group(1).startswith("Faroe"):
                    status, _ = post(url, b"{}")  # rejected body: 400 from every endpoint here
                    if status != 400:
                        self._fail(f"answered {status} to an invalid body instead of 400")
                return url
            if self.process.poll() is not None:
                self._fail(f"exited with status {self.process.returncode}")
            time.sleep(0.05)
        self._fail(f"printed no endpoint line within {_START_TIMEOUT:.0f} s")
        raise AssertionError("unreachable")

    def _fail(self, what: str) -> None:
        stderr = self.stderr_path.read_text(errors="replace")
        self.stop()
        raise ServerStartError(f"server {self.name} {what}; its stderr:\n{stderr}")

    def stdout(self) -> str:
        return self.stdout_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self.process in _RUNNING:
            _RUNNING.remove(self.process)
        self._directory.cleanup()

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def start_example(settings: dict[str, str], name: str) -> ServerProcess:
    """``examples/app.py`` as it is, configured by its environment variables only. A load test is
    one client making many requests: the per-client limits are off unless ``settings`` says."""
    environment = {"FAROE_CLIENT_LIMITS": "off", **settings, "FAROE_PASSWORD_STRENGTH_CHECK": "offline"}
    return ServerProcess(name, [sys.executable, str(EXAMPLE)], environment)


def start_peer(kind: str, database_url: str, threads: int) -> ServerProcess:
    """One of the apps of ``peer_apps.py`` (it prints ``Serving on <url>``)."""
    command = [sys.executable, str(PEER_APPS), kind, database_url]
    return ServerProcess(kind, command, {"THREADS": str(threads)})


def start_app(kind: str, *arguments: str) -> ServerProcess:
    """One of the apps in ``apps.py`` (``bare`` or ``memory``)."""
    return ServerProcess(kind, [sys.executable, str(APPS), kind, *arguments], {})


# HTTP ------------------------------------------------------------------------------------------


class Connection:
    """A keep-alive HTTP/1.1 connection to one endpoint URL."""

    def __init__(self, url: str, timeout: float = 30.0) -> None:
        parts = urllib.parse.urlsplit(url)
        assert parts.hostname == "127.0.0.1", "loopback only"
        self._path = parts.path or "/"
        self._connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)

    def post(self, body: bytes) -> tuple[int, bytes]:
        self._connection.request("POST", self._path, body, {"Content-Type": "application/json"})
        response = self._connection.getresponse()
        return response.status, response.read()

    def invoke(self, action: str, arguments: dict[str, str]) -> dict[str, Any]:
        status, body = self.post(json.dumps({"action": action, "arguments": arguments}).encode())
        if status != 200:
            raise RuntimeError(f"{action}: HTTP {status}")
        answer: dict[str, Any] = json.loads(body)
        return answer

    def close(self) -> None:
        self._connection.close()


def post(url: str, body: bytes) -> tuple[int, bytes]:
    connection = Connection(url)
    try:
        return connection.post(body)
    finally:
        connection.close()


def invoke_ok(connection: Connection, action: str, arguments: dict[str, str]) -> dict[str, Any]:
    answer = connection.invoke(action, arguments)
    if not answer.get("ok"):
        raise RuntimeError(f"{action} answered {answer.get('error_code')}")
    values: dict[str, Any] = answer["values"]
    return values


_CODE = re.compile(r"verification code is:\s+(\S+)")


def signup_over_http(server: ServerProcess, password: str) -> tuple[str, str]:
    """The whole signup flow against ``server``, the code read from its console emails.

    Returns (email address, session token).
    """
    email = f"bench-{secrets.token_hex(6)}@example.com"
    connection = Connection(server.url)
    try:
        token = invoke_ok(connection, "create_signup", {"email_address": email})["signup_token"]
        code = _console_code(server, email)
        invoke_ok(
            connection,
            "verify_signup_email_address_verification_code",
            {"signup_token": token, "email_address_verification_code": code},
        )
        invoke_ok(connection, "set_signup_password", {"signup_token": token, "password": password})
        session_token = invoke_ok(connection, "complete_signup", {"signup_token": token})["session_token"]
    finally:
        connection.close()
    return email, str(session_token)


def _console_code(server: ServerProcess, email: str) -> str:
    marker = f"----- email to {email} -----"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        output = server.stdout()
        if marker in output:
            match = _CODE.search(output, output.rindex(marker))
            if match:
                return match.group(1)
        time.sleep(0.05)
    raise RuntimeError(f"no verification code for the signup on the console of {server.name}")
