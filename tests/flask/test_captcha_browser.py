"""The captcha widget in a real browser (headless Chromium): ``python examples/app.py`` with
Turnstile settings whose script and ``siteverify`` are a fake on loopback. The page loads the
widget's script, the widget puts its token in the form, and the sign-up goes through only with it."""

from __future__ import annotations

from pathlib import Path

from .browser import Browser, chromium, require_chromium
from .conftest import FAST_HASHING
from .test_captcha import GOOD, SECRET_KEY, SITE_KEY, siteverify
from .test_example_e2e import run_example


def test_the_signup_page_sends_the_widgets_token(tmp_path: Path) -> None:
    require_chromium()
    with siteverify() as (server, verify_url):
        base = verify_url.removesuffix("/siteverify")
        settings = dict(
            FAROE_DATABASE_URL=f"sqlite:///{tmp_path / 'faroe.sqlite3'}",
            SECRET_KEY="captcha-browser-secret",
            FAROE_CAPTCHA_PROVIDER="turnstile",
            FAROE_CAPTCHA_SITE_KEY=SITE_KEY,
            FAROE_CAPTCHA_SECRET_KEY=SECRET_KEY,
            FAROE_CAPTCHA_VERIFY_URL=verify_url,
            **{key: str(value) for key, value in FAST_HASHING.items()},
        )
        with run_example(tmp_path, FAROE_CAPTCHA_SCRIPT_URL=f"{base}/api.js", **settings) as example, \
                chromium(tmp_path / "profile") as driver:
            browser = Browser(driver, example.url.removesuffix("/faroe"))
            browser.open("/account/signup")
            browser.wait_for_heading("Create an account")
            browser.fill("Email address", "widget.user@example.com")
            browser.press("Continue")
            browser.wait_for_heading("Check your email")
        assert server.calls == [{"secret": SECRET_KEY, "response": GOOD, "remoteip": "127.0.0.1"}]
        assert SECRET_KEY not in example.logs() + example.printed()

        # The same page whose widget never loads (its script is missing): the form goes without a
        # token, and the sign-up does not run.
        (tmp_path / "second").mkdir()
        with run_example(tmp_path / "second", FAROE_CAPTCHA_SCRIPT_URL=f"{base}/missing.js",
                         **{**settings, "FAROE_DATABASE_URL": f"sqlite:///{tmp_path / 'second.sqlite3'}"}) as example, \
                chromium(tmp_path / "profile2") as driver:
            browser = Browser(driver, example.url.removesuffix("/faroe"))
            browser.open("/account/signup")
            browser.fill("Email address", "no.widget@example.com")
            browser.press("Continue")
            browser.wait_for_heading("Please complete the check")
    assert len(server.calls) == 1
