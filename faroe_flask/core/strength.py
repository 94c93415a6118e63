"""Password strength checkers (foundations.md F5.2).

A checker is any object with ``is_strong(password: str) -> bool`` that raises on failure
(``faroe_flask.core.interfaces.PasswordStrengthChecker``). This module provides:

* ``PwnedPasswordsChecker``: the default, online breached-password check against the Pwned
  Passwords range API (k-anonymity: only the first five hex characters of the SHA-1 leave the
  process), with a timeout, a closed response and robust parsing.
* ``StaticPasswordList``: an offline checker that rejects the passwords of a fixed list.
* ``common_passwords_checker()``: a ``StaticPasswordList`` of the common-password list bundled
  with the package (``faroe_flask/data/common-passwords.txt``), loaded once and cached.

Standard library only: no Flask, no SQLAlchemy. Nothing here ever puts a password, its hash or
a hash prefix into an exception message or a log record.
"""

from __future__ import annotations

import hashlib
import http.client
import threading
import urllib.error
import urllib.request
from collections.abc import Iterable
from importlib import resources
from os import PathLike

from .interfaces import FaroeError

__all__ = [
    "PasswordStrengthCheckError",
    "PwnedPasswordsChecker",
    "StaticPasswordList",
    "common_passwords_checker",
    "COMMON_PASSWORDS_RESOURCE",
]

# Package-relative location of the bundled list (see scripts/build_common_passwords.py).
COMMON_PASSWORDS_RESOURCE = "data/common-passwords.txt"

_PREFIX_LEN = 5
_SUFFIX_LEN = 35  # 40 hex characters of SHA-1 minus the 5-character prefix


class PasswordStrengthCheckError(FaroeError):
    """The strength check could not reach a verdict (transport error, non-200, timeout, ...).

    The action answers ``internal_error`` and logs it (F5.2). The message never contains the
    password, its hash or the hash prefix.
    """


class PwnedPasswordsChecker:
    """Breached-password check against a Pwned Passwords compatible range API (F5.2 steps 1-5).

    ``GET <base_url>/range/<first 5 hex chars of SHA-1>``; the password is weak when a line of
    the answer holds the remaining 35 hex characters (case-insensitive) with a count other than
    0 (``Add-Padding`` lines carry count 0 and are not breaches). Lines shorter than 35
    characters, blank lines and garbage are skipped. A transport error, a timeout, a status
    other than 200, a read error or an oversized body raises ``PasswordStrengthCheckError``.

    Thread-safe: an instance holds only immutable configuration and every call opens and closes
    its own connection.
    """

    def __init__(
        self,
        base_url: str = "https://api.pwnedpasswords.com",
        timeout: float = 10.0,
        user_agent: str = "faroe-flask",
        *,
        add_padding: bool = True,
        max_response_bytes: int = 4 * 1024 * 1024,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError("base_url must be an http:// or https:// URL")
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        if max_response_bytes < 1:
            raise ValueError("max_response_bytes must be positive")
        self._base_url = base_url.rstrip("/")
        self._timeout = float(timeout)
        self._user_agent = user_agent
        self._add_padding = add_padding
        self._max_response_bytes = max_response_bytes

    @property
    def base_url(self) -> str:
        return self._base_url

    @property
    def timeout(self) -> float:
        return self._timeout

    def __repr__(self) -> str:
        return f"PwnedPasswordsChecker(base_url={self._base_url!r}, timeout={self._timeout!r})"

    def is_strong(self, password: str) -> bool:
        digest = hashlib.sha1(password.encode("utf-8")).hexdigest()  # lowercase hex
        prefix, suffix = digest[:_PREFIX_LEN], digest[_PREFIX_LEN:]
        body = self._fetch_range(prefix)
        return not _range_body_contains(body, suffix)

    def _fetch_range(self, prefix: str) -> bytes:
        headers = {"User-Agent": self._user_agent, "Accept": "text/plain"}
        if self._add_padding:
            headers["Add-Padding"] = "true"
        request = urllib.request.Request(
            f"{self._base_url}/range/{prefix}", headers=headers, method="GET"
        )
        # A fresh opener per call: no state is shared between threads.
        opener = urllib.request.build_opener()
        try:
            response = opener.open(request, timeout=self._timeout)
        except urllib.error.HTTPError as exc:
            status = exc.code
            exc.close()
            raise PasswordStrengthCheckError(
                f"Pwned Passwords range request failed: HTTP status {status}"
            ) from None
        except urllib.error.URLError as exc:
            reason = type(exc.reason).__name__ if isinstance(exc.reason, BaseException) else "URLError"
            raise PasswordStrengthCheckError(
                f"Pwned Passwords range request failed: transport error ({reason})"
            ) from None
        except (OSError, http.client.HTTPException, ValueError) as exc:
            # socket timeouts (TimeoutError), resets, malformed responses, ...
            raise PasswordStrengthCheckError(
                f"Pwned Passwords range request failed: transport error ({type(exc).__name__})"
            ) from None
        try:
            with response:
                status = response.status
                if status != 200:
                    raise PasswordStrengthCheckError(
                        f"Pwned Passwords range request failed: HTTP status {status}"
                    )
                body = self._read_body(response)
        except PasswordStrengthCheckError:
            raise
        except (OSError, http.client.HTTPException) as exc:  # raised while closing
            raise PasswordStrengthCheckError(
                f"Pwned Passwords range request failed: transport error ({type(exc).__name__})"
            ) from None
        return body

    def _read_body(self, response: http.client.HTTPResponse) -> bytes:
        """The whole body, or ``PasswordStrengthCheckError`` on a read error, a body cut short
        of its ``Content-Length`` or a body larger than ``max_response_bytes``."""
        limit = self._max_response_bytes
        declared_header = response.getheader("Content-Length")
        declared: int | None = None
        if declared_header is not None and declared_header.strip().isdigit():
            declared = int(declared_header.strip())
            if declared > limit:
                raise PasswordStrengthCheckError(
                    "Pwned Passwords range response exceeds the size limit"
                )
        chunks: list[bytes] = []
        size = 0
        try:
            while True:
                # read(amt) does not raise on a short body, so the length is checked below.
                chunk = response.read(min(65536, limit + 1 - size))
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
                if size > limit:
                    raise PasswordStrengthCheckError(
                        "Pwned Passwords range response exceeds the size limit"
                    )
        except (OSError, http.client.HTTPException, ValueError) as exc:
            raise PasswordStrengthCheckError(
                f"Pwned Passwords range response could not be read ({type(exc).__name__})"
            ) from None
        if declared is not None and size != declared:
            raise PasswordStrengthCheckError(
                "Pwned Passwords range response was cut short (IncompleteRead)"
            )
        return b"".join(chunks)


def _range_body_contains(body: bytes, suffix: str) -> bool:
    """Whether a range answer lists ``suffix`` (35 lowercase hex chars) with a count other than 0.

    Lines are ``<35 hex>:<count>``, separated by LF or CRLF. Blank lines, lines shorter than 35
    characters and lines whose hash part is not exactly 35 characters are skipped. The count is
    otherwise ignored, except that an explicit count of 0 (a padding line) is not a breach.
    """
    text = body.decode("ascii", errors="replace")
    for raw_line in text.split("\n"):
        line = raw_line.strip()
        if len(line) < _SUFFIX_LEN:
            continue
        hash_part, _, count_part = line.partition(":")
        hash_part = hash_part.strip().lower()
        if len(hash_part) != _SUFFIX_LEN or hash_part != suffix:
            continue
        count = count_part.strip()
        if count.isascii() and count.isdigit() and int(count) == 0:
            continue  # padding
        return True
    return False


class StaticPasswordList:
    """Offline checker: a password is weak when it is in a fixed list.

    Comparison is case-insensitive by default (``str.casefold`` on both sides), since common
    password lists hold lower-case entries. The password is compared as given (no trimming);
    list entries are taken as given too (``from_file`` strips surrounding whitespace).
    Immutable, hence thread-safe.
    """

    def __init__(self, passwords: Iterable[str], *, case_sensitive: bool = False) -> None:
        self._case_sensitive = case_sensitive
        self._passwords: frozenset[str] = frozenset(self._normalise(p) for p in passwords)

    @classmethod
    def from_file(
        cls,
        path: str | PathLike[str],
        *,
        case_sensitive: bool = False,
        encoding: str = "utf-8",
    ) -> StaticPasswordList:
        """Load a text file: one password per line; blank lines and lines starting with ``#``
        are ignored; surrounding whitespace is stripped."""
        with open(path, encoding=encoding) as file:
            return cls(_parse_password_lines(file), case_sensitive=case_sensitive)

    @classmethod
    def from_text(cls, text: str, *, case_sensitive: bool = False) -> StaticPasswordList:
        """Same format as ``from_file``, from a string."""
        return cls(_parse_password_lines(text.splitlines()), case_sensitive=case_sensitive)

    def _normalise(self, password: str) -> str:
        return password if self._case_sensitive else password.casefold()

    @property
    def case_sensitive(self) -> bool:
        return self._case_sensitive

    def __len__(self) -> int:
        return len(self._passwords)

    def __contains__(self, password: object) -> bool:
        return isinstance(password, str) and self._normalise(password) in self._passwords

    def is_strong(self, password: str) -> bool:
        return self._normalise(password) not in self._passwords

    def __repr__(self) -> str:
        return f"StaticPasswordList({len(self._passwords)} entries, case_sensitive={self._case_sensitive})"


def _parse_password_lines(lines: Iterable[str]) -> Iterable[str]:
    for raw_line in lines:
        line = raw_line.strip()
        if line and not line.startswith("#"):
            yield line


_common_lock = threading.Lock()
_common_checker: StaticPasswordList | None = None


def common_passwords_checker() -> StaticPasswordList:
    """The bundled common-password list as a case-insensitive ``StaticPasswordList``.

    Read from package data on first use and cached (thread-safe); later calls return the same
    object.
    """
    global _common_checker
    checker = _common_checker
    if checker is not None:
        return checker
    with _common_lock:
        if _common_checker is None:
            resource = resources.files("faroe_flask").joinpath(COMMON_PASSWORDS_RESOURCE)
            text = resource.read_text(encoding="utf-8")
            _common_checker = StaticPasswordList.from_text(text)
        return _common_checker
