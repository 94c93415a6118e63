"""Strict JSON reading and compact writing, shared by the endpoint, the client and the user server.

Rules, the same as the reference's JSON library where it matters: one JSON object, no repeated
member names at any depth, no ``NaN``/``Infinity``, no lone surrogate escapes, invalid UTF-8 bytes
read as U+FFFD (harmless inside strings, a syntax error elsewhere). Every failure is a
``ValueError`` whose message describes the problem without quoting the body.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["load_object", "dump_compact"]


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name, value in pairs:
        if name in result:
            raise ValueError("repeated member name in a JSON object")
        result[name] = value
    return result


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


_DECODER = json.JSONDecoder(object_pairs_hook=_object_without_duplicates, parse_constant=_reject_constant)


def _has_lone_surrogate(document: Any) -> bool:
    stack = [document]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _encodes(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def load_object(body: str | bytes) -> dict[str, Any]:
    """Parse ``body`` as exactly one JSON object; raise ``ValueError`` otherwise (foundations.md F2.7)."""
    if isinstance(body, str):
        text = body
        # A str body may hold a raw lone surrogate, which UTF-8 cannot encode.
        may_hold_surrogates = "\\u" in text or not _encodes(text)
    else:
        # Decoding UTF-8 never yields a surrogate: only a \u escape can make a lone one.
        text = bytes(body).decode("utf-8", errors="replace")
        may_hold_surrogates = "\\u" in text
    try:
        document = _DECODER.decode(text)
    except RecursionError:
        raise ValueError("the JSON document is nested too deeply") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"not a JSON document ({exc.msg} at character {exc.pos})") from None
    if not isinstance(document, dict):
        raise ValueError("the JSON document is not an object")
    if may_hold_surrogates and _has_lone_surrogate(document):
        raise ValueError("a JSON string holds a lone surrogate")
    return document


def dump_compact(document: dict[str, Any]) -> bytes:
    """Compact UTF-8 JSON, members in insertion order (foundations.md F2.8).

    Raises ``ValueError`` if a string cannot be encoded as UTF-8 (a lone surrogate).
    """
    text = json.dumps(document, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("a string argument is not valid Unicode (lone surrogate)") from None
