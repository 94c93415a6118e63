"""The API reference (``docs/api/*.rst``) holds every public name.

* every name of ``faroe_flask.__all__`` has its own ``auto*`` directive under ``faroe_flask``;
* every public module is documented: with ``automodule`` (its whole ``__all__``, less what
  ``faroe_flask`` re-exports and documents) or with the members it lists;
* every name the guides and the README import (``from faroe_flask... import ...``) is documented.

Sphinx itself (``sphinx-build -W`` in ``.ci/run``) fails when a documented name cannot be
imported; this test fails when a public name is not documented at all.
"""

from __future__ import annotations

import importlib
import re

import faroe_flask

from .snippets import ROOT

API = ROOT / "docs" / "api"
#: Modules whose ``__all__`` is public API beside ``faroe_flask`` itself.
PUBLIC_MODULES = [
    "faroe_flask.client", "faroe_flask.user_server", "faroe_flask.sql", "faroe_flask.redis",
    "faroe_flask.passwords", "faroe_flask.legacy_passwords", "faroe_flask.core.strength",
    "faroe_flask.core.action_names", "faroe_flask.testing", "faroe_flask.flask.serving",
    "faroe_flask.flask.health", "faroe_flask.flask.metrics", "faroe_flask.flask.mail",
    "faroe_flask.flask.pages_messages", "faroe_flask.flask.hooks", "faroe_flask.flask.identity",
    "faroe_flask.flask.deletion", "faroe_flask.flask.login_bridge",
]
#: Modules documented with the members they list (their ``__all__`` holds internals too).
LISTED_MODULES = {
    "faroe_flask.core.envelope": {"ActionSuccess", "ActionError"},
    "faroe_flask.core.sessions": {"SessionSuccess"},
    "faroe_flask.flask.config": {"Setting", "group", "SETTINGS", "DEFAULTS", "PAGES_DEFAULTS"},
    "faroe_flask.pytest_plugin": {"faroe_outbox", "faroe_user", "faroe_client"},
}

_DIRECTIVE = re.compile(r"^\.\. (auto\w+|currentmodule|module):: (\S+)\s*$((?:\n   .*)*)", re.MULTILINE)
_MEMBERS = re.compile(r":members: (.+)")
_IMPORT = re.compile(r"^\s*from (faroe_flask[\w.]*) import \(?([\w, \n]+?)\)?\s*$", re.MULTILINE)


def documented() -> tuple[set[str], set[str]]:
    """``(names, whole modules)``: the dotted names documented one by one (or as listed
    members), and the modules documented with their whole ``__all__``."""
    names: set[str] = set()
    modules: set[str] = set()
    for page in sorted(API.glob("*.rst")):
        current = ""
        for kind, target, options in _DIRECTIVE.findall(page.read_text(encoding="utf-8")):
            if kind in ("currentmodule", "module"):
                current = target
            elif kind == "automodule":
                current = target
                members = _MEMBERS.search(options)
                if members:
                    names.update(f"{target}.{name.strip()}" for name in members.group(1).split(","))
                else:
                    modules.add(target)
            else:
                names.add(target if target.startswith("faroe_flask.") else f"{current}.{target}")
    return names, modules


def _is_documented(module: str, name: str, names: set[str], modules: set[str]) -> bool:
    exported = {id(getattr(faroe_flask, n)) for n in faroe_flask.__all__}
    if f"{module}.{name}" in names:
        return True
    if module in modules and name in getattr(importlib.import_module(module), "__all__", ()):
        return True
    return id(getattr(importlib.import_module(module), name)) in exported  # documented under faroe_flask


def test_every_top_level_name_is_documented_under_faroe_flask() -> None:
    names, _ = documented()
    missing = [name for name in faroe_flask.__all__ if f"faroe_flask.{name}" not in names]
    assert missing == []
    assert len(faroe_flask.__all__) == len(set(faroe_flask.__all__))


def test_every_public_module_is_documented() -> None:
    names, modules = documented()
    assert sorted(set(PUBLIC_MODULES) - modules) == []
    for module, members in LISTED_MODULES.items():
        assert {f"{module}.{member}" for member in members} <= names, module
        for member in members:
            getattr(importlib.import_module(module), member)  # the listed members exist


def test_every_name_the_docs_import_is_documented() -> None:
    names, modules = documented()
    undocumented = []
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for module, imported in _IMPORT.findall(page.read_text(encoding="utf-8")):
            for name in (part.strip() for part in imported.replace("\n", ",").split(",")):
                if name and not _is_documented(module, name, names, modules):
                    undocumented.append(f"{page.name}: {module}.{name}")
    assert undocumented == []


def test_the_scan_reads_the_pages() -> None:
    names, modules = documented()
    assert {"faroe_flask.Faroe", "faroe_flask.login_required", "faroe_flask.flask.config.Setting"} <= names
    assert {"faroe_flask.client", "faroe_flask.sql"} <= modules
    assert not _is_documented("faroe_flask.flask.extension", "Authenticate", names, modules)
