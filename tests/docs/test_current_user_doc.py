"""docs/current-user.md: every fenced Python block runs as written (each asserts what it shows)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

PAGE = Path(__file__).resolve().parents[2] / "docs" / "current-user.md"
BLOCKS = re.findall(r"```python\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.S)


def test_the_page_has_its_examples() -> None:
    assert len(BLOCKS) == 3


@pytest.mark.parametrize("block", BLOCKS, ids=[f"block{n}" for n in range(len(BLOCKS))])
def test_the_block_runs(block: str) -> None:
    exec(compile(block, str(PAGE), "exec", dont_inherit=True), {"__name__": "docs_current_user"})
