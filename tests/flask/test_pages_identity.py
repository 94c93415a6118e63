"""The account pages on the extension's identity hooks (issue 20), over real HTTP (waitress on
loopback, a cookie jar and a loopback address per browser, the CSRF token parsed from the form):

* the sign-up form carries the application's ``signup_fields``: rendered from their
  ``SignupField``, checked by ``read_signup_fields`` (errors beside their fields, nothing started
  while one is wrong), and handed to the ``signup_fields_receiver`` in the request that creates the
  user; a value taken meanwhile is asked for again before anything is created; a failing receiver
  leaves no account;
* sign-in and reset take "email address or username" when a resolver is set: the label and input
  type change, an unknown username answers as an unknown address (same page, same limits, in
  generic-responses mode too), and the reset never shows the address a username resolved to.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator, Mapping

import pytest
from flask import Flask, request

from faroe_flask import MemoryUserStore, UserNotFoundError, current_faroe
from faroe_flask.flask.extension import Faroe
from faroe_flask.flask.hooks import SignupField
from faroe_flask.flask.identity import SIGNUP_NOT_FINISHED
from faroe_flask.flask.pages_messages import IDENTIFIER_MESSAGES, MESSAGES

from ..conftest import CapturingEmailSender, FakeClock
from ..servers import serve
from .conftest import NEW_PASSWORD, PASSWORD, AppFactory
from .pages_http import Answer, HttpBrowser, pages_app
from .test_pages_generic import same_page

ADA, GRACE = "ada@example.com", "grace@example.com"
WRONG = "not the Password 123"


class Site:
    """An app with the pages and the identity hooks, served over HTTP; ``received`` records each
    call of the receiver: the user id, the fields, the request path and whether the user existed;
    ``usernames`` are the application's (username -> address), which the resolver reads."""

    def __init__(self, app: Flask, url: str) -> None:
        self.app, self.url = app, url
        self.received: list[tuple[str, dict[str, str], str, bool]] = []
        self.usernames: dict[str, str] = {}

    @property
    def faroe(self) -> Faroe:
        extension: Faroe = self.app.extensions["faroe"].extension
        return extension

    @property
    def users(self) -> MemoryUserStore:
        store = self.app.extensions["faroe"].user_store
        assert isinstance(store, MemoryUserStore)
        return store

    def browser(self) -> HttpBrowser:
        return HttpBrowser(self.url)

    def has_user(self, email_address: str) -> bool:
        try:
            self.users.get_user_by_email_address(email_address)
        except UserNotFoundError:
            return False
        return True


def with_hooks(app: Flask, site: Site, *, fields: bool = True, resolver: bool = True) -> None:
    faroe = site.faroe
    if resolver:
        @faroe.identifier_resolver
        def resolve(identifier: str) -> str | None:
            return identifier if "@" in identifier else site.usernames.get(identifier)

    if not fields:
        return

    def check_username(value: str) -> str | None:
        if not re.fullmatch(r"[a-z0-9]{2,20}", value):
            return "Use 2 to 20 lowercase letters or digits."
        return "This username is taken." if value in site.usernames else None

    faroe.signup_fields = [
        SignupField("username", "Username", max_length=20, validate=check_username, autocomplete="username",
                    attributes={"spellcheck": "false"}),
        SignupField("nickname", "Nickname", required=False, hint="Shown beside your posts."),
    ]

    @faroe.signup_fields_receiver
    def receive(user_id: str, values: Mapping[str, str]) -> None:
        if values["username"] == "explode":
            raise RuntimeError("the username column refused")
        try:
            user = current_faroe.user_store.get_user(user_id)
        except UserNotFoundError:
            site.received.append((user_id, dict(values), request.path, False))
            return
        site.received.append((user_id, dict(values), request.path, True))
        site.usernames[values["username"]] = user.email_address


@pytest.fixture
def site(make_app: AppFactory) -> Iterator[Site]:
    yield from _site(pages_app(make_app))


@pytest.fixture
def generic_site(make_app: AppFactory) -> Iterator[Site]:
    yield from _site(pages_app(make_app, FAROE_PAGES_GENERIC_RESPONSES=True))


def _site(app: Flask) -> Iterator[Site]:
    with serve(app) as url:
        made = Site(app, url)
        with_hooks(app, made)
        yield made


def field_error(answer: Answer, name: str) -> str | None:
    match = re.search(rf'<p class="field-error" id="{name}-error">([^<]+)</p>', answer.body)
    return html.unescape(match.group(1)) if match else None


def input_of(body: str, name: str) -> str:
    match = re.search(rf'<input id="{name}"[^>]*>', body)
    assert match, body
    return match.group(0)


def start(browser: HttpBrowser, sender: CapturingEmailSender, email: str, **fields: str) -> Answer:
    """The sign-up up to its last step: address and fields, code; the password step's answer."""
    started = browser.post("/account/signup", email_address=email, **fields)
    assert started.location == "/account/signup/verify", started.body
    code = sender.last("signup_code")["code"]
    assert browser.post("/account/signup/verify", code=code).location == "/account/signup/password"
    return browser.post("/account/signup/password", password=PASSWORD)


# Sign-up fields ---------------------------------------------------------------------------------


def test_the_signup_form_carries_checks_and_hands_over_the_applications_fields(
    site: Site, email_sender: CapturingEmailSender
) -> None:
    browser = site.browser()
    form = browser.get("/account/signup").body
    username = input_of(form, "username")
    for attribute in ('type="text"', 'autocomplete="username"', 'maxlength="20"', 'spellcheck="false"', "required"):
        assert attribute in username
    assert '<label for="username">Username</label>' in form
    assert "required" not in input_of(form, "nickname") and 'id="nickname-hint"' in form
    assert 'type="email"' in input_of(form, "email_address")  # sign-up asks for an address

    # Wrong fields: each error beside its field, what was typed kept, nothing started.
    site.usernames["ada"] = ADA
    for fields, error in (
        ({}, "Username is required."),
        ({"username": "ada"}, "This username is taken."),
        ({"username": "Not Valid!"}, "Use 2 to 20 lowercase letters or digits."),
        ({"username": "a" * 21}, "Username must be at most 20 characters long."),
    ):
        answer = browser.post("/account/signup", email_address=GRACE, **fields)
        assert answer.status == 422 and answer.error == MESSAGES["invalid_signup_fields"]
        assert field_error(answer, "username") == error and field_error(answer, "nickname") is None
        username = input_of(answer.body, "username")
        assert 'aria-invalid="true"' in username and 'aria-describedby="username-error"' in username
        assert f'value="{GRACE}"' in input_of(answer.body, "email_address")
    assert email_sender.messages == [] and site.received == []
    # Where to go afterwards is kept on the page that comes back with the errors.
    kept = browser.post("/account/signup?next=/private", email_address=GRACE, next="/private")
    assert kept.status == 422 and '<input type="hidden" name="next" value="/private">' in kept.body

    done = start(browser, email_sender, GRACE, username=" grace ", nickname=" G ")
    assert done.status == 302 and done.set_cookies("faroe_session")
    user = site.users.get_user_by_email_address(GRACE)
    # In the request that created the user, which existed by then.
    assert site.received == [(user.id, {"username": "grace", "nickname": "G"}, "/account/signup/password", True)]


def test_a_value_taken_meanwhile_is_asked_for_again_before_anything_is_created(
    site: Site, email_sender: CapturingEmailSender
) -> None:
    first, second = site.browser(), site.browser()
    assert first.post("/account/signup", email_address=GRACE, username="lin").location == "/account/signup/verify"
    first_code = email_sender.last("signup_code")["code"]
    assert start(second, email_sender, "lin@example.com", username="lin").status == 302  # takes "lin"
    assert first.post("/account/signup/verify", code=first_code).location == "/account/signup/password"
    refused = first.post("/account/signup/password", password=PASSWORD)
    assert refused.status == 422 and field_error(refused, "username") == "This username is taken."
    assert refused.error == MESSAGES["invalid_signup_fields"]
    assert 'action="/account/signup/fields"' in refused.body and not refused.set_cookies("faroe_session")
    assert not site.has_user(GRACE) and len(site.received) == 1
    # The browser's back button and the password again: set already, so on to the same check.
    back = first.post("/account/signup/password", password=PASSWORD)
    assert back.status == 422 and field_error(back, "username") == "This username is taken."
    assert back.error == MESSAGES["invalid_signup_fields"] and 'action="/account/signup/fields"' in back.body
    assert not site.has_user(GRACE) and len(site.received) == 1
    # The page comes back on a GET with what was kept; a wrong value again is shown again.
    assert 'value="lin"' in input_of(first.get("/account/signup/fields").body, "username")
    again = first.post("/account/signup/fields", username="")
    assert field_error(again, "username") == "Username is required." and again.error == MESSAGES["invalid_signup_fields"]
    done = first.post("/account/signup/fields", username="lin2")
    assert done.status == 302 and done.set_cookies("faroe_session")
    assert site.received[-1][1:] == ({"username": "lin2", "nickname": ""}, "/account/signup/fields", True)
    assert site.received[-1][0] == site.users.get_user_by_email_address(GRACE).id
    # The flow is over: its pages go back to the start.
    assert first.get("/account/signup/fields").location == "/account/signup"


def test_a_failing_receiver_leaves_no_account_and_the_signup_starts_over(
    site: Site, email_sender: CapturingEmailSender
) -> None:
    browser = site.browser()
    failed = start(browser, email_sender, GRACE, username="explode")
    assert failed.location == "/account/signup" and not failed.set_cookies("faroe_session")
    assert SIGNUP_NOT_FINISHED in html.unescape(browser.get("/account/signup").body)
    assert not site.has_user(GRACE) and site.received == []
    assert browser.get("/account/").status == 302  # not signed in
    assert start(browser, email_sender, GRACE, username="grace").status == 302


def test_without_fields_the_signup_form_is_the_address_alone(make_app: AppFactory) -> None:
    app = pages_app(make_app)
    with serve(app) as url:
        form = HttpBrowser(url).get("/account/signup").body
    assert re.findall(r'<input id="(\w+)"', form) == ["email_address"]


# Email address or username ----------------------------------------------------------------------


PLAIN_INPUT = (
    '<input id="email_address" name="email_address" type="email" autocomplete="{autocomplete}" maxlength="100"'
    ' spellcheck="false" required>'
)
IDENTIFIER_INPUT = (
    '<input id="email_address" name="email_address" type="text" autocomplete="username" maxlength="100"'
    ' spellcheck="false" autocapitalize="none" required>'
)


def test_the_identifier_field_follows_the_resolver(make_app: AppFactory) -> None:
    app = pages_app(make_app)
    with serve(app) as url:
        plain = {page: HttpBrowser(url).get(f"/account/{page}").body for page in ("signin", "reset")}
        for body in plain.values():
            assert '<label for="email_address">Email address</label>' in body
        # On sign-in the address is what password managers call the username.
        assert input_of(plain["signin"], "email_address") == PLAIN_INPUT.format(autocomplete="username")
        assert input_of(plain["reset"], "email_address") == PLAIN_INPUT.format(autocomplete="email")
        site = Site(app, url)
        with_hooks(app, site, fields=False)
        for page in ("signin", "reset"):
            body = HttpBrowser(url).get(f"/account/{page}").body
            field = input_of(body, "email_address")
            assert '<label for="email_address">Email address or username</label>' in body
            assert field == IDENTIFIER_INPUT
        signup = input_of(HttpBrowser(url).get("/account/signup").body, "email_address")
        assert signup == PLAIN_INPUT.format(autocomplete="email")
        site.faroe.identifier_label = "Email or member name"
        assert '<label for="email_address">Email or member name</label>' in HttpBrowser(url).get("/account/signin").body


def test_sign_in_and_reset_by_username(site: Site, email_sender: CapturingEmailSender) -> None:
    assert start(site.browser(), email_sender, ADA, username="ada").status == 302
    signed_in = site.browser().post("/account/signin", email_address="ada", password=PASSWORD)
    assert signed_in.status == 302 and signed_in.set_cookies("faroe_session")
    wrong = site.browser().post("/account/signin", email_address="ada", password=WRONG)
    assert wrong.error == MESSAGES["incorrect_password"]
    # An unknown username answers as an unknown address: the same page and sentence.
    unknown = [site.browser().post("/account/signin", email_address=i, password=WRONG) for i in ("nobody", "nobody@example.com")]
    same_page(unknown, ("nobody", "nobody@example.com"))
    assert unknown[0].status == 422 and unknown[0].error == IDENTIFIER_MESSAGES["user_not_found"]
    resets = [site.browser().post("/account/reset", email_address=i) for i in ("nobody", "nobody@example.com")]
    same_page(resets, ("nobody", "nobody@example.com"))
    assert resets[0].error == IDENTIFIER_MESSAGES["user_not_found"]
    assert input_of(resets[0].body, "email_address") == (
        '<input id="email_address" name="email_address" type="text" autocomplete="username" value="nobody"'
        ' aria-describedby="form-error" aria-invalid="true" maxlength="100" spellcheck="false" autocapitalize="none"'
        ' required>'
    )

    # A reset by username: the temporary password goes to her address, which no page shows.
    resetting = site.browser()
    assert resetting.post("/account/reset", email_address="ada").location == "/account/reset/verify"
    page = resetting.get("/account/reset/verify").body
    assert "to the email address of the account <strong>ada</strong>" in page and ADA not in page
    temporary = email_sender.last("temporary_password")
    assert temporary["email_address"] == ADA
    verified = resetting.post("/account/reset/verify", temporary_password=temporary["temporary_password"])
    assert verified.location == "/account/reset/password"
    password_page = resetting.get("/account/reset/password").body
    assert 'name="username" value="ada"' in password_page and ADA not in password_page
    done = resetting.post("/account/reset/password", password=NEW_PASSWORD)
    assert done.location == "/account/" and done.set_cookies("faroe_session")
    assert site.browser().post("/account/signin", email_address="ada", password=NEW_PASSWORD).status == 302


def test_generic_mode_answers_an_unknown_username_as_an_unknown_address(
    generic_site: Site, email_sender: CapturingEmailSender, clock: FakeClock
) -> None:
    site = generic_site
    assert start(site.browser(), email_sender, ADA, username="ada").status == 302
    clock.advance(3600)
    identifiers = ("ada", "nobody", "nobody@example.com")
    answers = [site.browser().post("/account/signin", email_address=i, password=WRONG) for i in identifiers]
    same_page(answers, identifiers)
    assert answers[0].error == IDENTIFIER_MESSAGES["incorrect_credentials"]
    # "Too many attempts" after the same number of tries.
    for identifier in identifiers:
        browser = site.browser()
        errors = [browser.post("/account/signin", email_address=identifier, password=WRONG).error for _ in range(6)]
        assert errors == [IDENTIFIER_MESSAGES["incorrect_credentials"]] * 4 + [MESSAGES["rate_limited"]] * 2, identifier
    # A reset goes on for both; only the account's owner gets an email.
    sent_before = len(email_sender.messages)
    browsers = [site.browser() for _ in identifiers]
    started = [b.post("/account/reset", email_address=i) for b, i in zip(browsers, identifiers)]
    assert {answer.location for answer in started} == {"/account/reset/verify"}
    page = same_page([b.get("/account/reset/verify") for b in browsers], identifiers)
    assert "If <strong>ADDRESS</strong> names an account, we sent a temporary password to its email address." in page
    assert [(kind, fields["email_address"]) for kind, fields in email_sender.messages[sent_before:]] == [("temporary_password", ADA)]
    for browser, identifier in zip(browsers, identifiers):
        answers = [browser.post("/account/reset/verify", temporary_password="ABCDEFGHJKLM") for _ in range(6)]
        assert [a.status for a in answers] == [422] * 5 + [429], identifier


def test_field_declarations_the_pages_could_not_carry_are_refused(make_app: AppFactory) -> None:
    faroe: Faroe = make_app().extensions["faroe"].extension
    username = SignupField("username", "Username")
    for fields in (
        [username, username],
        [SignupField("next", "Next")],
        [SignupField("email_address", "Email")],
        [SignupField(f"f{n}", "F", max_length=1000) for n in range(3)],
        ["username"],
    ):
        with pytest.raises(ValueError):
            faroe.signup_fields = fields  # type: ignore[assignment]
    assert faroe.signup_fields == ()
    faroe.signup_fields = [username, SignupField("about", "About", max_length=1745)]
    assert [field.name for field in faroe.signup_fields] == ["username", "about"]


def test_the_largest_fields_allowed_are_kept_with_the_flow(make_app: AppFactory, email_sender: CapturingEmailSender) -> None:
    app = pages_app(make_app)
    faroe: Faroe = app.extensions["faroe"].extension
    faroe.signup_fields = [SignupField("about", "About", max_length=1000), SignupField("motto", "Motto", max_length=1000)]
    received: list[dict[str, str]] = []
    faroe.signup_fields_receiver(lambda user_id, values: received.append(dict(values)))
    emoji = "\U0001f600"
    with serve(app) as url:
        browser = HttpBrowser(url)
        started = browser.post("/account/signup", email_address="wide@example.com", about=emoji * 1000,
                               motto="\u00e9" * 1000, next="/" + emoji * 999)
        assert started.location == "/account/signup/verify", started.body
        browser.post("/account/signup/verify", code=email_sender.last("signup_code")["code"])
        done = browser.post("/account/signup/password", password=PASSWORD)
    assert done.status == 302 and done.location == "/" + emoji * 999
    assert received == [{"about": emoji * 1000, "motto": "\u00e9" * 1000}]




def test_only_the_signup_form_carries_the_applications_fields(site: Site) -> None:
    ids = {page: re.findall(r'<input id="(\w+)"', site.browser().get(f"/account/{page}").body)
           for page in ("signup", "signin", "reset")}
    assert ids["signup"][:3] == ["email_address", "username", "nickname"]
    for page in ("signin", "reset"):
        assert "username" not in ids[page] and "nickname" not in ids[page] and ids[page][0] == "email_address"


def test_an_apps_own_entry_template_sees_what_was_typed_as_email_address(make_app: AppFactory) -> None:
    """``email_address`` stays in an entry form's context for templates written before usernames:
    empty on a fresh form, what was typed after a refused one."""
    import jinja2

    app = pages_app(make_app)
    app.jinja_loader = jinja2.DictLoader({
        "faroe/pages/signin.html": (
            '{% import "faroe/pages/_forms.html" as forms with context %}'
            "<p>typed=[{{ email_address }}]</p><form>{{ forms.csrf() }}</form>"
        ),
    })
    with serve(app) as url:
        browser = HttpBrowser(url)
        assert "<p>typed=[]</p>" in browser.get("/account/signin").body
        answer = browser.post("/account/signin", email_address="nobody@example.com", password="wrong password 1")
        assert "<p>typed=[nobody@example.com]</p>" in answer.body
