"""HTTP load: one request body POSTed again and again for a fixed time, answers checked.

``wrk`` (``apt-get install -y wrk``) when it is on the PATH, with a Lua script that POSTs the body
and counts the answers that are not ``200`` with ``"ok":true``. Without wrk, a Python load
generator: ``threads`` processes of ``connections / threads`` keep-alive connections each (slower
than wrk, so its ratios are less telling; the output says which one ran).
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import re
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from .servers import Connection

OK_MARK = b'"ok":true'

_LUA = """\
wrk.method = "%(method)s"
%(body)s
%(headers)s
local marks = {%(marks)s}
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) good = 0; bad = 0 end
function response(status, headers, body)
  local ok = status == 200
  for _, mark in ipairs(marks) do
    if ok and not string.find(body, mark, 1, true) then ok = false end
  end
  if ok then good = good + 1 else bad = bad + 1 end
end
function done(summary, latency, requests)
  local g, b = 0, 0
  for _, t in ipairs(threads) do g = g + t:get("good"); b = b + t:get("bad") end
  io.write(string.format("FAROE_BENCH good=%%d bad=%%d duration_us=%%d errors=%%d\\n", g, b,
    summary.duration, summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout))
end
"""


@dataclasses.dataclass(frozen=True)
class Probe:
    """One request, sent again and again: an answer counts as good when it is a 200 whose body
    holds every one of ``marks`` (for example the signed-in user's address)."""

    method: str = "POST"
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = (("Content-Type", "application/json"),)
    marks: tuple[str, ...] = (OK_MARK.decode(),)

    def lua(self) -> str:
        def quoted(text: str) -> str:
            assert "]==]" not in text
            return f"[==[{text}]==]"

        return _LUA % {
            "method": self.method,
            "body": f"wrk.body = {quoted(self.body.decode())}" if self.body else "",
            "headers": "\n".join(f"wrk.headers[ {quoted(k)} ] = {quoted(v)}" for k, v in self.headers),
            "marks": ", ".join(quoted(mark) for mark in self.marks),
        }


_WRK_LINE = re.compile(r"FAROE_BENCH good=(\d+) bad=(\d+) duration_us=(\d+) errors=(\d+)")


@dataclasses.dataclass(frozen=True)
class LoadResult:
    good: int  # 200 answers with "ok":true
    bad: int  # anything else, socket errors included
    seconds: float

    @property
    def per_second(self) -> float:
        return self.good / self.seconds if self.seconds > 0 else 0.0


def interleaved_load(
    target_url: str, reference_url: str, body: bytes, seconds: float, *, generator: str,
    slices: int, reverse: bool = False,
) -> tuple[LoadResult, LoadResult]:
    """Load on the target and on the reference, ``seconds`` each, in ``slices`` alternating
    slices (ABBA order, so that a slow drift of the machine's load hits both alike)."""
    slices = max(1, slices)
    piece = seconds / slices
    totals = {target_url: [0, 0, 0.0], reference_url: [0, 0, 0.0]}
    for number in range(slices):
        pair = [target_url, reference_url]
        if (number % 2 == 1) != reverse:
            pair.reverse()
        for url in pair:
            result = run_load(url, body, piece, generator=generator)
            total = totals[url]
            total[0], total[1], total[2] = total[0] + result.good, total[1] + result.bad, total[2] + result.seconds
    got, ceiling = (totals[url] for url in (target_url, reference_url))
    return (
        LoadResult(good=int(got[0]), bad=int(got[1]), seconds=got[2]),
        LoadResult(good=int(ceiling[0]), bad=int(ceiling[1]), seconds=ceiling[2]),
    )


def run_probe(
    url: str, probe: Probe, seconds: float, *, threads: int = 2, connections: int = 16
) -> LoadResult:
    """``probe`` sent to ``url`` by wrk for ``seconds``."""
    assert url.startswith("http://127.0.0.1:"), "loopback only"
    return _wrk(url, probe, seconds, threads, connections)


def interleaved_rounds(
    targets: list[tuple[str, Probe]], seconds: float, *, slices: int, offset: int = 0
) -> list[LoadResult]:
    """wrk on each target for ``seconds`` in all, in ``slices`` rounds: every round gives each
    target one slice, in an order that turns by one each round (starting at ``offset``), so that
    a drift of the machine's load hits every target alike."""
    slices = max(1, slices)
    piece = seconds / slices
    totals = [[0, 0, 0.0] for _ in targets]
    for number in range(slices):
        turn = (number + offset) % len(targets)
        for index in [*range(turn, len(targets)), *range(turn)]:
            url, probe = targets[index]
            result = run_probe(url, probe, piece)
            total = totals[index]
            total[0], total[1], total[2] = total[0] + result.good, total[1] + result.bad, total[2] + result.seconds
    return [LoadResult(good=int(g), bad=int(b), seconds=t) for g, b, t in totals]


def generator_name(prefer_python: bool) -> str:
    return "python" if prefer_python or shutil.which("wrk") is None else "wrk"


def run_load(
    url: str, body: bytes, seconds: float, *, threads: int = 2, connections: int = 16,
    generator: str = "wrk",
) -> LoadResult:
    assert url.startswith("http://127.0.0.1:"), "loopback only"
    if generator == "wrk":
        return _wrk(url, Probe(body=body), seconds, threads, connections)
    return _python(url, body, seconds, threads, connections)


def _wrk(url: str, probe: Probe, seconds: float, threads: int, connections: int) -> LoadResult:
    with tempfile.TemporaryDirectory(prefix="faroe-bench-wrk-") as directory:
        script = Path(directory) / "probe.lua"
        script.write_text(probe.lua())
        command = [
            "wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s",
            "--timeout", "10s", "-s", str(script), url,
        ]
        completed = subprocess.run(
            command, capture_output=True, text=True, timeout=seconds + 60, check=False
        )
    match = _WRK_LINE.search(completed.stdout)
    if completed.returncode != 0 or match is None:
        raise RuntimeError(f"wrk failed ({completed.returncode}): {completed.stdout}{completed.stderr}")
    good, bad, duration_us, errors = (int(group) for group in match.groups())
    return LoadResult(good=good, bad=bad + errors, seconds=duration_us / 1e6)


def _python(url: str, body: bytes, seconds: float, threads: int, connections: int) -> LoadResult:
    # fork: a spawned child would import the whole benchmark again, seconds under load.
    methods = multiprocessing.get_all_start_methods()
    context: Any = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    ready, results = context.Queue(), context.Queue()
    go, start_at = context.Event(), context.Value("d", 0.0)
    per_process = max(1, connections // threads)
    processes = [
        context.Process(
            target=_python_worker,
            args=(url, body, seconds, per_process, ready, go, start_at, results),
            daemon=True,
        )
        for _ in range(threads)
    ]
    for process in processes:
        process.start()
    try:
        for _ in processes:  # every connection is open before the clock starts
            ready.get(timeout=120)
        start_at.value = time.time() + 0.1
        go.set()
        counts = [results.get(timeout=seconds + 60) for _ in processes]
    finally:
        for process in processes:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
    return LoadResult(
        good=sum(good for good, _ in counts), bad=sum(bad for _, bad in counts), seconds=seconds
    )


def _python_worker(
    url: str, body: bytes, seconds: float, connections: int, ready: Any, go: Any, start_at: Any,
    results: Any,
) -> None:
    pool = [Connection(url, timeout=10) for _ in range(connections)]
    ready.put(True)
    go.wait(timeout=120)
    start, deadline = start_at.value, start_at.value + seconds
    counts = [[0, 0] for _ in pool]

    def loop(connection: Connection, count: list[int]) -> None:
        time.sleep(max(0.0, start - time.time()))
        while time.time() < deadline:
            try:
                status, answer = connection.post(body)
            except OSError:
                count[1] += 1
                connection.close()
                connection = Connection(url, timeout=10)
                continue
            if status != 200 or OK_MARK not in answer:
                count[1] += 1
            elif time.time() <= deadline:
                count[0] += 1
        connection.close()

    workers = [threading.Thread(target=loop, args=pair) for pair in zip(pool, counts)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=seconds + 30)
    results.put((sum(c[0] for c in counts), sum(c[1] for c in counts)))
