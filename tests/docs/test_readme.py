"""The README stays a short front page: at most 200 lines, the quick start (account pages and
``login_required``) within its first 120, the two set-up commands, and links that resolve."""

from __future__ import annotations

import re

from .snippets import ROOT, snippets

README = ROOT / "README.md"
SET_UP_COMMANDS = [
    'python3 -m venv .venv && .venv/bin/pip install -e ".[pages]" && .venv/bin/python examples/app.py',
    'python3 -m venv .venv && .venv/bin/pip install -e ".[test]" && .venv/bin/pytest',
]


def test_the_readme_is_short_and_starts_with_the_quick_start() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 200
    (quick_start,) = [s for s in snippets(README) if "create_pages_blueprint" in s.code]
    assert "@login_required" in quick_start.code and "current_user" in quick_start.code
    end = quick_start.line + len(quick_start.code.splitlines())
    assert end <= 120, f"the quick start ends on line {end}"
    assert any("CSRFProtect" in line for line in lines[:120])


def test_the_two_set_up_commands_are_there_as_they_are() -> None:
    text = README.read_text(encoding="utf-8")
    for command in SET_UP_COMMANDS:
        assert f"```sh\n{command}\n```" in text


def test_the_readmes_relative_links_resolve() -> None:
    text = README.read_text(encoding="utf-8")
    targets = re.findall(r"\]\((?!https?://|#)([^)#\s]+)(?:#[^)]*)?\)", text)
    assert len(targets) > 10
    missing = [target for target in targets if not (ROOT / target).exists()]
    assert missing == []
