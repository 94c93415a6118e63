"""Finding 5 of issue 19 (account enumeration through the pages), reproduced over real HTTP with
the default settings, and ``FAROE_PAGES_GENERIC_RESPONSES`` answering a known and an unknown
address alike: the same pages, sentences, redirects and rate limits, the owner of a taken or
disabled address told by email, and sign-in costing the same time with the real Argon2id
parameters."""

from __future__ import annotations

import random
import re
import statistics
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from faroe_flask import MemoryUserStore, current_faroe
from faroe_flask.flask.config import ConfigError
from faroe_flask.flask.pages_messages import MESSAGES
from faroe_flask.passwords import USER_PASSWORD_ARGON2ID

from ..conftest import CapturingEmailSender, FakeClock
from ..servers import serve
from .conftest import PASSWORD, AppFactory
from .pages_http import Answer, HttpBrowser, base, http_app, pages_app  # noqa: F401
from .test_pages_security import sign_up

KNOWN, UNKNOWN = "known.user@example.com", "nobody.here@example.com"
GENERIC = {"FAROE_PAGES_GENERIC_RESPONSES": True}
WRONG = "not the Password 123"


@pytest.fixture
def generic_base(make_app: AppFactory) -> Iterator[tuple[Flask, str]]:
    app = pages_app(make_app, **GENERIC)
    with serve(app) as url:
        yield app, url


def same_page(answers: list[Answer], addresses: tuple[str, ...] = (KNOWN, UNKNOWN)) -> str:
    """The answers are the same page but for the CSRF token and the address typed."""
    pages = set()
    for answer, address in zip(answers, addresses):
        page = re.sub(r'name="csrf_token" value="[^"]+"', "CSRF", answer.body).replace(address, "ADDRESS")
        pages.add((answer.status, answer.location.replace(address, "ADDRESS"), page))
    if len(pages) != 1:
        import difflib
        first, second = [page[2].splitlines() for page in pages][:2]
        raise AssertionError("\n".join(difflib.unified_diff(first, second, lineterm="")))
    return pages.pop()[2]


DISABLED = "disabled.user@example.com"


def known_account(url: str, sender: CapturingEmailSender) -> None:
    sign_up(HttpBrowser(url), sender, KNOWN)


@pytest.fixture
def accounts(generic_base: tuple[Flask, str], email_sender: CapturingEmailSender) -> tuple[Flask, str]:
    """The generic-mode site with a known account and a disabled one."""
    app, url = generic_base
    known_account(url, email_sender)
    sign_up(HttpBrowser(url), email_sender, DISABLED)
    with app.app_context():
        store = current_faroe.user_store
        assert isinstance(store, MemoryUserStore)
        store.set_user_disabled(store.get_user_by_email_address(DISABLED).id, True)
    return app, url


# The finding, with the default settings ------------------------------------------------------------


def test_by_default_the_pages_tell_known_from_unknown_addresses(base: str, email_sender: CapturingEmailSender) -> None:
    known_account(base, email_sender)
    signin = [HttpBrowser(base).post("/account/signin", email_address=a, password=WRONG) for a in (KNOWN, UNKNOWN)]
    assert [answer.error for answer in signin] == [MESSAGES["incorrect_password"], MESSAGES["user_not_found"]]
    reset = [HttpBrowser(base).post("/account/reset", email_address=a) for a in (KNOWN, UNKNOWN)]
    assert reset[0].location == "/account/reset/verify" and reset[1].error == MESSAGES["user_not_found"]
    signup = HttpBrowser(base).post("/account/signup", email_address=KNOWN)
    assert signup.error == MESSAGES["email_address_already_used"]


# Generic mode -------------------------------------------------------------------------------------


def test_sign_in_says_the_same_for_unknown_disabled_and_known_addresses(
    accounts: tuple[Flask, str], clock: FakeClock
) -> None:
    _, url = accounts
    disabled = DISABLED
    addresses = (KNOWN, UNKNOWN, disabled)
    answers = [HttpBrowser(url).post("/account/signin", email_address=a, password=WRONG) for a in addresses]
    page = same_page(answers, addresses)
    assert answers[0].status == 422 and answers[0].error == "The email address or password is incorrect."
    assert 'data-error-code="incorrect_credentials"' in page
    # "Too many attempts" comes as soon for an address with no account.
    for address in (KNOWN, UNKNOWN):
        browser = HttpBrowser(url)
        errors = [browser.post("/account/signin", email_address=address, password=WRONG).error for _ in range(6)]
        assert errors == [MESSAGES["incorrect_credentials"]] * 4 + [MESSAGES["rate_limited"]] * 2, address
    # Once the bucket refills, the right password signs in; a disabled account's never does.
    clock.advance(60)
    assert HttpBrowser(url).post("/account/signin", email_address=KNOWN, password=PASSWORD).set_cookies("faroe_session")
    refused = HttpBrowser(url).post("/account/signin", email_address=disabled, password=PASSWORD)
    assert refused.error == MESSAGES["incorrect_credentials"]


def test_reset_goes_on_for_every_address_and_tells_only_the_owner(
    accounts: tuple[Flask, str], email_sender: CapturingEmailSender, clock: FakeClock
) -> None:
    _, url = accounts
    disabled = DISABLED
    sent_before = len(email_sender.messages)
    addresses = (KNOWN, UNKNOWN, disabled)
    browsers = [HttpBrowser(url) for _ in addresses]
    started = [b.post("/account/reset", email_address=a) for b, a in zip(browsers, addresses)]
    assert {answer.location for answer in started} == {"/account/reset/verify"}
    page = same_page([b.get("/account/reset/verify") for b in browsers], addresses)
    assert "Check your email. If <strong>ADDRESS</strong> belongs to an account, we sent it a temporary password." in page
    # The known address got its temporary password, the disabled one a notice, the unknown nothing.
    sent = [(kind, fields["email_address"]) for kind, fields in email_sender.messages[sent_before:]]
    assert sent == [("temporary_password", KNOWN), ("reset_attempt", disabled)]
    # Wrong temporary passwords: the same answers, then the same limit.
    for browser, address in zip(browsers, addresses):
        answers = [browser.post("/account/reset/verify", temporary_password="ABCDEFGHJKLM") for _ in range(6)]
        assert [a.status for a in answers] == [422] * 5 + [429], address
        assert answers[0].error == MESSAGES["incorrect_temporary_password"]
        assert browser.get("/account/reset/password").status == 200
        assert browser.post("/account/reset/password", password=WRONG).location == "/account/reset/verify"
    # Expired alike.
    clock.advance(20 * 60)
    expired = [b.post("/account/reset/verify", temporary_password="ABCDEFGHJKLM") for b in browsers]
    assert {answer.location for answer in expired} == {"/account/reset"}


def test_sign_up_with_a_taken_address_goes_on_and_tells_its_owner(
    generic_base: tuple[Flask, str], email_sender: CapturingEmailSender, clock: FakeClock
) -> None:
    app, url = generic_base
    known_account(url, email_sender)
    clock.advance(3600)  # the account was made long ago: its sign-up's buckets are full again
    fresh = "fresh.user@example.com"
    browsers = [HttpBrowser(url), HttpBrowser(url)]
    started = [b.post("/account/signup", email_address=a) for b, a in zip(browsers, (KNOWN, fresh))]
    assert {answer.location for answer in started} == {"/account/signup/verify"}
    page = same_page([b.get("/account/signup/verify") for b in browsers], (KNOWN, fresh))
    assert "If the address can be used for a new account, it holds your code" in page
    assert email_sender.last("signup_attempt")["email_address"] == KNOWN
    assert email_sender.last("signup_code")["email_address"] == fresh
    # The password step before the code, a resend, wrong codes and the limit: the same answers.
    for browser in browsers:
        assert browser.get("/account/signup/password").status == 200
    same_page([b.post("/account/signup/password", password=PASSWORD) for b in browsers], (KNOWN, fresh))
    same_page([b.post("/account/signup/resend") for b in browsers], (KNOWN, fresh))
    assert len(email_sender.of_kind("signup_attempt")) == 2
    for _ in range(5):
        same_page([b.post("/account/signup/verify", code="WRONGCDE") for b in browsers], (KNOWN, fresh))
    limited = [b.post("/account/signup/verify", code="WRONGCDE") for b in browsers]
    same_page(limited, (KNOWN, fresh))
    assert limited[0].status == 429
    clock.advance(20 * 60)
    same_page([b.post("/account/signup/verify", code="WRONGCDE") for b in browsers], (KNOWN, fresh))
    # The owner's account is untouched: the original password signs in.
    assert HttpBrowser(url).post("/account/signin", email_address=KNOWN, password=PASSWORD).status == 302


def test_generic_mode_needs_a_sender_of_the_notices(make_app: AppFactory) -> None:
    class SixMessagesOnly:
        def __getattr__(self, name: str) -> object:
            if name.startswith("send_user_") or name == "send_signup_email_address_verification_code":
                return lambda *args: None
            raise AttributeError(name)

    with pytest.raises(ConfigError) as refused:
        from faroe_flask import create_pages_blueprint

        app = make_app(config={"SECRET_KEY": "k", **GENERIC}, email_sender=SixMessagesOnly())
        app.register_blueprint(create_pages_blueprint())
    assert str(refused.value) == (
        "FAROE_PAGES_GENERIC_RESPONSES needs an email sender with send_signup_attempt_notification "
        "and send_user_password_reset_attempt_notification (TemplateEmailSender has them)"
    )


def test_the_notices_render_as_text_and_html_and_can_be_overridden(tmp_path: Path) -> None:
    from datetime import datetime, timezone

    from faroe_flask.testing import Outbox

    outbox = Outbox(Flask("notices", template_folder=str(tmp_path)))
    when = datetime(2026, 3, 4, 5, 6, tzinfo=timezone.utc)
    outbox.send_signup_attempt_notification("owner@example.com", "Olive", when)
    outbox.send_user_password_reset_attempt_notification("owner@example.com", "", when)
    attempt, reset = outbox.messages
    assert attempt.subject == "Someone tried to sign up with your email address"
    for email in (attempt, reset):
        assert "2026-03-04 at 05:06 UTC" in email.text and "2026-03-04 at 05:06 UTC" in email.html
        assert "owner@example.com" in email.text and email.html.startswith("<!DOCTYPE html>")
    assert "Hi Olive," in attempt.text and "disabled" in reset.text
    (tmp_path / "faroe" / "email").mkdir(parents=True)
    (tmp_path / "faroe" / "email" / "signup_attempt_notification.txt").write_text("Mine: {{ email_address }}")
    mine = Outbox(Flask("mine", template_folder=str(tmp_path)))
    mine.send_signup_attempt_notification("owner@example.com", "", when)
    assert mine.messages[-1].text == "Mine: owner@example.com"


# Timing, with the real Argon2id parameters ------------------------------------------------------


def _timed_signins(url: str, clock: FakeClock, rounds: int, identifiers: tuple[str, ...] = (KNOWN, UNKNOWN)) -> dict[str, list[float]]:
    """``rounds`` interleaved groups of failed sign-ins (a known address with a wrong password,
    then unknown identifiers), in a random order within each group; the seconds of each POST."""
    times: dict[str, list[float]] = {identifier: [] for identifier in identifiers}
    browser = HttpBrowser(url)
    for _ in range(rounds):
        group = list(identifiers)
        random.shuffle(group)
        for identifier in group:
            clock.advance(60)  # a token back in each password bucket: every try is hashed
            token = browser.csrf()
            started = time.perf_counter()
            answer = browser.post("/account/signin", csrf=token, email_address=identifier, password=WRONG)
            times[identifier].append(time.perf_counter() - started)
            assert answer.status == 422, answer.body
    return times


def test_sign_in_costs_the_same_for_known_and_unknown_addresses(make_app: AppFactory, clock: FakeClock) -> None:
    """The default Argon2id parameters (64 MiB, 3 passes). The machine is shared: medians of
    interleaved tries, and when they differ by more than 20 %, more tries pooled with the first
    (at most three rounds), never a wider bound. In generic mode the application resolves
    usernames, and an unknown username costs what an unknown address does."""
    real = {
        "FAROE_USER_PASSWORD_ARGON2_MEMORY_COST": USER_PASSWORD_ARGON2ID.memory_cost,
        "FAROE_USER_PASSWORD_ARGON2_TIME_COST": USER_PASSWORD_ARGON2ID.time_cost,
        "FAROE_USER_PASSWORD_ARGON2_PARALLELISM": USER_PASSWORD_ARGON2ID.parallelism,
    }
    users = MemoryUserStore()
    default_app = make_app(config={"SECRET_KEY": "k", "FAROE_SESSION_COOKIE_SECURE": False, **real}, user_store=users)
    generic_app = make_app(config={"SECRET_KEY": "k", "FAROE_SESSION_COOKIE_SECURE": False, **real, **GENERIC}, user_store=users)
    from faroe_flask import create_pages_blueprint

    for app in (default_app, generic_app):
        app.register_blueprint(create_pages_blueprint())
    generic_app.extensions["faroe"].extension.identifier_resolver(
        lambda identifier: identifier if "@" in identifier else {"known": KNOWN}.get(identifier)
    )
    with generic_app.app_context():
        password_hash, algorithm_id, salt = current_faroe.server.passwords.hash_user_password(PASSWORD)
    users.create_user(KNOWN, password_hash, algorithm_id, salt)

    # The finding: by default an unknown address answers at once.
    with serve(default_app) as url:
        times = _timed_signins(url, clock, 3)
    known, unknown = statistics.median(times[KNOWN]), statistics.median(times[UNKNOWN])
    print(f"default mode: known {known:.3f} s, unknown {unknown:.3f} s")
    assert unknown < 0.5 * known

    identifiers = (KNOWN, UNKNOWN, "nobody_here")
    with serve(generic_app) as url:
        times = {identifier: [] for identifier in identifiers}
        for _ in range(3):
            for identifier, more in _timed_signins(url, clock, 7, identifiers).items():
                times[identifier] += more
            medians = {identifier: statistics.median(times[identifier]) for identifier in identifiers}
            slow, fast = max(medians.values()), min(medians.values())
            print(f"generic mode, {len(times[KNOWN])} groups: "
                  + ", ".join(f"{identifier} {median:.3f} s" for identifier, median in medians.items())
                  + f", difference {1 - fast / slow:.1%}")
            if fast >= 0.8 * slow:
                break
    assert fast >= 0.8 * slow
