"""Instructions per request under ``valgrind --tool=callgrind``, counted only around the requests.

    python benchmarks/benchlib/callgrind.py KIND DATABASE_URL REQUESTS    (run under valgrind)

The child builds the peer app (``peer_apps.create``), signs in with Flask's test client, warms up,
then switches callgrind's instrumentation on for ``REQUESTS`` requests to ``GET /me`` (each
answer checked) and dumps the counts. Python cannot issue valgrind's client requests itself, so a
tiny C library made with the system's C compiler and ``valgrind/callgrind.h`` does it through
ctypes. ``instructions_per_request`` runs the child and reads the dump; it answers ``None`` with a
reason when valgrind, a C compiler or the header is missing.
"""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

_C_SOURCE = """\
#include <valgrind/callgrind.h>
void bench_start(void) { CALLGRIND_ZERO_STATS; CALLGRIND_START_INSTRUMENTATION; }
void bench_stop(void) { CALLGRIND_STOP_INSTRUMENTATION; CALLGRIND_DUMP_STATS_AT("measured"); }
"""
_HEADER = Path("/usr/include/valgrind/callgrind.h")
_WARM_UP = 30
_TOTALS = re.compile(r"^totals:\s+(\d+)", re.MULTILINE)


def unavailable() -> str | None:
    """Why instructions cannot be counted here, or ``None``."""
    if shutil.which("valgrind") is None:
        return "valgrind is not installed (apt-get install -y valgrind)"
    if shutil.which("cc") is None:
        return "no C compiler (cc) to build the callgrind client-request helper"
    if not _HEADER.exists():
        return f"{_HEADER} is missing (valgrind's development header)"
    return None


def _build_helper(directory: Path) -> Path:
    source, library = directory / "bench_callgrind.c", directory / "bench_callgrind.so"
    source.write_text(_C_SOURCE)
    subprocess.run(["cc", "-shared", "-fPIC", "-O1", "-o", str(library), str(source)], check=True)
    return library


def instructions_per_request(kind: str, database_url: str, requests: int) -> float | str:
    """Instructions one request to ``kind``'s ``GET /me`` costs (the test client included), or
    the reason it could not be measured."""
    reason = unavailable()
    if reason:
        return reason
    with tempfile.TemporaryDirectory(prefix="faroe-bench-callgrind-") as name:
        directory = Path(name)
        library = _build_helper(directory)
        out = directory / "callgrind.out"
        command = [
            "valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}",
            sys.executable, __file__, kind, database_url, str(requests),
        ]
        environment = {**os.environ, "FAROE_BENCH_CALLGRIND_HELPER": str(library)}
        completed = subprocess.run(
            command, capture_output=True, text=True, timeout=1800, env=environment, check=False
        )
        if completed.returncode != 0:
            return f"the callgrind run failed ({completed.returncode}): {completed.stderr[-2000:]}"
        for dump in sorted(directory.glob("callgrind.out*")):
            text = dump.read_text(errors="replace")
            if "Trigger: Client Request: measured" in text:
                match = _TOTALS.search(text)
                if match:
                    return int(match.group(1)) / requests
        return "callgrind wrote no dump of the measured requests"


def _child(kind: str, database_url: str, requests: int) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from benchlib import peer_apps

    helper = ctypes.CDLL(os.environ["FAROE_BENCH_CALLGRIND_HELPER"])
    app = peer_apps.create(kind, database_url)
    client = app.test_client()
    email = client.get("/bench-signin").get_data(as_text=True).split()[0]
    expected = email.encode()
    for _ in range(_WARM_UP):
        client.get("/me")
    helper.bench_start()
    bad = 0
    for _ in range(requests):
        response = client.get("/me")
        bad += response.status_code != 200 or response.data != expected
    helper.bench_stop()
    if bad:
        raise SystemExit(f"{bad} of {requests} answers were wrong")


if __name__ == "__main__":
    _child(sys.argv[1], sys.argv[2], int(sys.argv[3]))
