"""The WSGI apps the benchmark serves besides the example, each run as its own process.

    python benchmarks/benchlib/apps.py bare ANSWER_FILE     the reference: a bare Flask view
    python benchmarks/benchlib/apps.py memory               the extension on memory parts

Both listen on HOST (127.0.0.1) and PORT (0: a free port) with waitress' default thread count,
as ``examples/app.py`` does, and print the same ``Faroe endpoint: POST <url>`` line once ready.

The bare view is the ceiling of a Flask endpoint on waitress: it reads the body, parses it with
``json.loads`` and answers a JSON document of the same size as a real ``get_session`` answer (the
one in ANSWER_FILE, serialised again on every request). It does nothing Faroe does.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from flask import Flask, Response, request
from waitress import create_server


def bare_app(answer: Any) -> Flask:
    app = Flask("faroe_bench_bare")

    @app.post("/faroe")
    def invoke() -> Response:
        payload = json.loads(request.get_data())
        if not isinstance(payload, dict) or "action" not in payload:
            return Response(b"", status=400)
        body = json.dumps(answer, ensure_ascii=False, separators=(",", ":"))
        return Response(body, status=200, mimetype="application/json")

    return app


def memory_app() -> Flask:
    from faroe_flask import Faroe, MemoryStorage, MemoryUserStore

    app = Flask("faroe_bench_memory")
    app.config.update(FAROE_EMAIL_SENDER="console", FAROE_PASSWORD_STRENGTH_CHECK="offline")
    Faroe(app, storage=MemoryStorage(), user_store=MemoryUserStore())
    return app


def main(argv: list[str]) -> None:
    if argv[:1] == ["bare"] and len(argv) == 2:
        with open(argv[1], encoding="utf-8") as file:
            app = bare_app(json.load(file))
    elif argv == ["memory"]:
        app = memory_app()
    else:
        raise SystemExit("usage: apps.py bare ANSWER_FILE | apps.py memory")
    host = os.environ.get("HOST") or "127.0.0.1"
    server: Any = create_server(app, host=host, port=int(os.environ.get("PORT") or 0))
    print(f"Faroe endpoint: POST http://{host}:{server.effective_port}/faroe", flush=True)
    server.run()


if __name__ == "__main__":
    main(sys.argv[1:])
