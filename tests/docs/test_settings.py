"""The configuration registry (``faroe_flask.flask.config.SETTINGS``) is the one list of keys.

* every ``FAROE_*`` key that the package reads is defined there, and every key defined there is
  read somewhere in the package (a string constant outside the registry itself: a
  ``config.get("FAROE_...")``, a key handed to a reader, or a key built as ``f"{prefix}_..."``
  from a prefix the same module passes);
* every ``FAROE_*`` name that the package's strings, the README or the docs mention is a key
  (or one of the few environment variables of the test suite);
* ``DEFAULTS`` and ``PAGES_DEFAULTS`` are derived from it, and each definition is complete.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

from faroe_flask.flask import config
from faroe_flask.flask.config import DEFAULTS, PAGES_DEFAULTS, SETTINGS
from faroe_flask.flask.pages import PAGES_DEFAULTS as PAGES_MODULE_DEFAULTS

from .snippets import ROOT

PACKAGE = ROOT / "faroe_flask"
KEYS = {setting.name for setting in SETTINGS}
#: ``FAROE_*`` environment variables of the test suite, not configuration keys.
NOT_CONFIGURATION = {"FAROE_TEST_POSTGRESQL_URL", "FAROE_TEST_MYSQL_URL", "FAROE_TEST_REDIS_URL",
                     "FAROE_SCREENSHOT_DIR", "FAROE_TEST_BACKENDS"}
# A key-like name: not followed by more of a name, nor by a wildcard (``FAROE_REDIS_*``).
_NAME = re.compile(r"FAROE_[A-Z0-9_]*[A-Z0-9](?![A-Z0-9_*])")
_WILDCARD = re.compile(r"(FAROE_[A-Z0-9_]*)\*")
_SUFFIX = re.compile(r"_[A-Z0-9_]*[A-Z0-9]")


def _registry_node(tree: ast.Module) -> ast.AST:
    (node,) = [n for n in tree.body if isinstance(n, ast.AnnAssign) and getattr(n.target, "id", "") == "SETTINGS"]
    return node


def _strings(node: ast.AST, skip: ast.AST | None = None) -> Iterator[ast.Constant]:
    for child in ast.walk(node):
        if child is skip:
            continue
        if isinstance(child, ast.Constant) and isinstance(child.value, str):
            yield child


def _inside(node: ast.AST, container: ast.AST | None) -> bool:
    return container is not None and any(node is child for child in ast.walk(container))


def package_reads() -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """``(reads, mentions)``: where each key-like name is used as a whole string constant (or
    built from a prefix), and where it is mentioned inside a longer string. The registry's own
    definitions count as mentions only."""
    reads: dict[str, list[str]] = {}
    mentions: dict[str, list[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        where = path.relative_to(ROOT).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        registry = _registry_node(tree) if path == Path(config.__file__) else None
        prefixes: set[str] = set()
        suffixes: set[str] = set()
        for constant in _strings(tree):
            in_registry = _inside(constant, registry)
            if _NAME.fullmatch(constant.value) and not in_registry:
                if constant.value in KEYS or constant.value in NOT_CONFIGURATION:
                    reads.setdefault(constant.value, []).append(where)
                else:
                    prefixes.add(constant.value)  # a prefix, checked below
                continue
            for name in _NAME.findall(constant.value):
                mentions.setdefault(name, []).append(where)
            for prefix in _WILDCARD.findall(constant.value):
                mentions.setdefault(prefix + "*", []).append(where)
        for node in ast.walk(tree):
            if isinstance(node, ast.JoinedStr):
                for value, following in zip(node.values, node.values[1:]):
                    if isinstance(value, ast.FormattedValue) and isinstance(following, ast.Constant):
                        suffix = _SUFFIX.match(str(following.value))
                        if suffix:
                            suffixes.add(suffix.group(0))
        for prefix in prefixes:
            built = {prefix + suffix for suffix in suffixes} & KEYS
            if not built:
                mentions.setdefault(prefix, []).append(where)  # neither a key nor a key's prefix
            for key in built:
                reads.setdefault(key, []).append(where)
    return reads, mentions


def doc_mentions() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md")), *sorted((ROOT / "docs").rglob("*.rst"))]:
        text = path.read_text(encoding="utf-8")
        for name in _NAME.findall(text):
            found.setdefault(name, []).append(path.relative_to(ROOT).as_posix())
    return found


def test_every_key_read_is_defined_and_every_defined_key_is_read() -> None:
    reads, _ = package_reads()
    undefined = {name: places for name, places in reads.items() if name not in KEYS | NOT_CONFIGURATION}
    assert undefined == {}, "read in the package but not in config.SETTINGS"
    assert sorted(KEYS - set(reads)) == [], "defined in config.SETTINGS but read nowhere"


def test_every_key_mentioned_in_the_package_is_defined() -> None:
    _, mentions = package_reads()
    unknown = {}
    for name, places in mentions.items():
        if name.endswith("*"):
            if not any(key.startswith(name[:-1]) for key in KEYS):
                unknown[name] = places
        elif name not in KEYS | NOT_CONFIGURATION:
            unknown[name] = places
    assert unknown == {}


def test_every_key_the_docs_mention_is_defined() -> None:
    unknown = {name: places for name, places in doc_mentions().items() if name not in KEYS | NOT_CONFIGURATION}
    assert unknown == {}


def test_the_checks_find_what_they_look_for() -> None:
    """The scan sees the reads it must see (a plain read, a key handed to a reader, keys built
    from a prefix) and would report a key read without a definition."""
    reads, mentions = package_reads()
    assert "faroe_flask/flask/extension.py" in reads["FAROE_DATABASE_URL"]
    assert "faroe_flask/flask/extension.py" in reads["FAROE_HEALTH_PATH"]  # optional_path(config, "...")
    assert "faroe_flask/flask/config.py" in reads["FAROE_TEMPORARY_PASSWORD_ARGON2_TIME_COST"]  # f"{prefix}_TIME_COST"
    assert "FAROE_SESSION_*" in mentions  # "FAROE_SESSION_*: ..." in an error message
    assert _NAME.findall('config.get("FAROE_NO_SUCH_KEY")') == ["FAROE_NO_SUCH_KEY"]
    assert _NAME.findall("FAROE_REDIS_* and FAROE_SERVE_TRUSTED_PROXY*") == []


def test_defaults_are_derived_from_the_registry() -> None:
    assert dict(DEFAULTS) == {s.name: s.default for s in SETTINGS if s.scope == "extension"}
    assert dict(PAGES_DEFAULTS) == {s.name: s.default for s in SETTINGS if s.scope == "pages"}
    assert PAGES_MODULE_DEFAULTS is PAGES_DEFAULTS
    assert set(DEFAULTS) | set(PAGES_DEFAULTS) == KEYS and not set(DEFAULTS) & set(PAGES_DEFAULTS)


def test_every_definition_is_complete() -> None:
    names = [setting.name for setting in SETTINGS]
    assert len(names) == len(set(names)), "a key defined twice"
    for setting in SETTINGS:
        assert re.fullmatch(r"FAROE_[A-Z0-9_]+", setting.name), setting.name
        assert setting.group and setting.type and setting.scope in ("extension", "pages"), setting.name
        assert setting.meaning.strip().endswith((".", ")")), f"{setting.name}: the meaning is a sentence"
        assert "\n" not in setting.type, setting.name
