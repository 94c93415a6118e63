"""``docs/actions.md`` stays true to the code.

* every action of ``ACTION_TABLE`` has one section, in the table's (flow) order;
* its arguments and returned values are the ones the code takes and returns;
* the error codes listed under it are exactly those its code can answer (``error_codes.py``
  reads them from the code: every ``fail(...)``/``ActionFailure``/``LoggedFailure`` reachable from
  the action, plus ``internal_error``, which the engine answers for any action);
* every model's fields are the ones ``core/models.py`` sends, in order.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import re
import textwrap
from pathlib import Path
from typing import Any

import pytest

from faroe_flask import MemoryStorage, MemoryUserStore, Server
from faroe_flask.core import models
from faroe_flask.core.actions import Context, fail
from faroe_flask.core.server import ACTION_TABLE
from faroe_flask.core.strength import StaticPasswordList
from faroe_flask.passwords import Argon2id

from . import error_codes
from .error_codes import CONTEXT_ATTRIBUTES, SERVER_ATTRIBUTES, AnalysisError, Analyzer

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "actions.md"
MODELS = ["signup", "signin", "session", "user_email_address_update", "user_password_update",
          "user_deletion", "user_password_reset"]

_ACTION_HEADING = re.compile(r"^### `([a-z_]+)`$", re.MULTILINE)
_MODEL_HEADING = re.compile(r"^### `([a-z_]+)` model$", re.MULTILINE)
_ERROR_ROW = re.compile(r"^\| `([a-z_]+)` \|", re.MULTILINE)


def sections(text: str, heading: re.Pattern[str]) -> list[tuple[str, str]]:
    """``(name, body)`` for every heading matched, the body running to the next heading."""
    matches = list(heading.finditer(text))
    result = []
    for match in matches:
        end = re.compile(r"^#{1,3} ", re.MULTILINE).search(text, match.end())
        result.append((match.group(1), text[match.end(): end.start() if end else len(text)]))
    return result


def _line(body: str, label: str) -> str:
    found = re.search(rf"^\*\*{label}:\*\* (.*)$", body, re.MULTILINE)
    assert found, f"no **{label}:** line"
    return found.group(1)


def _function_node(function: Any) -> ast.FunctionDef:
    node = ast.parse(textwrap.dedent(inspect.getsource(function))).body[0]
    assert isinstance(node, ast.FunctionDef)
    return node


def returned_keys(function: Any) -> tuple[str, ...]:
    """The member names of the dict an action (or the helper it returns from) returns."""
    shapes = set()
    for node in ast.walk(_function_node(function)):
        if not isinstance(node, ast.Return) or node.value is None:
            continue
        value = node.value
        if isinstance(value, ast.Dict):
            shapes.add(tuple(key.value for key in value.keys if isinstance(key, ast.Constant)))
        elif isinstance(value, ast.Call) and isinstance(value.func, ast.Name):
            shapes.add(returned_keys(function.__globals__[value.func.id]))
        else:
            raise AssertionError(f"cannot read what {function.__qualname__} returns")
    assert len(shapes) == 1, (function.__qualname__, shapes)
    return shapes.pop()


def mismatches(text: str, analyzer: Analyzer) -> list[str]:
    problems = []
    documented = sections(text, _ACTION_HEADING)
    names = [name for name, _ in documented]
    if names != list(ACTION_TABLE):
        problems.append(f"action sections {names} are not the action table {list(ACTION_TABLE)} in order")
    for name, body in documented:
        entry = ACTION_TABLE.get(name)
        if entry is None:
            continue
        arguments = tuple(re.findall(r"`([a-z_]+)` \(string\)", _line(body, "Arguments")))
        if arguments != entry.arguments:
            problems.append(f"{name}: arguments {arguments} in the doc, {entry.arguments} in the code")
        returns = _line(body, "Returns")
        documented_values = () if returns == "nothing" else tuple(re.findall(r"`([a-z_]+)` \(", returns))
        if documented_values != returned_keys(entry.function):
            problems.append(f"{name}: returns {documented_values} in the doc, {returned_keys(entry.function)} in the code")
        rows = _ERROR_ROW.findall(body)
        expected = analyzer.action_codes(entry.function)
        if len(rows) != len(set(rows)):
            problems.append(f"{name}: an error code is listed twice")
        if set(rows) != expected:
            problems.append(
                f"{name}: missing from the doc {sorted(expected - set(rows))}, "
                f"listed but not answered {sorted(set(rows) - expected)}"
            )
    return problems


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    return Analyzer()


def test_the_reference_matches_the_code(analyzer: Analyzer) -> None:
    assert mismatches(DOC.read_text(encoding="utf-8"), analyzer) == []


def test_model_fields_match_the_code() -> None:
    documented = dict(sections(DOC.read_text(encoding="utf-8"), _MODEL_HEADING))
    assert sorted(documented) == sorted(MODELS)
    for name in MODELS:
        fields = tuple(re.findall(r"^\| `([a-z_]+)` \|", documented[name], re.MULTILINE))
        assert fields == returned_keys(getattr(models, f"{name}_model")), name


def test_only_the_core_fails_actions() -> None:
    """The analysis follows calls into ``faroe_flask.core`` only; nothing else may fail an action."""
    for path in (ROOT / "faroe_flask").rglob("*.py"):
        if "core" in path.relative_to(ROOT / "faroe_flask").parts:
            continue
        source = path.read_text(encoding="utf-8")
        for name in ("ActionFailure", "LoggedFailure", "core.actions import"):
            assert name not in source, (path, name)


def test_the_readme_links_the_reference() -> None:
    assert "(docs/actions.md)" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_a_removed_or_extra_code_is_reported(analyzer: Analyzer) -> None:
    text = DOC.read_text(encoding="utf-8")
    row = "| `password_not_set` | Call `set_signup_password` first. |\n"
    assert row in text
    assert mismatches(text.replace(row, ""), analyzer) == [
        "complete_signup: missing from the doc ['password_not_set'], listed but not answered []"
    ]
    extra = text.replace(row, row + "| `user_disabled` | made up |\n")
    assert mismatches(extra, analyzer) == [
        "complete_signup: missing from the doc [], listed but not answered ['user_disabled']"
    ]


# The analysis itself ---------------------------------------------------------------------------

def test_the_analysis_finds_the_codes_the_spec_lists(analyzer: Analyzer) -> None:
    def codes(action: str) -> set[str]:
        return set(analyzer.action_codes(ACTION_TABLE[action].function))

    assert codes("get_signup") == {"invalid_signup_token", "internal_error"}
    assert codes("create_signin") == {"invalid_email_address", "user_not_found", "user_disabled", "internal_error"}
    assert codes("complete_signin") == {"invalid_signin_token", "user_first_factor_not_verified", "internal_error"}
    # A code passed down through a keyword argument reaches this call only.
    assert codes("delete_user_password_update") == {
        "invalid_session_token", "invalid_user_password_update_token", "session_mismatch", "internal_error"
    }
    assert "invalid_user_password_update_token" not in codes("get_user_password_update")
    assert codes("delete_all_sessions") == {"invalid_session_token", "internal_conflict", "internal_error"}


SYNTHETIC_INVALID = "invalid_synthetic_token"


def _synthetic_helper(ctx: Context, code: str) -> None:
    fail(code)


class _SyntheticKind:
    def check(self, ctx: Context) -> None:
        self.reject(ctx, "synthetic_rejected")

    def reject(self, ctx: Context, why: str) -> None:
        fail(why)


SYNTHETIC_KIND = _SyntheticKind()


def _synthetic_action(ctx: Context, token: str) -> dict[str, Any]:
    _synthetic_helper(ctx, SYNTHETIC_INVALID)
    SYNTHETIC_KIND.check(ctx)
    ctx.server.storage.get(token)  # a part: never an action's code
    if token:
        fail("synthetic_failure")
    return {}


def _unreadable_code(ctx: Context, token: str) -> dict[str, Any]:
    fail(token.upper())
    return {}


def _unresolvable_call(ctx: Context, thing) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    thing.verify_user_identity(ctx)
    return {}


def _ours_or_this_module(obj: Any) -> bool:
    return getattr(obj, "__module__", "").startswith("faroe_flask.core") or getattr(obj, "__module__", "") == __name__


def test_the_analysis_follows_helpers_methods_and_bound_codes() -> None:
    analyzer = Analyzer(_ours_or_this_module)
    assert analyzer.action_codes(_synthetic_action) == {
        "invalid_synthetic_token", "synthetic_rejected", "synthetic_failure", "internal_error"
    }


@pytest.mark.parametrize(("function", "message"), [
    (_unreadable_code, "cannot tell the error code"),
    (_unresolvable_call, "cannot resolve the call thing.verify_user_identity"),
])
def test_the_analysis_refuses_to_guess(function: Any, message: str) -> None:
    with pytest.raises(AnalysisError, match=message):
        Analyzer(_ours_or_this_module).action_codes(function)


def test_the_analysis_knows_which_server_and_context_attributes_are_ours() -> None:
    algorithm = Argon2id(memory_cost=64, time_cost=1, parallelism=1)
    server = Server(
        storage=MemoryStorage(),
        user_store=MemoryUserStore(),
        email_sender=object(),  # type: ignore[arg-type]
        user_password_hash_algorithms=[algorithm],
        temporary_password_hash_algorithm=algorithm,
        password_strength_checker=StaticPasswordList(()),
    )
    ours = {
        name: type(value)
        for name, value in vars(server).items()
        if type(value).__module__.startswith("faroe_flask.core")
        and type(value).__module__ not in {"faroe_flask.core.server", "faroe_flask.core.strength"}
    }
    # Parts (checker, logger, clock) are replaceable and may be anything; these two are the engine's.
    assert ours == SERVER_ATTRIBUTES
    context_fields = {field.name for field in dataclasses.fields(Context)}
    plain_data = {"action", "action_invocation_id", "now", "timestamp", "unix_seconds"}
    assert context_fields - plain_data == set(CONTEXT_ATTRIBUTES)
    assert error_codes.ENGINE_CODES == {"internal_error"}
