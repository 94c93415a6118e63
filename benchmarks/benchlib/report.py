"""Result tables: one row per figure, every run, the median, the target and pass/fail."""

from __future__ import annotations

import dataclasses
import os
import statistics
from collections.abc import Callable


@dataclasses.dataclass(frozen=True)
class Run:
    value: float  # the figure (a ratio, or microseconds when there is no reference)
    detail: str = ""  # what it was computed from, e.g. "3120/5030 req/s"


@dataclasses.dataclass(frozen=True)
class Target:
    text: str  # ">= 0.85"
    check: Callable[[float], bool]


def at_least(bound: float) -> Target:
    return Target(f">= {bound:g}", lambda value: value >= bound)


def at_most(bound: float) -> Target:
    return Target(f"<= {bound:g}x", lambda value: value <= bound)


class Table:
    """Prints its rows as they are measured, one line each."""

    def __init__(self, title: str, value_format: str = "{:.2f}", cell_width: int = 24) -> None:
        self.value_format = value_format
        self.cell_width = cell_width
        self.failures = 0
        self._header_for: int | None = None
        print(f"\n== {title} ==\n{load_average()}", flush=True)

    def _header(self, runs: int) -> None:
        if self._header_for == runs:
            return
        self._header_for = runs
        cells = "".join(f"{f'run {n}':<{self.cell_width}}" for n in range(1, runs + 1))
        print(f"{'figure':<{_FIGURE}}{cells}{'median':<10}{'target':<10}result", flush=True)

    def row(self, figure: str, runs: list[Run], target: Target | None) -> None:
        self._header(len(runs))
        median = statistics.median(run.value for run in runs)
        fmt = self.value_format.format
        cells = "".join(
            f"{fmt(run.value) + (f' ({run.detail})' if run.detail else ''):<{self.cell_width}}"
            for run in runs
        )
        verdict = "-"
        if target is not None:
            verdict = "PASS" if target.check(median) else "FAIL"
            self.failures += verdict == "FAIL"
        target_text = target.text if target else "-"
        print(f"{figure:<{_FIGURE}}{cells}{fmt(median):<10}{target_text:<10}{verdict}", flush=True)

    def note(self, text: str) -> None:
        print(f"  {text}", flush=True)

    def skip(self, figure: str, reason: str) -> None:
        print(f"{figure:<{_FIGURE}}skipped: {reason}", flush=True)


_FIGURE = 38


def load_average() -> str:
    """The machine's load now: the figures are only as good as the machine is quiet."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f} on {os.cpu_count()} CPUs"


def warn(text: str) -> None:
    print(f"  WARNING: {text}", flush=True)
