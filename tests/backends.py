"""The storage/user-store backends the engine's tests run on.

``BACKENDS`` lists them as pytest params; ``open_backend(name, tmp_path)`` yields a fresh
``(storage, user_store)`` pair and cleans up afterwards. Both user stores also offer the
administration methods ``set_user_disabled`` and ``set_user_display_name``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from faroe_flask import MemoryStorage, MemoryUserStore

BACKENDS = [pytest.param("memory", id="memory")]


@contextlib.contextmanager
def open_backend(name: str, tmp_path: Path) -> Iterator[tuple[object, object]]:
    if name == "memory":
        yield MemoryStorage(), MemoryUserStore()
        return
    raise ValueError(f"unknown backend {name}")
