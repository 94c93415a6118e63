"""An optional captcha in front of chosen actions: Cloudflare Turnstile, hCaptcha or reCAPTCHA.

The three share one server-side check: ``POST`` the form fields ``secret``, ``response`` (the
token the widget produced) and ``remoteip`` to the provider's ``siteverify`` URL, and read
``{"success": true|false, ...}``. ``CaptchaVerifier`` does that with a deadline on the whole call
(``FAROE_CAPTCHA_TIMEOUT``) and at most ``FAROE_CAPTCHA_MAX_CONCURRENT_CHECKS`` checks at once,
and fails closed: a provider that is down, slow or answers anything but a JSON object with
``"success": true`` refuses the action.

* ``CaptchaRejected`` (HTTP 403): no token, or the provider said no (or the reCAPTCHA v3 score is
  below ``FAROE_CAPTCHA_MIN_SCORE``);
* ``CaptchaUnavailable`` (HTTP 503, ``Retry-After``): the provider could not be asked or gave no
  usable answer in time.

Where the token comes from: the endpoint reads the ``X-Captcha-Token`` header (the application's
server forwards its end user's token there); an in-process call during a request reads that
header too, else the widget's own form field (``cf-turnstile-response``,
``h-captcha-response``, ``g-recaptcha-response``), which is what the account pages send.
"""

from __future__ import annotations

import dataclasses
import http.client
import json
import threading
import urllib.parse
from collections.abc import Collection, Mapping
from typing import Any

from werkzeug.exceptions import Forbidden, ServiceUnavailable

from ..core.action_names import require_known_action_names
from ..core.interfaces import FaroeError
from .config import ConfigError, _float, _int, _names
from .outbound import Attempt, BoundedCalls

__all__ = [
    "PROVIDERS",
    "CaptchaProvider",
    "CaptchaVerifier",
    "CaptchaWidget",
    "CaptchaError",
    "CaptchaRejected",
    "CaptchaUnavailable",
    "TOKEN_HEADER",
    "captcha_from_config",
]

#: The request header the endpoint reads the token from (as the reference's docs advise).
TOKEN_HEADER = "X-Captcha-Token"
#: Longest token accepted (Turnstile's are at most 2048 characters).
MAX_TOKEN_LENGTH = 4096
MAX_RESPONSE_BYTES = 64 * 1024


@dataclasses.dataclass(frozen=True)
class CaptchaProvider:
    name: str
    verify_url: str
    script_url: str
    widget_class: str
    #: The form field the widget adds to its form.
    form_field: str


PROVIDERS: Mapping[str, CaptchaProvider] = {
    provider.name: provider
    for provider in (
        CaptchaProvider(
            "turnstile",
            "https://challenges.cloudflare.com/turnstile/v0/siteverify",
            "https://challenges.cloudflare.com/turnstile/v0/api.js",
            "cf-turnstile",
            "cf-turnstile-response",
        ),
        CaptchaProvider(
            "hcaptcha",
            "https://api.hcaptcha.com/siteverify",
            "https://js.hcaptcha.com/1/api.js",
            "h-captcha",
            "h-captcha-response",
        ),
        CaptchaProvider(
            "recaptcha",
            "https://www.google.com/recaptcha/api/siteverify",
            "https://www.google.com/recaptcha/api.js",
            "g-recaptcha",
            "g-recaptcha-response",
        ),
    )
}


@dataclasses.dataclass(frozen=True)
class CaptchaWidget:
    """What a page needs to show the widget (``faroe_captcha`` in templates); no secret."""

    site_key: str
    script_url: str
    widget_class: str
    actions: frozenset[str]


class CaptchaError(FaroeError):
    """The action needs a solved captcha and did not get a valid one. ``reason`` is ``missing``,
    ``invalid`` or ``unavailable``; the subclasses are also the matching HTTP errors."""

    reason: str


class CaptchaRejected(CaptchaError, Forbidden):
    """No token, or the provider did not accept it: HTTP 403."""

    def __init__(self, reason: str) -> None:
        Forbidden.__init__(self, description="Please complete the check that you are a person.")
        self.reason = reason


class CaptchaUnavailable(CaptchaError, ServiceUnavailable):
    """The provider could not be asked in time: HTTP 503 with ``Retry-After``. ``detail`` says
    why, for the log (an exception type or an HTTP status, never the token)."""

    def __init__(self, detail: str, retry_after: int = 5) -> None:
        ServiceUnavailable.__init__(
            self,
            description="The check that you are a person is not available. Please try again shortly.",
            retry_after=retry_after,
        )
        self.reason = "unavailable"
        self.detail = detail


class CaptchaVerifier:
    """Checks tokens with one provider's ``siteverify``; thread-safe."""

    def __init__(
        self,
        provider: str | CaptchaProvider,
        secret_key: str,
        site_key: str = "",
        *,
        actions: Collection[str] = ("create_signup", "create_signin", "create_user_password_reset"),
        verify_url: str | None = None,
        script_url: str | None = None,
        timeout: float = 5.0,
        max_concurrent_checks: int = 2,
        min_score: float | None = None,
    ) -> None:
        self.provider = PROVIDERS[provider] if isinstance(provider, str) else provider
        if not secret_key:
            raise ValueError("secret_key is required")
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        url = urllib.parse.urlsplit(verify_url or self.provider.verify_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError("verify_url must be an http:// or https:// URL")
        self._secret_key = secret_key
        self.site_key = site_key
        self.actions = frozenset(actions)
        self.verify_url = url.geturl()
        self.script_url = script_url or self.provider.script_url
        self._url = url
        self.timeout = timeout
        self.min_score = min_score
        if max_concurrent_checks < 1:
            raise ValueError("max_concurrent_checks must be at least 1")
        self._calls = BoundedCalls(
            threading.BoundedSemaphore(max_concurrent_checks), "faroe-captcha-check", "too many captcha checks are running"
        )

    @property
    def widget(self) -> CaptchaWidget:
        return CaptchaWidget(self.site_key, self.script_url, self.provider.widget_class, self.actions)

    def __repr__(self) -> str:
        return f"CaptchaVerifier({self.provider.name!r}, verify_url={self.verify_url!r})"

    def verify(self, token: str | None, remote_ip: str | None = None) -> None:
        """Return when the provider accepts ``token``; raise ``CaptchaRejected`` or
        ``CaptchaUnavailable`` otherwise. Waits at most ``timeout`` seconds."""
        if not token:
            raise CaptchaRejected("missing")
        if len(token) > MAX_TOKEN_LENGTH or not token.isascii() or not token.isprintable():
            raise CaptchaRejected("invalid")
        fields = {"secret": self._secret_key, "response": token}
        if remote_ip:
            fields["remoteip"] = remote_ip
        body = urllib.parse.urlencode(fields).encode("ascii")
        try:
            status, answer = self._calls.run(lambda attempt: self._post(attempt, body), self.timeout, "the captcha check")
        except Exception as exc:  # noqa: BLE001 - fail closed, whatever went wrong
            raise CaptchaUnavailable(type(exc).__name__) from None
        if status != 200:
            raise CaptchaUnavailable(f"HTTP status {status}")
        try:
            verdict = json.loads(answer)
        except ValueError:
            raise CaptchaUnavailable("the answer is not JSON") from None
        if not isinstance(verdict, dict) or not isinstance(verdict.get("success"), bool):
            raise CaptchaUnavailable("the answer has no success member")
        if verdict["success"] is not True:
            raise CaptchaRejected("invalid")
        if self.min_score is not None:
            score = verdict.get("score")
            if not isinstance(score, (int, float)) or isinstance(score, bool) or score < self.min_score:
                raise CaptchaRejected("invalid")

    def _post(self, attempt: Attempt[tuple[int, bytes]], body: bytes) -> tuple[int, bytes]:
        url = self._url
        connection_class = http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
        connection = connection_class(url.hostname or "", url.port, timeout=self.timeout)
        attempt.attach(host=connection)
        try:
            connection.connect()
            attempt.attach(sock=connection.sock)
            path = url.path or "/"
            if url.query:
                path += "?" + url.query
            connection.request(
                "POST",
                path,
                body=body,
                headers={
                    "Content-Type": "application/x-www-form-urlencoded",
                    "Accept": "application/json",
                    "User-Agent": "faroe-flask",
                },
            )
            response = connection.getresponse()
            answer = response.read(MAX_RESPONSE_BYTES + 1)
            if len(answer) > MAX_RESPONSE_BYTES:
                raise ValueError("the answer is too large")
            return response.status, answer
        finally:
            connection.close()


def token_from_request(request: Any, provider: CaptchaProvider, *, form: bool) -> str | None:
    """``X-Captcha-Token``, else (when ``form``) the widget's form field of a form POST."""
    token = request.headers.get(TOKEN_HEADER)
    if token:
        return str(token)
    if form and request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        value = request.form.get(provider.form_field)
        return str(value) if value else None
    return None


def captcha_from_config(config: Mapping[str, Any]) -> CaptchaVerifier | None:
    """The ``FAROE_CAPTCHA_*`` keys; ``None`` when ``FAROE_CAPTCHA_PROVIDER`` is unset."""
    name = config.get("FAROE_CAPTCHA_PROVIDER")
    if name is None or name == "":
        return None
    if not isinstance(name, str) or name.strip().lower() not in PROVIDERS:
        raise ConfigError("FAROE_CAPTCHA_PROVIDER must be one of " + ", ".join(PROVIDERS))
    secret = config.get("FAROE_CAPTCHA_SECRET_KEY")
    site_key = config.get("FAROE_CAPTCHA_SITE_KEY")
    if not isinstance(secret, str) or not secret or not isinstance(site_key, str) or not site_key:
        raise ConfigError("FAROE_CAPTCHA_PROVIDER needs FAROE_CAPTCHA_SITE_KEY and FAROE_CAPTCHA_SECRET_KEY")
    actions = _names(config, "FAROE_CAPTCHA_ACTIONS") or ()
    try:
        require_known_action_names(actions, "FAROE_CAPTCHA_ACTIONS")
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    min_score = config.get("FAROE_CAPTCHA_MIN_SCORE")
    if min_score is not None and min_score != "":
        try:
            min_score = float(min_score)
        except (TypeError, ValueError):
            min_score = float("nan")
        if not 0 <= min_score <= 1:
            raise ConfigError("FAROE_CAPTCHA_MIN_SCORE must be a number between 0 and 1")
    else:
        min_score = None
    urls = {}
    for key in ("FAROE_CAPTCHA_VERIFY_URL", "FAROE_CAPTCHA_SCRIPT_URL"):
        url = config.get(key) or None
        if url is not None and (not isinstance(url, str) or not url.startswith(("http://", "https://"))):
            raise ConfigError(f"{key} must be an http:// or https:// URL")
        urls[key] = url
    return CaptchaVerifier(
        name.strip().lower(),
        secret,
        site_key,
        actions=actions,
        verify_url=urls["FAROE_CAPTCHA_VERIFY_URL"],
        script_url=urls["FAROE_CAPTCHA_SCRIPT_URL"],
        timeout=_float(config, "FAROE_CAPTCHA_TIMEOUT"),
        max_concurrent_checks=_int(config, "FAROE_CAPTCHA_MAX_CONCURRENT_CHECKS", minimum=1),
        min_score=min_score,
    )
