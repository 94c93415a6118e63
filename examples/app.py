"""A minimal Flask app serving the Faroe endpoint with waitress.

    pip install -e . && python examples/app.py

Configured only by environment variables:

    HOST (127.0.0.1), PORT (8080; 0 picks a free port)
    FAROE_DATABASE_URL (a SQLite file in the instance folder)
    MAIL_SERVER, MAIL_PORT, MAIL_USE_TLS, MAIL_USE_SSL, MAIL_USERNAME, MAIL_PASSWORD,
    MAIL_DEFAULT_SENDER (emails are printed to stdout when MAIL_SERVER is unset)
    FAROE_ENDPOINT_SECRET (unset: the endpoint is open)
    FAROE_PASSWORD_STRENGTH_CHECK (offline here; use "pwned" in production)

It applies the database migrations at start-up, prints the endpoint URL and serves
``POST http://HOST:PORT/faroe`` with ``faroe_flask.flask.serving.serve`` (waitress with safe
settings).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from faroe_flask import Faroe
from faroe_flask.sql import upgrade_database

_TRUE = ("1", "true", "yes", "on")


def config_from_environment(environ: Mapping[str, str], instance_path: str) -> dict[str, Any]:
    database_url = environ.get("FAROE_DATABASE_URL")
    if not database_url:
        Path(instance_path).mkdir(parents=True, exist_ok=True)
        database_url = f"sqlite:///{Path(instance_path) / 'faroe.sqlite3'}"
    config: dict[str, Any] = {
        "FAROE_DATABASE_URL": database_url,
        "FAROE_ENDPOINT_SECRET": environ.get("FAROE_ENDPOINT_SECRET") or None,
        "FAROE_PASSWORD_STRENGTH_CHECK": environ.get("FAROE_PASSWORD_STRENGTH_CHECK") or "offline",
    }
    if environ.get("MAIL_SERVER"):
        config.update(
            FAROE_EMAIL_SENDER="flask-mail",
            MAIL_SERVER=environ["MAIL_SERVER"],
            MAIL_PORT=int(environ.get("MAIL_PORT") or 25),
            MAIL_USE_TLS=environ.get("MAIL_USE_TLS", "").lower() in _TRUE,
            MAIL_USE_SSL=environ.get("MAIL_USE_SSL", "").lower() in _TRUE,
            MAIL_USERNAME=environ.get("MAIL_USERNAME") or None,
            MAIL_PASSWORD=environ.get("MAIL_PASSWORD") or None,
            MAIL_DEFAULT_SENDER=environ.get("MAIL_DEFAULT_SENDER") or "faroe@localhost",
        )
    else:
        config["FAROE_EMAIL_SENDER"] = "console"
    return config


def create_app(environ: Mapping[str, str] | None = None) -> Flask:
    # An explicit instance folder (examples/instance): run as a script, Flask would derive it
    # from the working directory.
    here = Path(__file__).resolve().parent
    app = Flask(__name__, root_path=str(here), instance_path=str(here / "instance"))
    app.config.update(config_from_environment(os.environ if environ is None else environ, app.instance_path))
    Faroe(app)
    return app


def main() -> None:
    import logging

    from faroe_flask.flask.serving import serve

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app()
    upgrade_database(app.config["FAROE_DATABASE_URL"])
    host = os.environ.get("HOST") or "127.0.0.1"
    port = int(os.environ.get("PORT") or 8080)
    # waitress with the settings of "Serving in production" (README); prints the endpoint URL.
    serve(app, host=host, port=port)


if __name__ == "__main__":
    main()
