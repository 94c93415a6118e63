"""Edges of the captcha found by mutation testing: the verifier's arguments, what it sends to the
provider, the answers it refuses, where the token is read from, and the configuration keys."""

from __future__ import annotations

import pytest

from faroe_flask.flask.captcha import PROVIDERS, CaptchaVerifier

from .test_captcha import SECRET_KEY, SITE_KEY


@pytest.mark.parametrize(
    ("arguments", "message"),
    [({"secret_key": ""}, "secret_key is required"), ({"timeout": 0}, "timeout must be positive"),
     ({"timeout": -1}, "timeout must be positive"), ({"verify_url": "ftp://example.com/x"}, "verify_url must be"),
     ({"verify_url": "https:///x"}, "verify_url must be"), ({"max_concurrent_checks": 0}, "at least 1")],
)
def test_unusable_verifier_arguments(arguments: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CaptchaVerifier("turnstile", **{"secret_key": SECRET_KEY, **arguments})  # type: ignore[arg-type]


def test_the_widget_and_the_defaults() -> None:
    verifier = CaptchaVerifier("recaptcha", SECRET_KEY, SITE_KEY)
    assert verifier.provider is PROVIDERS["recaptcha"]
    assert verifier.verify_url == "https://www.google.com/recaptcha/api/siteverify"
    assert verifier.actions == {"create_signup", "create_signin", "create_user_password_reset"}
    assert verifier.timeout == 5.0 and verifier.min_score is None
    widget = verifier.widget
    assert (widget.site_key, widget.script_url, widget.widget_class, widget.actions) == (
        SITE_KEY, "https://www.google.com/recaptcha/api.js", "g-recaptcha", verifier.actions)
    assert repr(verifier) == "CaptchaVerifier('recaptcha', verify_url='https://www.google.com/recaptcha/api/siteverify')"
