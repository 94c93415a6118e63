"""``ActionResult`` narrows under ``mypy --strict`` like the client's results.

The snippets mirror the README's in-process examples; mypy checks them in this test.
"""

from __future__ import annotations

from pathlib import Path

import pytest

mypy_api = pytest.importorskip("mypy.api")

README_SNIPPETS = '''
from faroe_flask import ActionResult, Server, current_faroe


def user_id_of(token: str) -> str | None:
    result = current_faroe.invoke("get_session", {"session_token": token})
    if result.ok:
        user_id: str = result.values["session"]["user_id"]
        return user_id
    return None


def start_signup(server: Server) -> str:
    result: ActionResult = server.invoke("create_signup", {"email_address": "user@example.com"})
    if result.ok:
        return str(result.values["signup_token"])
    else:
        code: str = result.error_code
        return code + result.action_invocation_id
'''

# Each line must be an error: the result is not narrowed.
NOT_NARROWED = '''
from faroe_flask import Server


def values_without_check(server: Server) -> object:
    result = server.invoke("get_session", {"session_token": "x"})
    return result.values  # line 7
'''


def test_readme_snippets_type_check_and_unnarrowed_access_does_not(tmp_path: Path) -> None:
    good = tmp_path / "readme_snippets.py"
    good.write_text(README_SNIPPETS, encoding="utf-8")
    bad = tmp_path / "not_narrowed.py"
    bad.write_text(NOT_NARROWED, encoding="utf-8")
    stdout, stderr, status = mypy_api.run(
        # A private cache: a shared one may hold these module names from another run's files.
        ["--strict", "--no-error-summary", "--hide-error-context", "--cache-dir", str(tmp_path / "cache"), str(good), str(bad)]
    )
    lines = [line for line in stdout.splitlines() if line.strip()]
    assert not any(str(good) in line for line in lines), stdout + stderr
    assert len(lines) == 1 and f"{bad}:7:" in lines[0] and '"values"' in lines[0], stdout + stderr
    assert status == 1
