"""The entry forms as data an application extends (``pages_forms``): extra sign-up fields are
rendered, checked, carried with the flow and handed over when the sign-up completes; a field is
replaced (an identifier's label); a form that would break the pages is refused."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask

from faroe_flask import create_pages_blueprint
from faroe_flask.flask.pages_forms import Field, PageForms, signup_fields
from faroe_flask.flask.pages_messages import MESSAGES
from faroe_flask.flask.signals import signup_completed

from ..conftest import CapturingEmailSender
from .conftest import PASSWORD, AppFactory
from .test_pages import PAGES_CONFIG, Pages, error_of

USERNAME = Field("username", "Username", autocomplete="username", max_length=20, attributes={"spellcheck": "false"})
NICKNAME = Field("nickname", "Nickname", required=False)


def app_with(make_app: AppFactory, forms: PageForms) -> Flask:
    app = make_app(config=PAGES_CONFIG)
    app.register_blueprint(create_pages_blueprint(forms=forms))
    return app


def test_extra_signup_fields_are_rendered_checked_and_handed_over(make_app: AppFactory, email_sender: CapturingEmailSender) -> None:
    app = app_with(make_app, PageForms().add("signup", USERNAME, NICKNAME))
    handed_over: list[dict[str, str]] = []

    @signup_completed.connect_via(app)
    def receive(sender: Any, **extra: Any) -> None:
        handed_over.append(signup_fields())

    pages = Pages(app.test_client())
    form = pages.get("/account/signup").get_data(as_text=True)
    username = re.search(r'<input id="username"[^>]*>', form)
    assert username and 'autocomplete="username"' in username.group(0) and 'maxlength="20"' in username.group(0)
    assert '<label for="username">Username</label>' in form
    nickname = re.search(r'<input id="nickname"[^>]*>', form)
    assert nickname and "required" not in nickname.group(0)

    missing = pages.post("/account/signup", email_address="ada@example.com")
    assert missing.status_code == 422 and error_of(missing) == MESSAGES["missing_field"]
    field = re.search(r'<input id="username"[^>]*>', missing.get_data(as_text=True))
    assert field and 'aria-invalid="true"' in field.group(0)
    long = pages.post("/account/signup", email_address="ada@example.com", username="a" * 21)
    assert long.status_code == 422 and error_of(long) == MESSAGES["field_too_long"]
    assert email_sender.messages == []  # nothing started

    started = pages.post("/account/signup", email_address="ada@example.com", username=" ada ")
    assert started.headers["Location"] == "/account/signup/verify"
    pages.post("/account/signup/verify", code=email_sender.last("signup_code")["code"])
    assert pages.post("/account/signup/password", password=PASSWORD).status_code == 302
    assert handed_over == [{"username": "ada", "nickname": ""}]
    with app.test_request_context():
        assert signup_fields() == {}  # only in the request that completes the sign-up


def test_an_identifier_field_is_replaced(make_app: AppFactory) -> None:
    identifier = Field("email_address", "Email address or username", autocomplete="username")
    app = app_with(make_app, PageForms().replace("signin", identifier))
    page = app.test_client().get("/account/signin").get_data(as_text=True)
    assert '<label for="email_address">Email address or username</label>' in page
    field = re.search(r'<input id="email_address"[^>]*>', page)
    assert field and 'type="text"' in field.group(0) and 'autocomplete="username"' in field.group(0)
    # The other forms are untouched.
    assert 'type="email"' in app.test_client().get("/account/signup").get_data(as_text=True)


@pytest.mark.parametrize(
    "make",
    [
        lambda: PageForms(signup=(USERNAME,)),  # the identifier must come first
        lambda: PageForms().add("signup", Field("next", "Next")),  # a name the pages use
        lambda: PageForms().add("signup", USERNAME, USERNAME),
        lambda: PageForms().add("signup", *(Field(f"f{n}", "F", max_length=1000) for n in range(3))),
        lambda: PageForms().replace("reset", USERNAME),
        lambda: Field("user name", "User name"),
        lambda: Field("username", "Username", max_length=0),
    ],
)
def test_forms_that_would_break_the_pages_are_refused(make: Any) -> None:
    with pytest.raises(ValueError):
        make()


def test_the_largest_state_the_forms_allow_is_kept(make_app: AppFactory, email_sender: CapturingEmailSender) -> None:
    wide = (Field("about", "About", max_length=1000), Field("motto", "Motto", max_length=1000))
    app = app_with(make_app, PageForms().add("signup", *wide))
    pages = Pages(app.test_client())
    emoji = "\U0001f600"
    started = pages.post(
        "/account/signup", email_address="wide@example.com", about=emoji * 1000, motto="\u00e9" * 1000,
        next="/" + emoji * 999,
    )
    assert started.headers["Location"] == "/account/signup/verify"
    pages.post("/account/signup/verify", code=email_sender.last("signup_code")["code"])
    done = pages.post("/account/signup/password", password=PASSWORD)
    assert done.status_code == 302 and done.headers["Location"].startswith("/%F0%9F%98%80")
