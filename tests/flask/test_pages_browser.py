"""The account pages in a real browser: Debian's headless Chromium (Selenium) against
``python examples/app.py`` on waitress, with mail received by a real SMTP server (aiosmtpd).

``FAROE_SCREENSHOT_DIR=docs/screenshots pytest tests/flask/test_pages_browser.py -k journey``
also saves the screenshots shown in the README.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from .browser import TOKEN_PATTERN, Browser, chromium, require_chromium
from .conftest import FAST_HASHING, NEW_PASSWORD, PASSWORD
from .smtp import SMTPSink, secret_from
from .test_example_e2e import Example, run_example

EMAIL = "browser.user@example.com"
NEW_EMAIL = "browser.renamed@example.com"
THIRD_PASSWORD = "ochre Kettle 19 harbour"
SECRET = "browser-endpoint-secret"


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[Browser, SMTPSink, Example]]:
    require_chromium()
    screenshots = os.environ.get("FAROE_SCREENSHOT_DIR")
    with contextlib.ExitStack() as stack:
        sink = stack.enter_context(SMTPSink())
        example = stack.enter_context(
            run_example(
                tmp_path,
                FAROE_DATABASE_URL=f"sqlite:///{tmp_path / 'faroe.sqlite3'}",
                FAROE_ENDPOINT_SECRET=SECRET,
                SECRET_KEY="browser-test-secret-key",
                MAIL_SERVER="127.0.0.1",
                MAIL_PORT=str(sink.port),
                MAIL_DEFAULT_SENDER="Faroe <faroe@example.org>",
                **{key: str(value) for key, value in FAST_HASHING.items()},
            )
        )
        driver = stack.enter_context(chromium(tmp_path / "profile"))
        base_url = example.url.removesuffix("/faroe")
        yield Browser(driver, base_url, Path(screenshots) if screenshots else None), sink, example


def test_whole_journey_in_the_browser(site: tuple[Browser, SMTPSink, Example]) -> None:
    browser, sink, example = site

    # Sign up: address, then the emailed code (a wrong one first), then a password (a weak one first).
    browser.open("/")
    browser.screenshot("home")
    browser.follow("Create an account")
    browser.wait_for_heading("Create an account")
    browser.screenshot("signup")
    browser.fill("Email address", EMAIL)
    browser.press("Continue")
    browser.wait_for_heading("Check your email")
    assert browser.autocomplete_of("Verification code") == "one-time-code"
    code = secret_from(sink.last_to(EMAIL, "verification code"), 8)
    browser.fill("Verification code", "WRONGCDE" if code != "WRONGCDE" else "WRONGCDF")
    browser.press("Verify")
    browser.wait_for_heading("Check your email")
    assert "That code is not right" in browser.error()
    browser.screenshot("signup_wrong_code")
    browser.fill("Verification code", code.lower())  # codes are accepted in any case
    browser.press("Verify")
    browser.wait_for_heading("Choose a password")
    assert browser.autocomplete_of("New password") == "new-password"
    browser.fill("New password", "password123")
    browser.press("Create account")
    browser.wait_for_heading("Choose a password")
    assert "too common" in browser.error()
    browser.screenshot("signup_weak_password")
    browser.fill("New password", PASSWORD)
    browser.press("Create account")
    browser.wait_for_heading("Faroe example")
    assert "Your account is ready" in " ".join(browser.notices())
    browser.open("/private")
    browser.wait_for_heading("Private page")
    assert browser.text_of("private-user") == EMAIL

    # Sign out, then the protected page asks to sign in and comes back after it.
    browser.press("Sign out")
    browser.wait_for_heading("Faroe example")
    assert "You are signed out." in browser.notices()
    browser.open("/private")
    browser.wait_for_heading("Sign in")
    assert browser.path().startswith("/account/signin?next=")
    assert browser.autocomplete_of("Password") == "current-password"
    browser.screenshot("signin")
    browser.fill("Email address", EMAIL)
    browser.fill("Password", PASSWORD)
    browser.press("Sign in")
    browser.wait_for_heading("Private page")
    sink.last_to(EMAIL, "New sign-in")

    # Change the password.
    browser.open("/account/")
    browser.wait_for_heading("Your account")
    browser.screenshot("account")
    browser.follow("Change password")
    browser.wait_for_heading("Change password")
    browser.screenshot("password")
    browser.fill("Current password", PASSWORD)
    browser.fill("New password", NEW_PASSWORD)
    browser.press("Change password")
    browser.wait_for_heading("Your account")
    assert "Your password was changed." in browser.notices()
    sink.last_to(EMAIL, "password was changed")

    # Forgotten password: the emailed temporary password, a new password, signed in again.
    browser.press("Sign out")
    browser.wait_for_heading("Faroe example")
    browser.open("/account/signin")
    browser.follow("Forgot your password?")
    browser.wait_for_heading("Reset your password")
    browser.fill("Email address", EMAIL)
    browser.press("Send a temporary password")
    browser.wait_for_heading("Enter the temporary password")
    browser.screenshot("reset_verify")
    temporary_password = secret_from(sink.last_to(EMAIL, "temporary password"), 12)
    browser.fill("Temporary password", temporary_password)
    browser.press("Continue")
    browser.wait_for_heading("Choose a new password")
    browser.fill("New password", THIRD_PASSWORD)
    browser.press("Change password and sign in")
    browser.wait_for_heading("Your account")
    assert "Your password was changed, and you are signed in." in browser.notices()

    # Change the email address with the code sent to the new address.
    browser.follow("Change email address")
    browser.wait_for_heading("Change email address")
    browser.fill("New email address", NEW_EMAIL)
    browser.press("Send code")
    browser.wait_for_heading("Confirm your new email address")
    browser.screenshot("email_verify")
    new_code = secret_from(sink.last_to(NEW_EMAIL, "Verify your new email address"), 8)
    browser.fill("Verification code", new_code)
    browser.fill("Current password", THIRD_PASSWORD)
    browser.press("Change email address")
    browser.wait_for_heading("Your account")
    assert browser.text_of("account-email") == NEW_EMAIL
    sink.last_to(EMAIL, "email address was changed")  # the notice goes to the old address

    # Sign out everywhere, then sign in with the new address.
    browser.follow("Sign out everywhere")
    browser.wait_for_heading("Sign out everywhere")
    browser.press("Sign out everywhere")
    browser.wait_for_heading("Sign in")
    assert "You are signed out on every device." in browser.notices()
    browser.fill("Email address", NEW_EMAIL)
    browser.fill("Password", THIRD_PASSWORD)
    browser.press("Sign in")
    browser.wait_for_heading("Faroe example")

    # Delete the account; the address then has no account.
    browser.open("/account/delete")
    browser.wait_for_heading("Delete account")
    browser.screenshot("delete")
    browser.fill("Current password", THIRD_PASSWORD)
    browser.press("Delete my account")
    browser.wait_for_heading("Faroe example")
    assert "Your account was deleted." in browser.notices()
    browser.open("/account/signin")
    browser.fill("Email address", NEW_EMAIL)
    browser.fill("Password", THIRD_PASSWORD)
    browser.press("Sign in")
    browser.wait_for_heading("Sign in")
    assert browser.error() == "There is no account with this email address."

    # No flow or session token ever appeared in a URL, and none reached the logs.
    assert not [url for url in browser.visited if TOKEN_PATTERN.search(url)]
    logs = example.logs() + example.printed()
    for secret in (code, new_code, temporary_password, PASSWORD, NEW_PASSWORD, THIRD_PASSWORD):
        assert secret not in logs


def test_rate_limited_sign_in_says_so(site: tuple[Browser, SMTPSink, Example]) -> None:
    browser, sink, example = site
    # An account made over the JSON endpoint (the pages are not the only way in).
    signup = example.ok("create_signup", email_address=EMAIL)
    token = signup["signup_token"]
    example.ok("verify_signup_email_address_verification_code", signup_token=token,
               email_address_verification_code=secret_from(sink.last_to(EMAIL), 8))
    example.ok("set_signup_password", signup_token=token, password=PASSWORD)
    example.ok("complete_signup", signup_token=token)

    browser.open("/account/signin")
    for attempt in range(5):
        browser.fill("Email address", EMAIL)
        browser.fill("Password", f"not the password {attempt}")
        browser.press("Sign in")
        browser.wait_for_heading("Sign in")
        assert browser.error() == "The password is not right."
    # The sixth attempt in a minute is refused, even with the right password.
    browser.fill("Email address", EMAIL)
    browser.fill("Password", PASSWORD)
    browser.press("Sign in")
    browser.wait_for_heading("Sign in")
    assert browser.error() == "Too many attempts. Please wait a few minutes, then try again."
    browser.screenshot("signin_rate_limited")
    browser.open("/private")
    browser.wait_for_heading("Sign in")  # still signed out
