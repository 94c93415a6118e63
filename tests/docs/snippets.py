"""Reading the Python snippets of the documentation (``docs/*.md`` and ``README.md``).

A snippet is a fenced ``python`` block. The HTML comment on the line right above its opening
fence, if any, says how the tests treat it (``docs/contributing.md`` is the user-facing
description of the convention):

* none: run on its own, in a fresh namespace;
* ``<!-- snippet: continued -->``: run in the namespace of the page's previous snippet;
* ``<!-- snippet: fragment: REASON -->``: compiled, not run; the reason is required;
* ``<!-- snippet: tested-by: PATH -->``: run by the test file ``PATH`` (relative to the
  repository), which must read the page.
"""

from __future__ import annotations

import dataclasses
import re
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"

KINDS = ("run", "continued", "fragment", "tested-by")

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>[^\n`]*)$")
_MARKER = re.compile(r"^\s*<!--\s*snippet:\s*(?P<body>.*?)\s*-->\s*$")
_ANY_MARKER = re.compile(r"<!--\s*snippet\b")
_INLINE_CODE = re.compile(r"(`+).*?\1")


class MarkerError(ValueError):
    """A snippet marker that does not follow the convention."""


@dataclasses.dataclass(frozen=True)
class Snippet:
    page: str  # "docs/quickstart.md", "README.md"
    line: int  # the line of the opening fence, 1-based
    code: str
    kind: str
    detail: str = ""  # the fragment's reason, or tested-by's path

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"


def pages() -> list[Path]:
    """Every Markdown page whose Python blocks are snippets."""
    return sorted(DOCS.glob("*.md")) + [ROOT / "README.md"]


def _parse_marker(body: str, where: str) -> tuple[str, str]:
    if body == "continued":
        return "continued", ""
    for kind in ("fragment", "tested-by"):
        if body == kind or body.startswith(kind + ":"):
            detail = body[len(kind) + 1:].strip()
            if not detail:
                raise MarkerError(f"{where}: '{kind}:' needs a {'reason' if kind == 'fragment' else 'path'}")
            return kind, detail
    raise MarkerError(f"{where}: unknown snippet marker {body!r} (continued, fragment: REASON, tested-by: PATH)")


def snippets(path: Path) -> list[Snippet]:
    """The page's Python snippets, in order. Raises ``MarkerError`` for a misplaced or unknown
    marker (a marker must sit right above a ``python`` fence)."""
    page = path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else path.name
    lines = path.read_text(encoding="utf-8").splitlines()
    found: list[Snippet] = []
    fence: str | None = None
    indent = ""
    start = 0
    info = ""
    marked: tuple[str, str] | None = None
    body: list[str] = []
    for number, line in enumerate(lines, start=1):
        if fence is not None:
            stripped = line.strip()
            if stripped.startswith(fence[0]) and set(stripped) == {fence[0]} and len(stripped) >= len(fence):
                if info == "python":
                    kind, detail = marked or ("run", "")
                    code = textwrap.dedent("\n".join(body)) + "\n"
                    found.append(Snippet(page, start, code, kind, detail))
                elif marked is not None:
                    raise MarkerError(f"{page}:{start}: a snippet marker above a {info or 'plain'} block")
                fence, marked, body = None, None, []
            else:
                body.append(line[len(indent):] if line.startswith(indent) else line)
            continue
        match = _FENCE.match(line)
        if match:
            fence, indent, start = match["fence"], match["indent"], number
            info = match["info"].strip().split(" ")[0].lower()
            previous = lines[number - 2] if number >= 2 else ""
            marker = _MARKER.match(previous)
            marked = _parse_marker(marker["body"], f"{page}:{number - 1}") if marker else None
            continue
        if _ANY_MARKER.search(_INLINE_CODE.sub("", line)):
            following = lines[number] if number < len(lines) else ""
            if not _MARKER.match(line) or not _FENCE.match(following):
                raise MarkerError(f"{page}:{number}: a snippet marker must be alone on the line right above a fence")
    if fence is not None:
        raise MarkerError(f"{page}:{start}: a fence that is never closed")
    return found
