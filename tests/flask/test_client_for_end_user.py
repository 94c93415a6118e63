"""``Client.for_end_user`` against the real endpoint over waitress: an application server that
calls Faroe for its users has each user counted by the per-client limits, not itself."""

from __future__ import annotations

import pytest

from faroe_flask.client import Client, CreateSignupSuccess, HTTPTransport, UnexpectedStatusError

from ..servers import serve
from .conftest import AppFactory

SECRET = "for-end-user-endpoint-secret"


def test_each_end_user_has_its_own_limit_and_the_app_server_its_own(make_app: AppFactory) -> None:
    app = make_app({"FAROE_ENDPOINT_SECRET": SECRET, "FAROE_CLIENT_EMAIL_LIMIT": "2/minute"})
    with serve(app) as url:
        transport = HTTPTransport(url + "/faroe", bearer_secret=SECRET, timeout=10)
        client = Client(transport)
        counter = iter(range(100))

        def signups(caller: Client, count: int) -> list[str]:
            outcomes = []
            for _ in range(count):
                try:
                    result = caller.create_signup(f"user{next(counter)}@example.com")
                except UnexpectedStatusError as exc:
                    assert exc.retry_after is not None and 1 <= exc.retry_after <= 60
                    outcomes.append(str(exc.status))
                else:
                    assert isinstance(result, CreateSignupSuccess)
                    outcomes.append("ok")
            return outcomes

        assert signups(client.for_end_user("198.51.100.1"), 3) == ["ok", "ok", "429"]
        assert signups(client.for_end_user("198.51.100.2"), 2) == ["ok", "ok"]
        assert signups(client.for_end_user("2001:db8:1:2::5"), 3) == ["ok", "ok", "429"]
        # Same /64 network: the same client.
        assert signups(client.for_end_user("2001:db8:1:2::6"), 1) == ["429"]
        # Without an address, the application server (127.0.0.1) is the client.
        assert signups(client, 3) == ["ok", "ok", "429"]
        transport.close()


def test_the_address_is_not_trusted_without_the_endpoint_secret(make_app: AppFactory) -> None:
    app = make_app({"FAROE_CLIENT_EMAIL_LIMIT": "1/minute"})
    with serve(app) as url:
        transport = HTTPTransport(url + "/faroe", timeout=10)
        client = Client(transport)
        assert isinstance(client.for_end_user("198.51.100.1").create_signup("a@example.com"), CreateSignupSuccess)
        with pytest.raises(UnexpectedStatusError) as raised:
            client.for_end_user("198.51.100.2").create_signup("b@example.com")
        assert raised.value.status == 429
        transport.close()
