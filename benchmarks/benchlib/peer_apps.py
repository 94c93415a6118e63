"""The apps ``benchmarks/peers.py`` compares: one protected view each, as its peers write it.

    python benchmarks/benchlib/peer_apps.py KIND DATABASE_URL     serve KIND with waitress

Every app answers ``GET /me`` with the signed-in user's email address (the bare view: a fixed
address, no authentication), and ``GET /bench-signin`` with a new user signed in (the cookies are
in the response; the body is ``<email address> <id>``). The Faroe app also serves its endpoint at
``POST /faroe``. Kinds (``KINDS``):

* ``bare``: a Flask view that returns a string; the ceiling of any Flask view on waitress.
* ``flask_login``: Flask-Login with a ``user_loader`` reading a Flask-SQLAlchemy model; the user id
  lives in Flask's signed session cookie (what most Flask apps do).
* ``flask_login_table``: Flask-Login with a ``request_loader`` reading a server-side session table
  (the cookie holds ``<id>.<secret>``, the secret's SHA-256 is compared in constant time, an
  inactivity timeout refreshed once a minute) and then the user: the guarantee Faroe gives
  (sessions that can be revoked on the server).
* ``flask_security``: Flask-Security-Too with its SQLAlchemy models (``fsqla_v3``) and
  ``@auth_required()``.
* ``faroe``: faroe-flask's ``login_required`` + ``current_user`` on the same database, and its
  endpoint (``POST /faroe`` ``get_session``).

Each listens on HOST (127.0.0.1) and PORT (0: a free port) with ``threads`` waitress threads
(THREADS, default 4: waitress' default) and prints ``Serving on <url>`` once ready.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import sys
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, request

KINDS = ("bare", "flask_login", "flask_login_table", "flask_security", "faroe")
BARE_EMAIL = "bench-bare@example.com"
_ACTIVITY_CHECK_SECONDS = 60.0
_INACTIVITY_SECONDS = 30 * 24 * 3600.0


def _new_email(kind: str) -> str:
    return f"bench-{kind.replace('_', '-')}-{secrets.token_hex(6)}@example.com"


def bare_app() -> Flask:
    app = Flask("peer_bare")

    @app.get("/me")
    def me() -> str:
        return BARE_EMAIL

    @app.get("/bench-signin")
    def signin() -> str:
        return f"{BARE_EMAIL} bare"

    return app


def _sqlalchemy(app: Flask, database_url: str) -> Any:
    from flask_sqlalchemy import SQLAlchemy

    app.config.update(SQLALCHEMY_DATABASE_URI=database_url, SECRET_KEY=secrets.token_hex(16))
    return SQLAlchemy(app)


def _user_model(db: Any, table: str) -> Any:
    """The user model both Flask-Login apps declare: a string id, an address, an active flag."""
    from flask_login import UserMixin
    from sqlalchemy import Boolean, String

    class User(db.Model, UserMixin):  # type: ignore[name-defined,misc]
        __tablename__ = table
        id = db.Column(String(32), primary_key=True)
        email = db.Column(String(255), unique=True)
        active = db.Column(Boolean, default=True)

    return User


def flask_login_app(database_url: str) -> Flask:
    """Flask-Login + Flask-SQLAlchemy: the user id in Flask's signed cookie, ``user_loader``."""
    from flask_login import LoginManager, login_required, login_user
    from flask_login import current_user as login_current_user

    app = Flask("peer_flask_login")
    db = _sqlalchemy(app, database_url)
    User = _user_model(db, "fl_user")

    manager = LoginManager(app)

    @manager.user_loader
    def load_user(user_id: str) -> Any:
        return db.session.get(User, user_id)

    @app.get("/me")
    @login_required
    def me() -> str:
        return str(login_current_user.email)

    @app.get("/bench-signin")
    def signin() -> str:
        user = User(id=secrets.token_hex(12), email=_new_email("flask_login"))
        db.session.add(user)
        db.session.commit()
        login_user(user)
        return f"{user.email} {user.id}"

    with app.app_context():
        db.create_all()
    return app


def flask_login_table_app(database_url: str) -> Flask:
    """Flask-Login with a ``request_loader`` on a server-side session table, then the user."""
    from flask_login import LoginManager, login_required
    from flask_login import current_user as login_current_user
    from sqlalchemy import Float, ForeignKey, LargeBinary, String

    app = Flask("peer_flask_login_table")
    db = _sqlalchemy(app, database_url)
    User = _user_model(db, "flt_user")

    class UserSession(db.Model):  # type: ignore[name-defined,misc]
        __tablename__ = "flt_session"
        id = db.Column(String(32), primary_key=True)
        secret_hash = db.Column(LargeBinary(32))
        user_id = db.Column(String(32), ForeignKey("flt_user.id"), index=True)
        last_seen = db.Column(Float)

    manager = LoginManager(app)

    @manager.request_loader
    def load_from_cookie(request_: Any) -> Any:
        token = request_.cookies.get("sid")
        if not token:
            return None
        session_id, _, secret = token.partition(".")
        row = db.session.get(UserSession, session_id)
        if row is None or not hmac.compare_digest(
            row.secret_hash, hashlib.sha256(secret.encode()).digest()
        ):
            return None
        now = time.time()
        if now - row.last_seen >= _INACTIVITY_SECONDS:
            db.session.delete(row)
            db.session.commit()
            return None
        user = db.session.get(User, row.user_id)
        if user is None or not user.active:
            return None
        if now - row.last_seen >= _ACTIVITY_CHECK_SECONDS:
            row.last_seen = now
            db.session.commit()
        return user

    @app.get("/me")
    @login_required
    def me() -> str:
        return str(login_current_user.email)

    @app.get("/bench-signin")
    def signin() -> Response:
        user = User(id=secrets.token_hex(12), email=_new_email("flask_login_table"))
        session_id, secret = secrets.token_hex(12), secrets.token_hex(12)
        db.session.add(user)
        db.session.add(
            UserSession(
                id=session_id,
                secret_hash=hashlib.sha256(secret.encode()).digest(),
                user_id=user.id,
                last_seen=time.time(),
            )
        )
        db.session.commit()
        response = Response(f"{user.email} {user.id}")
        response.set_cookie("sid", f"{session_id}.{secret}", httponly=True, samesite="Lax")
        return response

    with app.app_context():
        db.create_all()
    return app


def flask_security_app(database_url: str) -> Flask:
    """Flask-Security-Too (its ``fsqla_v3`` models) with ``@auth_required()``."""
    from flask_security import Security, SQLAlchemyUserDatastore, auth_required, login_user
    from flask_security import current_user as security_current_user
    from flask_security.models import fsqla_v3 as fsqla

    app = Flask("peer_flask_security")
    app.config.update(SECURITY_PASSWORD_SALT=secrets.token_hex(8))
    db = _sqlalchemy(app, database_url)
    fsqla.FsModels.set_db_info(db, user_table_name="fs_user", role_table_name="fs_role")

    class Role(db.Model, fsqla.FsRoleMixin):  # type: ignore[name-defined,misc]
        __tablename__ = "fs_role"

    class User(db.Model, fsqla.FsUserMixin):  # type: ignore[name-defined,misc]
        __tablename__ = "fs_user"

    datastore = SQLAlchemyUserDatastore(db, User, Role)
    Security(app, datastore)

    @app.get("/me")
    @auth_required()
    def me() -> str:
        return str(security_current_user.email)

    @app.get("/bench-signin")
    def signin() -> str:
        user = datastore.create_user(email=_new_email("flask_security"), active=True)
        db.session.commit()
        login_user(user)
        db.session.commit()
        return f"{user.email} {user.id}"

    with app.app_context():
        db.create_all()
    return app


def faroe_app(database_url: str) -> Flask:
    """faroe-flask: ``login_required`` + ``current_user``, and the endpoint, on SQL parts."""
    from faroe_flask import Faroe, current_user, login_required, set_session_cookie
    from faroe_flask.sql import upgrade_database
    from faroe_flask.testing import Outbox, sign_up

    upgrade_database(database_url)
    app = Flask("peer_faroe")
    app.config.update(
        FAROE_DATABASE_URL=database_url,
        FAROE_PASSWORD_STRENGTH_CHECK="offline",
        FAROE_SESSION_COOKIE_SECURE=False,
    )
    Faroe(app, email_sender=Outbox())

    @app.get("/me")
    @login_required
    def me() -> str:
        return str(current_user.email_address)

    @app.get("/bench-signin")
    def signin() -> Response:
        email = _new_email("faroe")
        signed = sign_up(email, "bench-" + secrets.token_hex(10), app=app)
        response = Response(f"{email} {signed.user_id}")
        set_session_cookie(response, signed.session_token)
        return response

    return app


FACTORIES: dict[str, Callable[[str], Flask]] = {
    "flask_login": flask_login_app,
    "flask_login_table": flask_login_table_app,
    "flask_security": flask_security_app,
    "faroe": faroe_app,
}


def create(kind: str, database_url: str) -> Flask:
    if kind == "bare":
        return bare_app()
    return FACTORIES[kind](database_url)


def main(argv: list[str]) -> None:
    from waitress import create_server

    if len(argv) != 2 or argv[0] not in KINDS:
        raise SystemExit(f"usage: peer_apps.py {{{','.join(KINDS)}}} DATABASE_URL")
    app = create(argv[0], argv[1])
    host = os.environ.get("HOST") or "127.0.0.1"
    threads = int(os.environ.get("THREADS") or 4)
    server: Any = create_server(app, host=host, port=int(os.environ.get("PORT") or 0), threads=threads)
    print(f"Serving on http://{host}:{server.effective_port}", flush=True)
    server.run()


if __name__ == "__main__":
    main(sys.argv[1:])
