"""Per-client limits: one client address may make only so many emails go out and so many
passwords be checked, whatever accounts it names.

The limits are the engine's own token buckets (``faroe_flask.core.ratelimit.BucketKind``) kept
in the configured storage, so every process that shares the storage shares them (SQL or Redis;
``MemoryStorage`` only within one process). A bucket holds ``N`` tokens and gets one back every
``period / N`` seconds: ``"10/minute"`` allows a burst of 10, then one every 6 s.

* ``email`` (``FAROE_CLIENT_EMAIL_LIMIT``, ``10/minute``): the actions that email a code or a
  temporary password (``EMAIL_ACTIONS``);
* ``password`` (``FAROE_CLIENT_PASSWORD_LIMIT``, ``30/minute``): the actions that check a password
  or a temporary password, or hash a new password (``PASSWORD_ACTIONS``).

Every other action (``get_session`` and the other reads among them) is never limited per client.
A token is taken before the action runs, whatever its answer, so a limit counts attempts. An
empty bucket raises ``ClientLimitExceeded`` (an HTTP 429 with ``Retry-After``). Where the
storage fails, the limit lets the request through (the action then meets the same storage and
answers ``internal_error``) and the failure is logged, summarised.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import logging
import math
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from werkzeug.exceptions import TooManyRequests

from ..core.interfaces import FaroeError
from ..core.ratelimit import BucketKind
from .config import ConfigError, _bool, _int

if TYPE_CHECKING:
    from ..core.server import Server
    from .rejections import RejectionLog

__all__ = [
    "ClientLimit",
    "ClientLimits",
    "ClientLimitExceeded",
    "EMAIL_ACTIONS",
    "PASSWORD_ACTIONS",
    "parse_rate",
    "client_key",
    "client_limits_from_config",
]

_logger = logging.getLogger("faroe_flask")

EMAIL_ACTIONS = frozenset({
    "create_signup",
    "send_signup_email_address_verification_code",
    "create_user_password_reset",
    "create_user_email_address_update",
    "send_user_email_address_update_email_address_verification_code",
})
PASSWORD_ACTIONS = frozenset({
    "verify_signin_user_password",
    "verify_user_password_reset_temporary_password",
    "verify_user_email_address_update_user_password",
    "verify_user_password_update_user_password",
    "verify_user_deletion_user_password",
    "set_signup_password",
    "set_user_password_update_new_password",
    "set_user_password_reset_new_password",
})

#: Storage keys: ``<FAROE_STORAGE_KEY_PREFIX>client.<limit>.<client>``.
KEY_PREFIX = "client."
#: A lost compare-and-swap means another request of the same client took a token meanwhile; the
#: request tries again (each loss is someone else's success, so this bounds nothing a real bucket
#: reaches) and is refused when it still has not decided.
MAX_ATTEMPTS = 32

_PERIODS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_RATE = re.compile(r"^\s*(\d+)\s*(?:/|per)\s*(\d+)?\s*(second|minute|hour|day)s?\s*$", re.IGNORECASE)
_OFF = ("", "off", "none", "0")
_IPV4 = re.compile(r"(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)")


class ClientLimitExceeded(TooManyRequests, FaroeError):
    """A client reached a per-client limit: HTTP 429 with ``Retry-After`` (whole seconds).

    Raised by ``current_faroe.invoke`` during a request (and answered by the endpoint and the
    pages themselves). It is a ``werkzeug.exceptions.TooManyRequests``, so a view that lets it
    escape answers 429 with ``Retry-After``; catch it (or register an error handler) to answer
    in your own way. ``limit`` names the limit (``email``, ``password``).
    """

    def __init__(self, limit: str, retry_after: int) -> None:
        super().__init__(
            description="Too many attempts from your address. Please wait and try again.",
            retry_after=retry_after,
        )
        self.limit = limit
        self.seconds = retry_after


@dataclasses.dataclass(frozen=True)
class ClientLimit:
    """One limit: its name, the actions it counts, and its bucket (capacity, seconds per token)."""

    name: str
    actions: frozenset[str]
    bucket: BucketKind

    @classmethod
    def of(cls, name: str, actions: Iterable[str], capacity: int, refill_seconds: int) -> ClientLimit:
        if not re.fullmatch(r"[a-z0-9_-]{1,40}", name):
            raise ValueError("a limit's name is 1-40 lowercase letters, digits, '-' or '_'")
        return cls(name, frozenset(actions), BucketKind(f"{KEY_PREFIX}{name}.", capacity, refill_seconds))


def parse_rate(value: Any, key: str) -> tuple[int, int] | None:
    """``(capacity, seconds per token)`` from ``"10/minute"``, ``"10 per minute"``,
    ``"60/5 minutes"`` or ``(capacity, seconds)``; ``None`` for no limit (``None``, ``"off"``, 0)."""
    if value is None or value is False or value == 0 or (isinstance(value, str) and value.strip().lower() in _OFF):
        return None
    if isinstance(value, (tuple, list)) and len(value) == 2:
        capacity, seconds = value
        if all(isinstance(part, int) and not isinstance(part, bool) and part >= 1 for part in value):
            return capacity, seconds
        raise ConfigError(f"{key}: (count, seconds per token) must be two whole numbers of at least 1")
    match = _RATE.match(value) if isinstance(value, str) else None
    if match is None:
        raise ConfigError(f'{key} must look like "10/minute" (second, minute, hour, day), or be None')
    count, multiple, unit = int(match.group(1)), int(match.group(2) or 1), match.group(3).lower()
    window = multiple * _PERIODS[unit]
    if count < 1 or window % count:
        raise ConfigError(
            f"{key}: the period divided by the count must be a whole number of seconds (one token "
            'comes back at a time), for example "10/minute", "30/minute", "100/hour"'
        )
    return count, window // count


def client_key(address: str | None, ipv6_prefix: int = 64) -> str:
    """How a client is named in its buckets: an IPv4 address as it is, an IPv6 address as its
    network of ``ipv6_prefix`` bits (one host usually has a whole /64), an IPv4-mapped IPv6
    address as the IPv4 address; anything else (a unix socket, no address) as ``unknown``."""
    if not address:
        return "unknown"
    if _IPV4.fullmatch(address):  # the common case, already in its one spelling
        return address
    try:
        parsed = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return "unknown"
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        network = ipaddress.IPv6Network((parsed, ipv6_prefix), strict=False)
        return str(network)
    return str(parsed)


class ClientLimits:
    """The per-client limits of one app, by action."""

    def __init__(self, limits: Iterable[ClientLimit], ipv6_prefix: int = 64) -> None:
        self.limits = tuple(limits)
        if not 1 <= ipv6_prefix <= 128:
            raise ValueError("ipv6_prefix must be between 1 and 128")
        self.ipv6_prefix = ipv6_prefix
        by_action: dict[str, tuple[ClientLimit, ...]] = {}
        for limit in self.limits:
            for action in limit.actions:
                by_action[action] = (*by_action.get(action, ()), limit)
        self.by_action: Mapping[str, tuple[ClientLimit, ...]] = by_action
        #: Every action some limit counts.
        self.actions = frozenset(by_action)

    def admit(self, server: Server, action: str, address: str | None, log: RejectionLog) -> None:
        """Take a token of each limit that counts ``action`` for the client at ``address``;
        raise ``ClientLimitExceeded`` (recorded in ``log``) when one is empty."""
        limits = self.by_action.get(action)
        if not limits:
            return
        client = client_key(address, self.ipv6_prefix)
        for limit in limits:
            wait = self._take(server, limit, client, log)
            if wait is not None:
                log.record(429, f"client_limit:{limit.name}", f"client limit {limit.name}")
                raise ClientLimitExceeded(limit.name, wait)

    @staticmethod
    def _take(server: Server, limit: ClientLimit, client: str, log: RejectionLog) -> int | None:
        """``None`` when a token was taken, else the whole seconds until the next one."""
        try:
            wait = limit.bucket.take_outside_actions(server, client, MAX_ATTEMPTS)
        except Exception as exc:  # noqa: BLE001 - the storage failed: let the action meet it
            log.note(f"per-client limit {limit.name} not applied: the storage failed ({type(exc).__name__})")
            return None
        return None if wait is None else max(1, math.ceil(wait))


@dataclasses.dataclass(frozen=True)
class ClientLimitSettings:
    limits: ClientLimits | None
    address_header: str | None


def client_limits_from_config(config: Mapping[str, Any]) -> ClientLimitSettings:
    """The ``FAROE_CLIENT_*`` keys; ``limits`` is ``None`` when they are off or all unset."""
    header = config.get("FAROE_CLIENT_ADDRESS_HEADER") or None
    if header is not None and (not isinstance(header, str) or not re.fullmatch(r"[A-Za-z0-9-]+", header)):
        raise ConfigError("FAROE_CLIENT_ADDRESS_HEADER must be a header name (letters, digits, '-')")
    on = config.get("FAROE_CLIENT_LIMITS")
    if not _bool(config, "FAROE_CLIENT_LIMITS") and on is not None:
        return ClientLimitSettings(None, header)
    prefix = _int(config, "FAROE_CLIENT_IPV6_PREFIX", minimum=1)
    if prefix > 128:
        raise ConfigError("FAROE_CLIENT_IPV6_PREFIX must be between 1 and 128")
    limits = []
    for name, key, actions in (
        ("email", "FAROE_CLIENT_EMAIL_LIMIT", EMAIL_ACTIONS),
        ("password", "FAROE_CLIENT_PASSWORD_LIMIT", PASSWORD_ACTIONS),
    ):
        rate = parse_rate(config.get(key), key)
        if rate is not None:
            limits.append(ClientLimit.of(name, actions, *rate))
    return ClientLimitSettings(ClientLimits(limits, prefix) if limits else None, header)
