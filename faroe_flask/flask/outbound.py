"""Blocking network calls with a deadline on the whole call (the SMTP sender, the captcha check).

A socket timeout bounds each read, not a server that answers one byte at a time. So the call runs
on a helper thread; the caller waits at most the deadline, then shuts the call's socket down,
which makes the helper's blocked read or write return at once and the helper end. At most as
many helpers as the ``pending`` semaphore has slots exist at once (those given up on included,
until they end); beyond that a call fails at once.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

__all__ = ["Attempt", "BoundedCalls", "TooManyPendingCalls"]

T = TypeVar("T")


class TooManyPendingCalls(RuntimeError):
    """Every helper slot is taken by a running call: the call was not started."""


class Attempt(Generic[T]):
    """One call on its helper thread: its outcome, and a way to cut its connection."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.result: T | None = None
        self.error: BaseException | None = None
        self._lock = threading.Lock()
        self._aborted = False
        self._host: Any = None
        self._socket: socket.socket | None = None

    def attach(self, host: Any = None, sock: socket.socket | None = None) -> None:
        """Remember the connection (an object whose ``sock`` is its current socket, and the
        socket itself as soon as it is connected); shut it down at once when the deadline has
        already passed."""
        with self._lock:
            self._host = host or self._host
            self._socket = sock or self._socket
            aborted = self._aborted
        if aborted:
            self._shut_down()

    @property
    def aborted(self) -> bool:
        with self._lock:
            return self._aborted

    def abort(self) -> None:
        with self._lock:
            self._aborted = True
        self._shut_down()

    def _shut_down(self) -> None:
        """Make the helper's blocked read or write return at once; it then closes the connection.
        ``host.sock`` is the current socket (STARTTLS replaces it); the first one covers the
        moments before ``host.sock`` is set."""
        with self._lock:
            sockets = [getattr(self._host, "sock", None), self._socket]
        for sock in sockets:
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


class BoundedCalls:
    """Runs calls on helper threads named ``thread_name``, each within its deadline."""

    def __init__(self, pending: threading.BoundedSemaphore, thread_name: str, busy_message: str) -> None:
        #: One slot per helper thread that may exist at once (the owner may wait on it too).
        self._pending = pending
        self.thread_name = thread_name
        self.busy_message = busy_message

    def run(self, call: Callable[[Attempt[T]], T], deadline: float, what: str) -> T:
        """``call(attempt)`` on a helper thread; its result, or its exception re-raised.

        Raises ``TooManyPendingCalls`` when no helper may start, and ``TimeoutError`` (after
        aborting the attempt) when the call takes longer than ``deadline`` seconds.
        """
        if not self._pending.acquire(blocking=False):
            raise TooManyPendingCalls(self.busy_message)
        attempt: Attempt[T] = Attempt()

        def target() -> None:
            try:
                attempt.result = call(attempt)
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
                attempt.error = exc
            finally:
                self._pending.release()
                attempt.done.set()

        threading.Thread(target=target, name=self.thread_name, daemon=True).start()
        if not attempt.done.wait(max(0.0, deadline)):
            attempt.abort()
            raise TimeoutError(f"{what} took longer than {deadline:g} s")
        if attempt.error is not None:
            raise attempt.error
        return attempt.result  # type: ignore[return-value]
