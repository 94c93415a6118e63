"""Action observers: the one hook through which the Flask layer sees every invocation."""

from __future__ import annotations

import json
import logging

import pytest

from faroe_flask import Server
from faroe_flask.core.envelope import ActionError, ActionResult
from faroe_flask.core.server import ActionObserver, RunAction

# The observers are the engine's own: one backend is enough.
pytestmark = pytest.mark.parametrize("backend", ["memory"], indirect=True)


def _get_session(server: Server) -> ActionResult:
    return server.invoke("get_session", {"session_token": "x" * 24 + ".y"})


def test_observers_wrap_every_invocation_in_the_order_added(server: Server) -> None:
    seen: list[str] = []

    def observer(name: str) -> ActionObserver:
        def observe(action: str, arguments: dict[str, str], run: RunAction) -> ActionResult:
            seen.append(f"{name} before {action}")
            result = run(action, arguments)
            seen.append(f"{name} after {result.error_code}")
            return result

        return observe

    server.add_action_observer(observer("inner"))
    server.add_action_observer(observer("outer"))
    result = _get_session(server)
    assert result.error_code == "invalid_session_token"
    body = json.dumps({"action": "create_signin", "arguments": {"user_email_address": "nobody@example.com"}})
    answer = json.loads(server.resolve_action_invocation_request(body))
    assert answer["error_code"] == "user_not_found"
    assert seen == [
        "outer before get_session",
        "inner before get_session",
        "inner after invalid_session_token",
        "outer after invalid_session_token",
        "outer before create_signin",
        "inner before create_signin",
        "inner after user_not_found",
        "outer after user_not_found",
    ]


@pytest.mark.parametrize("when", ["before", "after"])
def test_an_observer_that_raises_changes_nothing(
    server: Server, caplog: pytest.LogCaptureFixture, when: str
) -> None:
    runs: list[str] = []

    def counting(action: str, arguments: dict[str, str], run: RunAction) -> ActionResult:
        runs.append(action)
        return run(action, arguments)

    def broken(action: str, arguments: dict[str, str], run: RunAction) -> ActionResult:
        if when == "after":
            run(action, arguments)
        raise RuntimeError("observer bug")

    server.add_action_observer(counting)
    server.add_action_observer(broken)
    with caplog.at_level(logging.ERROR, logger="faroe_flask"):
        result = _get_session(server)
    assert result.error_code == "invalid_session_token"
    assert runs == ["get_session"], "the action ran exactly once"
    assert "a Faroe action observer raised" in caplog.text


def test_run_twice_runs_the_action_once(server: Server) -> None:
    runs: list[str] = []

    def counting(action: str, arguments: dict[str, str], run: RunAction) -> ActionResult:
        runs.append(action)
        return run(action, arguments)

    def greedy(action: str, arguments: dict[str, str], run: RunAction) -> ActionResult:
        first = run(action, arguments)
        second = run(action, arguments)
        assert second is first
        return second

    server.add_action_observer(counting)
    server.add_action_observer(greedy)
    assert _get_session(server).error_code == "invalid_session_token"
    assert runs == ["get_session"]


def test_the_outermost_observers_result_is_the_answer(server: Server) -> None:
    def replace(action: str, arguments: dict[str, str], run: RunAction) -> ActionResult:
        run(action, arguments)
        return ActionError("x" * 24, "internal_error")

    server.add_action_observer(replace)
    body = json.dumps({"action": "get_session", "arguments": {"session_token": "t"}})
    assert json.loads(server.resolve_action_invocation_request(body)) == {
        "ok": False,
        "action_invocation_id": "x" * 24,
        "error_code": "internal_error",
    }
