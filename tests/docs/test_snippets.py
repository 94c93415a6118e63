"""Every Python snippet of ``docs/*.md`` and ``README.md`` runs, or is marked as a fragment with
its reason (the convention: ``snippets.py`` and ``docs/contributing.md``).

Each page's snippets run in order in a temporary directory, with working values for the
environment variables they read: a SQLite database, a real SMTP server, a Faroe endpoint and a
user server on loopback. Some pages have a check that goes on with what their snippets built
(``CHECKS``), so that "it ran" also means "it does what the page says".
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from faroe_flask import Faroe, MemoryUserStore, UserNotFoundError
from faroe_flask.passwords import USER_PASSWORD_ARGON2ID
from faroe_flask.testing import FAST_PASSWORD_HASHING, memory_parts, outbox_of
from faroe_flask.user_server import user_server_blueprint

from ..flask.smtp import SMTPSink
from ..servers import serve
from .snippets import ROOT, MarkerError, Snippet, pages, snippets

PAGES = pages()
ADA, ADA_PASSWORD = "ada@example.com", "a correct horse battery staple 7"

Namespace = dict[str, Any]


@contextlib.contextmanager
def _faroe_endpoint(secret: str) -> Iterator[str]:
    """A Faroe endpoint on memory parts on loopback (for ``AUTH_URL``)."""
    app = Flask("docs_faroe_endpoint")
    app.config.update(FAST_PASSWORD_HASHING, FAROE_ENDPOINT_SECRET=secret)
    Faroe(app, **memory_parts())
    with serve(app) as base_url:
        Environment.endpoint_app = app
        yield f"{base_url}/faroe"


@contextlib.contextmanager
def _user_server(secret: str) -> Iterator[str]:
    """A user server over memory users on loopback (for ``USER_SERVER_URL``)."""
    app = Flask("docs_user_server")
    app.register_blueprint(user_server_blueprint(MemoryUserStore(), secret=secret))
    with serve(app) as base_url:
        yield f"{base_url}/faroe-user-server"


class Environment:
    """What a page's snippets find in ``os.environ``, and the servers behind it."""

    endpoint_app: Flask | None = None

    def __init__(self, tmp_path: Path, text: str, stack: contextlib.ExitStack) -> None:
        self.secret_key = secrets.token_hex(16)
        self.endpoint_secret = secrets.token_hex(16)
        self.user_server_secret = secrets.token_hex(16)
        self.database_url = f"sqlite:///{tmp_path / 'app.sqlite3'}"
        self.smtp = stack.enter_context(SMTPSink())
        self.variables = {
            "SECRET_KEY": self.secret_key,
            "DATABASE_URL": self.database_url,
            "FAROE_ENDPOINT_SECRET": self.endpoint_secret,
            "MAIL_SERVER": self.smtp.host,
            "MAIL_PORT": str(self.smtp.port),
            # A Redis that is there when the suite has one; the snippets connect on first use only.
            "REDIS_URL": os.environ.get("FAROE_TEST_REDIS_URL") or "redis://127.0.0.1:9/0",
            "USER_SERVER_SECRET": self.user_server_secret,
            "FLASK_SECRET_KEY": self.secret_key,
            "FLASK_FAROE_DATABASE_URL": self.database_url,
            "FLASK_FAROE_ENDPOINT_SECRET": self.endpoint_secret,
            "FLASK_MAIL_SERVER": self.smtp.host,
            "FLASK_MAIL_PORT": str(self.smtp.port),
            "FLASK_MAIL_DEFAULT_SENDER": "docs@example.com",
        }
        if "AUTH_URL" in text:
            self.variables["AUTH_URL"] = stack.enter_context(_faroe_endpoint(self.endpoint_secret))
        if "USER_SERVER_URL" in text:
            self.variables["USER_SERVER_URL"] = stack.enter_context(_user_server(self.user_server_secret))


def _run_page(page: Path, environment: Environment) -> list[tuple[Snippet, Namespace]]:
    """Run the page's snippets; ``(snippet, namespace)`` for each one that ran."""
    ran: list[tuple[Snippet, Namespace]] = []
    namespace: Namespace | None = None
    for snippet in snippets(page):
        if snippet.kind in ("fragment", "tested-by"):
            continue
        if snippet.kind == "run" or namespace is None:
            assert snippet.kind == "run", f"{snippet.where}: 'continued' with no snippet before it"
            namespace = {"__name__": f"docs_snippet_{page.stem.replace('-', '_')}"}
        exec(compile(snippet.code, snippet.where, "exec", dont_inherit=True), namespace)
        ran.append((snippet, namespace))
    return ran


# Checks that go on with what a page's snippets built -----------------------------------------


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, "no CSRF token in the form"
    return match.group(1)


def _add_user(app: Flask, email_address: str, password: str) -> None:
    """A user in the app's user store (as an existing user would be): no signup email, no
    password strength check (which would call the Pwned Passwords API)."""
    salt = os.urandom(16)
    user_store = app.extensions["faroe"].server.user_store
    user_store.create_user(email_address, USER_PASSWORD_ARGON2ID.hash(password, salt), USER_PASSWORD_ARGON2ID.id, salt)


def _check_quick_start(ran: list[tuple[Snippet, Namespace]], environment: Environment) -> None:
    app: Flask = ran[0][1]["app"]
    migrated = app.test_cli_runner().invoke(args=["faroe", "db", "upgrade"])
    assert migrated.exit_code == 0, migrated.output
    _add_user(app, ADA, ADA_PASSWORD)
    client = app.test_client()
    assert client.get("/profile").headers["Location"] == "/account/signin?next=%2Fprofile"
    form = client.get("/account/signin?next=/profile").get_data(as_text=True)
    signed_in = client.post("/account/signin", data={
        "email_address": ADA, "password": ADA_PASSWORD, "next": "/profile", "csrf_token": _csrf(form)})
    assert signed_in.headers["Location"] == "/profile"
    assert client.get("/profile").get_data(as_text=True) == f"Signed in as {ADA}"
    notification = environment.smtp.wait_for(lambda message: message["To"] == ADA)
    assert "sign" in notification["Subject"].lower()
    # The JSON endpoint wants the secret.
    body = {"action": "get_session", "arguments": {"session_token": "x"}}
    assert client.post("/faroe", json=body).status_code == 401
    bearer = {"Authorization": f"Bearer {environment.endpoint_secret}"}
    assert client.post("/faroe", json=body, headers=bearer).get_json()["error_code"] == "invalid_session_token"
    if len(ran) > 1 and ran[1][0].kind == "continued":  # the in-process call (docs/quickstart.md)
        cookie = client.get_cookie("faroe_session")
        assert cookie is not None
        answer = client.get("/api/session-user", headers={"X-Session-Token": cookie.value})
        assert answer.status_code == 200 and answer.get_json()["user_id"]
        assert client.get("/api/session-user", headers={"X-Session-Token": "nope"}).status_code == 401


def _check_quick_start_csrf(ran: list[tuple[Snippet, Namespace]], environment: Environment) -> None:
    _check_quick_start(ran, environment)
    (app,) = [namespace["app"] for snippet, namespace in ran if "CSRFProtect(app)" in snippet.code]
    client = app.test_client()
    bearer = {"Authorization": f"Bearer {environment.endpoint_secret}"}
    answer = client.post("/faroe", json={"action": "get_session", "arguments": {"session_token": "x"}},
                         headers=bearer)
    assert answer.status_code == 200, "the endpoint is exempt from CSRFProtect"
    assert client.post("/account/signin", data={"email_address": ADA, "password": "x"}).status_code == 400


def _check_views(ran: list[tuple[Snippet, Namespace]], environment: Environment) -> None:
    app: Flask = ran[0][1]["app"]
    assert app.test_client().get("/profile").headers["Location"] == "/login?next=%2Fprofile"
    from faroe_flask import signed_in

    assert ran[-1][1]["record_sign_in"] in list(signed_in.receivers_for(app))


def _check_pages(ran: list[tuple[Snippet, Namespace]], environment: Environment) -> None:
    app: Flask = ran[0][1]["app"]
    page = app.test_client().get("/account/signin")
    assert page.status_code == 200 and 'name="csrf_token"' in page.get_data(as_text=True)
    # The usernames section: an existing user given a username by the page's receiver signs in
    # with it; the sign-up form asks for one and refuses a taken one beside the field.
    (namespace,) = [namespace for snippet, namespace in ran if "signup_fields_receiver" in snippet.code]
    migrated = app.test_cli_runner().invoke(args=["faroe", "db", "upgrade"])
    assert migrated.exit_code == 0, migrated.output
    _add_user(app, ADA, ADA_PASSWORD)
    with app.test_request_context():
        user = app.extensions["faroe"].user_store.get_user_by_email_address(ADA)
        namespace["save_username"](user.id, {"username": "ada"})
    client = app.test_client()
    form = client.get("/account/signin").get_data(as_text=True)
    assert "Email address or username" in form
    signed_in = client.post("/account/signin", data={
        "email_address": "ada", "password": ADA_PASSWORD, "csrf_token": _csrf(form)})
    assert signed_in.status_code == 302 and client.get_cookie("faroe_session") is not None
    form = client.get("/account/signup").get_data(as_text=True)
    assert 'id="username"' in form and "Others see it beside your posts." in form
    taken = client.post("/account/signup", data={
        "email_address": "grace@example.com", "username": "ada", "csrf_token": _csrf(form)})
    assert taken.status_code == 422 and "This username is taken." in taken.get_data(as_text=True)


def _check_database(ran: list[tuple[Snippet, Namespace]], environment: Environment) -> None:
    namespace = ran[0][1]
    with pytest.raises(UserNotFoundError):
        namespace["user_store"].get_user_by_email_address(ADA)  # the tables exist


def _check_email(ran: list[tuple[Snippet, Namespace]], environment: Environment) -> None:
    namespace = ran[0][1]
    assert namespace["app"].extensions["faroe"].server.email_sender is namespace["sender"]


def _check_redis(ran: list[tuple[Snippet, Namespace]], environment: Environment) -> None:
    from faroe_flask.redis import RedisStorage

    storage = ran[0][1]["app"].extensions["faroe"].server.storage
    assert isinstance(storage, RedisStorage)
    if os.environ.get("FAROE_TEST_REDIS_URL"):
        from faroe_flask import StorageEntryNotFoundError

        with pytest.raises(StorageEntryNotFoundError):
            storage.get(f"faroe-docs-test-{secrets.token_hex(8)}")  # a real round trip


def _check_client(ran: list[tuple[Snippet, Namespace]], environment: Environment) -> None:
    client_namespace, user_server_client, user_server = (namespace for _, namespace in ran)
    assert client_namespace["result"].ok
    assert Environment.endpoint_app is not None
    assert outbox_of(Environment.endpoint_app).code_for(ADA)
    with user_server_client["app"].app_context(), pytest.raises(UserNotFoundError):
        user_server_client["user_store"].get_user_by_email_address(ADA)  # over HTTP
    app: Flask = user_server["app"]
    assert app.test_cli_runner().invoke(args=["faroe", "db", "upgrade"]).exit_code == 0
    body = {"action": "get_user_by_email_address", "arguments": {"email_address": ADA}}
    client = app.test_client()
    assert client.post("/faroe-user-server", json=body).status_code == 401
    answer = client.post("/faroe-user-server", json=body,
                         headers={"Authorization": f"Bearer {environment.user_server_secret}"})
    assert answer.get_json()["error_code"] == "user_not_found"


def _check_engine(ran: list[tuple[Snippet, Namespace]], environment: Environment) -> None:
    namespace = ran[-1][1]
    assert '"invalid_session_token"' in namespace["body"]
    assert namespace["result"].ok and namespace["signup"].ok


def _check_testing(ran: list[tuple[Snippet, Namespace]], environment: Environment) -> None:
    """The page's tests, as a test module of their own, pass under pytest (with the plugin)."""
    module = Path.cwd() / "test_docs_testing_page.py"
    module.write_text("\n".join(snippet.code for snippet, _ in ran), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(module)],
        capture_output=True, text=True, timeout=120, cwd=module.parent,
    )
    assert result.returncode == 0 and "2 passed" in result.stdout, result.stdout + result.stderr


CHECKS: dict[str, Callable[[list[tuple[Snippet, Namespace]], Environment], None]] = {
    "README.md": _check_quick_start,
    "docs/quickstart.md": _check_quick_start_csrf,
    "docs/views.md": _check_views,
    "docs/pages.md": _check_pages,
    "docs/database.md": _check_database,
    "docs/email.md": _check_email,
    "docs/redis.md": _check_redis,
    "docs/client.md": _check_client,
    "docs/engine.md": _check_engine,
    "docs/testing.md": _check_testing,
}


# Tests ----------------------------------------------------------------------------------------


def _runnable(page: Path) -> bool:
    return any(snippet.kind in ("run", "continued") for snippet in snippets(page))


@pytest.mark.parametrize("page", [p for p in PAGES if _runnable(p)], ids=lambda p: p.relative_to(ROOT).as_posix())
def test_the_pages_snippets_run(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    text = page.read_text(encoding="utf-8")
    with contextlib.ExitStack() as stack:
        environment = Environment(tmp_path, text, stack)
        for name, value in environment.variables.items():
            monkeypatch.setenv(name, value)
        ran = _run_page(page, environment)
        check = CHECKS.get(page.relative_to(ROOT).as_posix())
        if check is not None:
            check(ran, environment)


def test_every_page_with_runnable_snippets_has_a_check_or_runs_them_only() -> None:
    """A check is named by the page it belongs to; a page that is renamed loses its check."""
    names = {page.relative_to(ROOT).as_posix() for page in PAGES}
    assert set(CHECKS) <= names


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_the_markers_follow_the_convention(page: Path) -> None:
    for snippet in snippets(page):  # raises MarkerError for an unknown or misplaced marker
        if snippet.kind == "fragment":
            compile(snippet.code, snippet.where, "exec", dont_inherit=True)  # shown only, but valid Python
        if snippet.kind == "tested-by":
            path = ROOT / snippet.detail
            assert path.is_file(), f"{snippet.where}: no test file {snippet.detail}"
            assert page.name in path.read_text(encoding="utf-8"), f"{snippet.detail} does not read {page.name}"


def test_a_bad_marker_is_reported(tmp_path: Path) -> None:
    """The parser refuses what the convention does not allow, rather than running or skipping it."""
    cases = {
        "<!-- snippet: fragment -->\n```python\nx = 1\n```\n": "needs a reason",
        "<!-- snippet: skip -->\n```python\nx = 1\n```\n": "unknown snippet marker",
        "<!-- snippet: continued -->\n\n```python\nx = 1\n```\n": "right above a fence",
        "<!-- snippet: continued -->\n```sh\nls\n```\n": "above a sh block",
    }
    for number, (text, message) in enumerate(cases.items()):
        page = tmp_path / f"page{number}.md"
        page.write_text(text, encoding="utf-8")
        with pytest.raises(MarkerError, match=message):
            snippets(page)
    fine = tmp_path / "fine.md"
    fine.write_text("`<!-- snippet: continued -->` in prose\n\n<!-- snippet: fragment: a reason -->\n"
                    "```python\nx = 1\n```\n", encoding="utf-8")
    assert [(s.kind, s.detail, s.code) for s in snippets(fine)] == [("fragment", "a reason", "x = 1\n")]
