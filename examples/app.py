"""A small Flask site on the Faroe extension, served with waitress: the account pages at
``/account/``, a home page at ``/``, a protected page at ``/private`` and the JSON endpoint at
``POST /faroe``.

    pip install -e ".[pages]" && python examples/app.py        # then open http://127.0.0.1:8080/

Configured only by environment variables:

    HOST (127.0.0.1), PORT (8080; 0 picks a free port)
    FAROE_DATABASE_URL (a SQLite file in the instance folder)
    FAROE_STORAGE_URL (unset: storage beside the users; redis://, rediss:// or unix://: Redis,
    needs the redis extra), FAROE_STORAGE_KEY_PREFIX (unset: none; set one on a shared Redis)
    MAIL_SERVER, MAIL_PORT, MAIL_USE_TLS, MAIL_USE_SSL, MAIL_USERNAME, MAIL_PASSWORD,
    MAIL_DEFAULT_SENDER (emails are printed to stdout when MAIL_SERVER is unset)
    FAROE_ENDPOINT_SECRET (unset: the endpoint is open)
    FAROE_PASSWORD_STRENGTH_CHECK (offline here; use "pwned" in production)
    SECRET_KEY (unset: a random key kept in the instance folder)
    any other FAROE_* configuration key (for example FAROE_SESSION_COOKIE_SECURE, false here
    because the example serves plain HTTP: the faroe_session cookie and the pages' Flask session
    cookie both follow it; set it to true behind HTTPS)

It applies the database migrations (the users' tables) at start-up, prints the site's and the
endpoint's URLs and serves them with ``faroe_flask.flask.serving`` (waitress with safe settings).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, render_template

from faroe_flask import Faroe, create_pages_blueprint, current_user, login_required
from faroe_flask.sql import upgrade_database

_TRUE = ("1", "true", "yes", "on")


def config_from_environment(environ: Mapping[str, str], instance_path: str) -> dict[str, Any]:
    database_url = environ.get("FAROE_DATABASE_URL")
    if not database_url:
        Path(instance_path).mkdir(parents=True, exist_ok=True)
        database_url = f"sqlite:///{Path(instance_path) / 'faroe.sqlite3'}"
    config: dict[str, Any] = {key: value for key, value in environ.items() if key.startswith("FAROE_")}
    # Plain HTTP on 127.0.0.1: neither cookie may be Secure (the pages' Flask session follows this).
    config.setdefault("FAROE_SESSION_COOKIE_SECURE", "false")
    config.update({
        "FAROE_DATABASE_URL": database_url,
        "FAROE_STORAGE_URL": environ.get("FAROE_STORAGE_URL") or None,
        "FAROE_STORAGE_KEY_PREFIX": environ.get("FAROE_STORAGE_KEY_PREFIX") or "",
        "FAROE_ENDPOINT_SECRET": environ.get("FAROE_ENDPOINT_SECRET") or None,
        "FAROE_PASSWORD_STRENGTH_CHECK": environ.get("FAROE_PASSWORD_STRENGTH_CHECK") or "offline",
        "FAROE_PAGES_SITE_NAME": "Faroe example",
        "SESSION_COOKIE_SAMESITE": "Lax",
    })
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
    environ = os.environ if environ is None else environ
    app.config.update(config_from_environment(environ, app.instance_path))
    app.config["SECRET_KEY"] = environ.get("SECRET_KEY") or _instance_secret_key(app.instance_path)
    Faroe(app)
    app.register_blueprint(create_pages_blueprint(url_prefix="/account"))

    @app.get("/")
    def index() -> str:
        return render_template("index.html")

    @app.get("/private")
    @login_required
    def private() -> str:
        return render_template("private.html", user=current_user)

    return app


def _instance_secret_key(instance_path: str) -> str:
    """A random key made once and kept (mode 0600) in the instance folder, so that a restart
    keeps people's forms and flows; set SECRET_KEY in production."""
    path = Path(instance_path) / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as file:
            file.write(secrets.token_hex(32))
    except FileExistsError:
        pass
    return path.read_text().strip()


def main() -> None:
    import logging

    from faroe_flask.flask.serving import create_server

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app()
    upgrade_database(app.config["FAROE_DATABASE_URL"])
    host = os.environ.get("HOST") or "127.0.0.1"
    port = int(os.environ.get("PORT") or 8080)
    # waitress with the settings of "Serving in production" (README).
    server = create_server(app, host=host, port=port)
    effective_port = getattr(server, "effective_port", port)
    shown_host = f"[{host}]" if ":" in host else host
    print(f"Site: http://{shown_host}:{effective_port}/", flush=True)
    print(f"Faroe endpoint: POST http://{shown_host}:{effective_port}/faroe", flush=True)
    server.run()


if __name__ == "__main__":
    main()
