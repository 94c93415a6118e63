"""Storage and user-store wrappers that interfere on a chosen call, and shared assertions.

Races and storage failures are produced deterministically: a wrapper delegates every call to the
real fixture storage / user store, and a hook registered with ``on(...)`` runs just before the
chosen call is delegated. A hook may raise (a failing store), or act on the inner store first (a
competing request), which makes the engine's own compare-and-swap lose. The wrappers only use the
``Storage`` / ``UserStore`` interface methods, so they work on every backend.

    storage = InterferingStorage(real_storage)
    storage.on("update", "aaak.", storage.competing_update)   # the next CAS on an update loses
    storage.on("get", "aaak.", storage.vanish, skip=1)        # the re-read finds nothing
    storage.fail("add", "aaap.")                              # add raises StorageDown
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from typing import Any

from faroe_flask import StorageEntryNotFoundError, User, UserNotFoundError

from ..conftest import CapturingErrorLogger


# Storage key prefixes (foundations.md F7.3).
SESSION = "aaah."
EMAIL_UPDATE = "aaak."
PASSWORD_UPDATE = "aaam."
PASSWORD_RESET = "aaan."
DELETION = "aaap."
VERIFY_USER_PASSWORD_BUCKET = "aaaq."
SEND_EMAIL_BUCKET = "aaar."
VERIFY_EMAIL_CODE_BUCKET = "aaas."


class StorageDown(RuntimeError):
    """What a failing store raises: a generic error (F7.2), whose text holds no secret."""

    def __init__(self, what: str = "the store is unavailable") -> None:
        super().__init__(what)


@dataclasses.dataclass
class _Hook:
    operation: str
    match: Callable[[str], bool]
    effect: Callable[..., Any]
    skip: int
    times: int | None
    replace: bool


class _Hooks:
    def __init__(self) -> None:
        self._hooks: list[_Hook] = []
        self.calls: list[tuple[str, str]] = []

    def register(
        self,
        operation: str,
        match: Callable[[str], bool],
        effect: Callable[..., Any],
        *,
        skip: int = 0,
        times: int | None = 1,
        replace: bool = False,
    ) -> None:
        self._hooks.append(_Hook(operation, match, effect, skip, times, replace))

    def clear(self) -> None:
        self._hooks.clear()

    def pending(self) -> int:
        return len(self._hooks)

    def run(self, operation: str, subject: str, *args: Any) -> tuple[bool, Any]:
        """Run the first matching hook; returns ``(replaced, result)``."""
        self.calls.append((operation, subject))
        for hook in list(self._hooks):
            if hook.operation != operation or not hook.match(subject):
                continue
            if hook.skip > 0:
                hook.skip -= 1
                continue
            if hook.times is not None:
                hook.times -= 1
                if hook.times <= 0:
                    self._hooks.remove(hook)  # removed first, so the effect may re-enter
            result = hook.effect(subject, *args)
            return hook.replace, result
        return False, None


def _raiser(exc: BaseException | None) -> Callable[..., Any]:
    def effect(*_: Any) -> Any:
        raise exc if exc is not None else StorageDown()

    return effect


class InterferingStorage:
    """A ``Storage`` that delegates to ``inner`` and runs hooks before chosen calls."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.hooks = _Hooks()

    # Hook registration ------------------------------------------------------------------------

    def on(
        self,
        operation: str,
        prefix: str,
        effect: Callable[..., Any],
        *,
        skip: int = 0,
        times: int | None = 1,
    ) -> None:
        """Before the ``skip+1``-th ``operation`` on a key starting with ``prefix``, run
        ``effect(key, *call_arguments)`` (then delegate as usual)."""
        self.hooks.register(operation, lambda key: key.startswith(prefix), effect, skip=skip, times=times)

    def fail(
        self,
        operation: str,
        prefix: str,
        exc: BaseException | None = None,
        *,
        skip: int = 0,
        times: int | None = 1,
    ) -> None:
        """Make the chosen call raise ``exc`` (``StorageDown`` by default) instead of running."""
        self.on(operation, prefix, _raiser(exc), skip=skip, times=times)

    def answer(
        self, operation: str, prefix: str, result: Callable[..., Any], *, skip: int = 0, times: int | None = 1
    ) -> None:
        """Replace the chosen call: it returns ``result(key, *arguments)`` without delegating."""
        self.hooks.register(
            operation, lambda key: key.startswith(prefix), result, skip=skip, times=times, replace=True
        )

    # Ready-made effects -----------------------------------------------------------------------

    def competing_update(self, key: str, *args: Any) -> None:
        """Another request rewrites the entry first, so a CAS with the old counter loses."""
        value, counter = self.inner.get(key)
        expires_at = args[1] if len(args) >= 2 and isinstance(args[1], datetime) else _FAR_FUTURE
        self.inner.update(key, value, expires_at, counter)

    def competing_add(self, key: str, value: bytes, expires_at: datetime) -> None:
        """Another request adds the same key first, so this add finds it already there."""
        self.inner.add(key, value, expires_at)

    def vanish(self, key: str, *_: Any) -> None:
        """Another request deletes the entry first."""
        try:
            self.inner.delete(key)
        except StorageEntryNotFoundError:
            pass

    # Queries ----------------------------------------------------------------------------------

    @property
    def calls(self) -> list[tuple[str, str]]:
        return self.hooks.calls

    def keys_touched(self, operation: str, prefix: str) -> list[str]:
        return [key for op, key in self.calls if op == operation and key.startswith(prefix)]

    def exists(self, key: str) -> bool:
        try:
            self.inner.get(key)
        except StorageEntryNotFoundError:
            return False
        return True

    # Storage ----------------------------------------------------------------------------------

    def get(self, key: str) -> tuple[bytes, int]:
        replaced, result = self.hooks.run("get", key)
        if replaced:
            return result  # type: ignore[no-any-return]
        return self.inner.get(key)  # type: ignore[no-any-return]

    def add(self, key: str, value: bytes, expires_at: datetime) -> None:
        replaced, _ = self.hooks.run("add", key, value, expires_at)
        if not replaced:
            self.inner.add(key, value, expires_at)

    def update(self, key: str, value: bytes, expires_at: datetime, counter: int) -> None:
        replaced, _ = self.hooks.run("update", key, value, expires_at, counter)
        if not replaced:
            self.inner.update(key, value, expires_at, counter)

    def delete(self, key: str) -> None:
        replaced, _ = self.hooks.run("delete", key)
        if not replaced:
            self.inner.delete(key)


_FAR_FUTURE = datetime(2100, 1, 1, tzinfo=timezone.utc)


class InterferingUserStore:
    """A ``UserStore`` that delegates to ``inner``; hooks run before chosen methods.

    Hooks match on the method name; their effect gets the method's arguments. ``transform``
    rewrites every user returned by ``get_user`` / ``get_user_by_email_address`` (for states a
    real store cannot reach cheaply, such as a counter at its limit).
    """

    METHODS = (
        "create_user",
        "get_user",
        "get_user_by_email_address",
        "update_user_email_address",
        "update_user_password_hash",
        "increment_user_sessions_counter",
        "delete_user",
    )

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.hooks = _Hooks()
        self.transform: Callable[[User], User] | None = None

    def on(self, method: str, effect: Callable[..., Any], *, skip: int = 0, times: int | None = 1) -> None:
        assert method in self.METHODS, method
        self.hooks.register(
            method, lambda name: name == method, _drop_subject(effect), skip=skip, times=times
        )

    def fail(
        self, method: str, exc: BaseException | None = None, *, skip: int = 0, times: int | None = 1
    ) -> None:
        self.on(method, _raiser(exc), skip=skip, times=times)

    @property
    def calls(self) -> list[str]:
        return [name for name, _ in self.hooks.calls]

    def _call(self, method: str, *args: Any) -> Any:
        # The hook's subject is the method name, so ``on`` matches every call of that method.
        self.hooks.run(method, method, *args)
        result = getattr(self.inner, method)(*args)
        if isinstance(result, User) and self.transform is not None:
            result = self.transform(result)
        return result

    def create_user(self, *args: Any) -> User:
        return self._call("create_user", *args)  # type: ignore[no-any-return]

    def get_user(self, user_id: str) -> User:
        return self._call("get_user", user_id)  # type: ignore[no-any-return]

    def get_user_by_email_address(self, email_address: str) -> User:
        return self._call("get_user_by_email_address", email_address)  # type: ignore[no-any-return]

    def update_user_email_address(self, *args: Any) -> None:
        self._call("update_user_email_address", *args)

    def update_user_password_hash(self, *args: Any) -> None:
        self._call("update_user_password_hash", *args)

    def increment_user_sessions_counter(self, *args: Any) -> None:
        self._call("increment_user_sessions_counter", *args)

    def delete_user(self, user_id: str) -> None:
        self._call("delete_user", user_id)

    # Administration, passed through.
    def set_user_disabled(self, user_id: str, disabled: bool) -> None:
        self.inner.set_user_disabled(user_id, disabled)

    def set_user_display_name(self, user_id: str, display_name: str) -> None:
        self.inner.set_user_display_name(user_id, display_name)


def _drop_subject(effect: Callable[..., Any]) -> Callable[..., Any]:
    def run(_subject: str, *args: Any) -> Any:
        return effect(*args)

    return run


def user_not_found(*_: Any) -> None:
    """A user-store effect: answer "not found" (a lost counter race, F10.3 rule 1)."""
    raise UserNotFoundError("gone")


# Shared assertions ------------------------------------------------------------------------------


def secret_part(token: str) -> str:
    return token.split(".", 1)[1]


def assert_logged_once(logger: CapturingErrorLogger, action: str, *secrets: str) -> None:
    """Exactly one error-log entry, for ``action``, whose message holds none of ``secrets``."""
    assert logger.actions == [action], logger.entries
    message = logger.entries[0][1]
    assert isinstance(message, str) and message
    for secret in _expand(secrets):
        assert secret not in message, f"the log message leaks {secret!r}: {message!r}"


def assert_nothing_logged(logger: CapturingErrorLogger) -> None:
    assert logger.entries == [], logger.entries


def assert_no_secrets(values: Any, *secrets: str) -> None:
    """No secret, code, hash or salt in a result's values: no such field, and none of ``secrets``
    (tokens count with their secret half) anywhere outside the ``*_token`` members."""
    keys = _all_keys(values)
    for key in keys:
        assert not any(word in key for word in ("secret", "hash", "salt", "code")), key
        assert key not in ("password", "temporary_password"), key
    outside_tokens = {k: v for k, v in values.items() if not k.endswith("_token")}
    text = json.dumps(outside_tokens)
    for secret in _expand(secrets):
        assert secret not in text, f"the values leak {secret!r}"


def _all_keys(value: Any) -> list[str]:
    keys: list[str] = []

    def walk(item: Any) -> None:
        if isinstance(item, dict):
            for key, inner in item.items():
                keys.append(key)
                walk(inner)
        elif isinstance(item, list):
            for inner in item:
                walk(inner)

    walk(value)
    return keys


def _expand(secrets: Iterable[str]) -> list[str]:
    """Tokens count with their secret half too."""
    out: list[str] = []
    for secret in secrets:
        if not secret:
            continue
        out.append(secret)
        if "." in secret and len(secret) == 49:
            out.append(secret_part(secret))
    return out


# Servers built on the wrappers ------------------------------------------------------------------


class Checker:
    """An email address checker tests can steer: ``denied`` addresses are not allowed, and
    ``error`` (when set) is raised."""

    def __init__(self) -> None:
        self.denied: set[str] = set()
        self.error: Exception | None = None

    def is_allowed(self, email_address: str) -> bool:
        if self.error is not None:
            raise self.error
        return email_address not in self.denied


@dataclasses.dataclass
class Rig:
    """A server on interfering wrappers around the fixture's storage and user store."""

    server: Any
    storage: InterferingStorage
    users: InterferingUserStore
    checker: Checker


def build_rig(make_server: Callable[..., Any], storage: Any, user_store: Any, **overrides: Any) -> Rig:
    wrapped_storage = InterferingStorage(storage)
    wrapped_users = InterferingUserStore(user_store)
    checker = overrides.pop("email_address_checker", None) or Checker()
    server = make_server(
        storage=wrapped_storage, user_store=wrapped_users, email_address_checker=checker, **overrides
    )
    return Rig(server, wrapped_storage, wrapped_users, checker)


def token_id(token: str) -> str:
    return token.split(".", 1)[0]


def with_wrong_secret(token: str) -> str:
    wrong = "a" * 24 if secret_part(token) != "a" * 24 else "b" * 24
    return f"{token_id(token)}.{wrong}"


UNKNOWN_TOKEN = "a" * 24 + "." + "b" * 24
