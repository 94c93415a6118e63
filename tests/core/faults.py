"""Wrappers that make a real Storage or UserStore fail, or lose a race, on a chosen call."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class _Faulty:
    """Delegates every method to ``inner``; ``fail`` and ``before`` hook chosen calls."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self._hooks: list[tuple[str, Callable[[tuple[Any, ...]], bool], Callable[..., None], list[int]]] = []

    def _hook(self, method: str, match: Callable[[tuple[Any, ...]], bool], run: Callable[..., None], times: int) -> None:
        self._hooks.append((method, match, run, [times]))

    def _call(self, method: str, *args: Any) -> Any:
        for name, match, run, remaining in self._hooks:
            if name == method and remaining[0] != 0 and match(args):
                remaining[0] -= 1
                run(*args)
        return getattr(self.inner, method)(*args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class FaultyStorage(_Faulty):
    def fail(self, method: str, prefix: str = "", error: Exception | None = None, times: int = -1) -> None:
        """Make ``method`` raise ``error`` (default ``RuntimeError``) for keys starting with ``prefix``."""
        def run(*_: Any) -> None:
            raise error or RuntimeError("storage is down")

        self._hook(method, lambda args: str(args[0]).startswith(prefix), run, times)

    def before(self, method: str, prefix: str, run: Callable[..., None], times: int = 1) -> None:
        """Run ``run(*args)`` just before ``method`` is called on a key starting with ``prefix``."""
        self._hook(method, lambda args: str(args[0]).startswith(prefix), run, times)

    def touch(self, key: str) -> None:
        """A competing write: rewrite the entry unchanged, so its counter moves on."""
        value, counter = self.inner.get(key)
        from datetime import datetime, timezone

        self.inner.update(key, value, datetime(2100, 1, 1, tzinfo=timezone.utc), counter)

    def get(self, key: str) -> tuple[bytes, int]:
        return self._call("get", key)  # type: ignore[no-any-return]

    def add(self, key: str, value: bytes, expires_at: Any) -> None:
        self._call("add", key, value, expires_at)

    def update(self, key: str, value: bytes, expires_at: Any, counter: int) -> None:
        self._call("update", key, value, expires_at, counter)

    def delete(self, key: str) -> None:
        self._call("delete", key)


class FaultyUserStore(_Faulty):
    def fail(self, method: str, error: Exception | None = None, times: int = -1) -> None:
        def run(*_: Any) -> None:
            raise error or RuntimeError("user store is down")

        self._hook(method, lambda args: True, run, times)

    def create_user(self, *args: Any) -> Any:
        return self._call("create_user", *args)

    def get_user(self, *args: Any) -> Any:
        return self._call("get_user", *args)

    def get_user_by_email_address(self, *args: Any) -> Any:
        return self._call("get_user_by_email_address", *args)

    def update_user_email_address(self, *args: Any) -> Any:
        return self._call("update_user_email_address", *args)

    def update_user_password_hash(self, *args: Any) -> Any:
        return self._call("update_user_password_hash", *args)

    def increment_user_sessions_counter(self, *args: Any) -> Any:
        return self._call("increment_user_sessions_counter", *args)

    def delete_user(self, *args: Any) -> Any:
        return self._call("delete_user", *args)
