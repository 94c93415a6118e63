"""Sessions in your own views: sign-up, sign-in, a protected page and sign-out.

The README's "Protecting your views" example, complete. ``create_app(config, **faroe_kwargs)``
takes extra configuration and ``Faroe`` parts (the tests pass memory parts); run it with

    FAROE_DATABASE_URL=sqlite:////tmp/views.sqlite3 flask --app examples/views_app.py faroe db upgrade
    FAROE_DATABASE_URL=sqlite:////tmp/views.sqlite3 flask --app examples/views_app.py run

Plain HTTP on localhost needs ``FAROE_SESSION_COOKIE_SECURE=False`` (set below for debug runs).
The forms carry no CSRF token to stay short: add Flask-WTF's ``CSRFProtect(app)`` in a real app.
"""

from __future__ import annotations

import os
from typing import Any

from flask import Flask, redirect, render_template_string, request, session, url_for
from flask.typing import ResponseReturnValue

from faroe_flask import (
    Faroe,
    current_faroe,
    current_user,
    end_session,
    login_required,
    next_url,
    start_session,
)

PAGE = """<!doctype html><title>{{ title }}</title><h1>{{ title }}</h1>
{% if error %}<p role="alert">{{ error }}</p>{% endif %}{{ body | safe }}"""

LOGIN_FORM = """<form method="post">
<input name="email" type="email" autocomplete="username" required>
<input name="password" type="password" autocomplete="current-password" required>
<input name="next" type="hidden" value="{{ request.args.get('next', '') }}">
<button>Sign in</button></form>"""


def page(title: str, body: str = "", error: str | None = None, status: int = 200) -> ResponseReturnValue:
    return render_template_string(PAGE, title=title, body=render_template_string(body), error=error), status


def create_app(config: dict[str, Any] | None = None, **faroe_kwargs: Any) -> Flask:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=os.environ.get("SECRET_KEY", "dev only: set SECRET_KEY"),
        FAROE_DATABASE_URL=os.environ.get("FAROE_DATABASE_URL"),
        FAROE_EMAIL_SENDER="console",
        FAROE_PASSWORD_STRENGTH_CHECK="offline",
        FAROE_LOGIN_VIEW="login",                      # where login_required sends browsers
        FAROE_SESSION_COOKIE_SECURE=not app.debug,      # Secure everywhere but local debug runs
    )
    app.config.update(config or {})
    Faroe(app, **faroe_kwargs)

    @app.get("/")
    def index() -> ResponseReturnValue:
        if current_user.is_authenticated:
            return page("Home", f"Signed in as {current_user.email_address}")
        return page("Home", "Not signed in")

    @app.get("/profile")
    @login_required
    def profile() -> ResponseReturnValue:
        return page("Profile", f"Signed in as {current_user.email_address}")

    @app.route("/login", methods=["GET", "POST"])
    def login() -> ResponseReturnValue:
        if request.method == "GET":
            return page("Sign in", LOGIN_FORM)
        email, password = request.form.get("email", ""), request.form.get("password", "")
        signin = current_faroe.invoke("create_signin", {"user_email_address": email})
        if signin.ok:
            token = signin.values["signin_token"]  # type: ignore[index]
            checked = current_faroe.invoke(
                "verify_signin_user_password", {"signin_token": token, "password": password}
            )
            if checked.ok:
                result = current_faroe.invoke("complete_signin", {"signin_token": token})
                if result.ok:
                    start_session(result)              # sets the session cookie
                    return redirect(next_url(url_for("profile")))
        # One message for every failure: it must not tell which email addresses have accounts.
        return page("Sign in", LOGIN_FORM, "Wrong email address or password, or too many tries.", 400)

    @app.post("/logout")
    def logout() -> ResponseReturnValue:
        end_session()                                  # delete_session, then the cookie is cleared
        return redirect(url_for("index"))

    @app.route("/signup", methods=["GET", "POST"])
    def signup() -> ResponseReturnValue:
        form = '<form method="post"><input name="email" type="email"><button>Sign up</button></form>'
        if request.method == "GET":
            return page("Sign up", form)
        result = current_faroe.invoke("create_signup", {"email_address": request.form.get("email", "")})
        if not result.ok:
            return page("Sign up", form, "That email address cannot be used.", 400)
        session["signup_token"] = result.values["signup_token"]  # type: ignore[index]
        return redirect(url_for("signup_verify"))

    @app.route("/signup/verify", methods=["GET", "POST"])
    def signup_verify() -> ResponseReturnValue:
        form = """<form method="post"><input name="code" autocomplete="one-time-code">
        <input name="password" type="password" autocomplete="new-password"><button>Create account</button></form>"""
        token = session.get("signup_token")
        if not isinstance(token, str):
            return redirect(url_for("signup"))
        if request.method == "GET":
            return page("Check your email", form)
        steps = [
            ("verify_signup_email_address_verification_code",
             {"signup_token": token, "email_address_verification_code": request.form.get("code", "")}),
            ("set_signup_password", {"signup_token": token, "password": request.form.get("password", "")}),
        ]
        for action, arguments in steps:
            outcome = current_faroe.invoke(action, arguments)
            if not outcome.ok and outcome.error_code not in ("email_address_already_verified", "password_already_set"):
                return page("Check your email", form, f"Not accepted ({outcome.error_code}).", 400)
        result = current_faroe.invoke("complete_signup", {"signup_token": token})
        if not result.ok:
            return page("Check your email", form, f"Not accepted ({result.error_code}).", 400)
        session.pop("signup_token")
        start_session(result)
        return redirect(url_for("profile"))

    return app


if __name__ == "__main__":
    create_app().run(debug=True)
