"""Rejected requests, counted and summarised so that a flood of them cannot flood the logs.

Every door (the endpoint, the pages, in-process calls during a request, and the connection cap
of ``serve``) reports each rejection here with its HTTP status, a short fixed *kind* (the
metrics label: ``bad_request``, ``unauthorized``, ``too_large``, ``client_limit:email``,
``captcha_invalid``, ...) and a *reason* for the log (never a value from the request).

Within one interval (``FAROE_REJECTION_LOG_INTERVAL``, 60 s) the first rejection of each reason
is logged at once, as ``faroe request rejected with <status>: <reason>``, at most
``MAX_REASONS_LOGGED`` reasons; the others are only counted, and when the interval ends one line
sums them up (at the level of the worst of them)::

    faroe held back 5593 repeated log lines in the last 60 s: 400 unknown action x5000; 429 client limit email x593

Other problems that can repeat with every request (a storage the per-client limits cannot reach)
are logged the same way with ``note``.

So a flood costs at most ``MAX_REASONS_LOGGED + 1`` lines an interval, whatever it sends. With
metrics on, ``faroe_rejected_requests_total{status, kind}`` counts every one of them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

__all__ = ["RejectionLog", "MAX_REASONS_LOGGED", "MAX_REASONS_COUNTED"]

_logger = logging.getLogger("faroe_flask")

#: Distinct reasons logged at once in one interval (the rest are counted).
MAX_REASONS_LOGGED = 10
#: Distinct reasons the summary names; the others are summed up as "other reasons".
MAX_REASONS_COUNTED = 50

#: ``counter(status, kind)``: called for every rejection (the metrics hook).
RejectionCounter = Callable[[int, str], None]


class RejectionLog:
    """Thread-safe. ``record`` never raises and never blocks on anything but a short lock; the
    summary is written by a timer thread at the end of an interval in which something was held
    back (at most one timer at a time)."""

    def __init__(
        self,
        interval: float = 60.0,
        logger: logging.Logger | None = None,
        clock: Callable[[], float] = time.monotonic,
        subject: str = "faroe",
    ) -> None:
        if not interval > 0:
            raise ValueError("interval must be positive")
        self.interval = interval
        self.logger = logger or _logger
        #: What the lines say was rejected: ``"<subject> request rejected with ..."``.
        self.subject = subject
        self.counter: RejectionCounter | None = None
        self._clock = clock
        self._lock = threading.Lock()
        self._started = 0.0
        self._logged: set[tuple[int, str]] = set()
        self._held: dict[tuple[int, str], int] = {}
        self._held_level = logging.INFO
        self._timer: threading.Timer | None = None
        #: Every rejection recorded since start, by (status, kind); for tests and checks.
        self.totals: dict[tuple[int, str], int] = {}

    def record(self, status: int, kind: str, reason: str) -> None:
        """One rejection: counted always, logged when it is the first of its reason this interval."""
        counter = self.counter
        if counter is not None:
            try:
                counter(status, kind)
            except Exception:  # noqa: BLE001 - counting must not change the answer
                self.logger.exception("the faroe rejection counter raised")
        with self._lock:
            self.totals[(status, kind)] = self.totals.get((status, kind), 0) + 1
        self._event(status, reason, logging.INFO)

    def note(self, message: str, level: int = logging.WARNING) -> None:
        """A problem that may repeat with every request (a failing storage, say): logged and
        summarised like the rejections, but not counted as one."""
        self._event(0, message, level)

    def _event(self, status: int, reason: str, level: int) -> None:
        now = self._clock()
        with self._lock:
            if now - self._started >= self.interval and self._timer is None:
                self._started, self._logged = now, set()
            key = (status, reason)
            log_now = key not in self._logged and len(self._logged) < MAX_REASONS_LOGGED
            if log_now:
                self._logged.add(key)
            else:
                if key not in self._held and len(self._held) >= MAX_REASONS_COUNTED:
                    key = (status, "other reasons")
                self._held[key] = self._held.get(key, 0) + 1
                self._held_level = max(self._held_level, level)
                if self._timer is None:
                    delay = max(0.0, self._started + self.interval - now)
                    self._timer = threading.Timer(delay, self.flush)
                    self._timer.daemon = True
                    self._timer.name = "faroe-rejection-log"
                    self._timer.start()
        if log_now and status:
            self.logger.log(level, "%s request rejected with %d: %s", self.subject, status, reason)
        elif log_now:
            self.logger.log(level, "%s: %s", self.subject, reason)

    def flush(self) -> None:
        """Write the summary of what was held back (if anything) and start a new interval."""
        with self._lock:
            held, self._held = self._held, {}
            level, self._held_level = self._held_level, logging.INFO
            timer, self._timer = self._timer, None
            self._started, self._logged = self._clock(), set()
        if timer is not None and timer is not threading.current_thread():
            timer.cancel()
        if not held:
            return
        parts = sorted(held.items(), key=lambda item: (-item[1], item[0]))
        self.logger.log(
            level,
            "%s held back %d repeated log lines in the last %g s: %s",
            self.subject,
            sum(held.values()),
            self.interval,
            "; ".join(f"{status or ''} {reason} x{count}".lstrip() for (status, reason), count in parts),
        )

    def close(self) -> None:
        """Flush now (for shutdown and tests)."""
        self.flush()
