"""docs/mutation-testing.md shows the accepted equivalent mutants and the mutants killed by hand as
``scripts/mutation.py --equivalents`` prints them from pyproject.toml: every reason has its
sentence, and the page cannot drift from the lists the script counts by."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "mutation-testing.md"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("faroe_mutation_script", ROOT / "scripts" / "mutation.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return module


def _block(text: str, marker: str) -> list[str]:
    match = re.search(rf"<!-- {marker} -->\n(.*?)<!-- /{marker} -->", text, re.S)
    assert match is not None, marker
    return match.group(1).strip("\n").split("\n")


def test_the_pages_tables_are_the_scripts() -> None:
    script = _script()
    tool, _groups, equivalent, by_hand = script.load_settings()
    reasons = tool["faroe_flask"]["mutation"]["reasons"]
    text = PAGE.read_text(encoding="utf-8")
    assert _block(text, "EQUIVALENTS") == script.equivalents_table(equivalent, reasons)
    assert _block(text, "KILLED_BY_HAND") == script.killed_by_hand_table(by_hand)
    assert set(reasons) == set(equivalent.values()), "a reason without mutants, or mutants without a reason"


def test_a_reason_without_its_sentence_is_refused() -> None:
    script = _script()
    with pytest.raises(SystemExit) as raised:
        script.equivalents_table({"faroe_flask.core.x.x_f__mutmut_1": "no-such-reason"}, {})
    assert str(raised.value) == "reasons without a sentence in [tool.faroe_flask.mutation.reasons]: ['no-such-reason']"
    assert script.equivalents_table(
        {"faroe_flask.core.x.x_f__mutmut_1": "r", "faroe_flask.core.x.xǁCǁm__mutmut_2": "r",
         "faroe_flask.redis.x_g__mutmut_3": "r"},
        {"r": "Why."},
    )[2:] == ["| `r` | Why. | `core.x` 2, `redis` 1 |"]


def test_the_mutants_killed_by_hand_are_grouped_by_test() -> None:
    script = _script()
    assert script.killed_by_hand_table({
        "faroe_flask.sql.m.x_f__mutmut_10": "tests/a.py::test_one (a note)",
        "faroe_flask.sql.m.x_f__mutmut_9": "tests/a.py::test_one (a note)",
        "faroe_flask.sql.m.xǁCǁg__mutmut_2": "tests/a.py::test_one (a note)",
        "faroe_flask.core.n.x_h__mutmut_1": "tests/b.py",
    }) == [
        "| killed by | mutants |",
        "| --- | --- |",
        "| `tests/a.py::test_one` (a note) | `sql.m.x_f` 9, 10; `sql.m.xǁCǁg` 2 |",
        "| `tests/b.py` | `core.n.x_h` 1 |",
    ]
