"""Every ``Client`` method has a docstring naming its arguments, its result and exactly the error
codes its action can answer (read from the engine's code, as for docs/actions.md)."""

from __future__ import annotations

import inspect
import re

import pytest

from faroe_flask.client import Client
from faroe_flask.client.client import ACTION_ARGUMENTS
from faroe_flask.core.server import ACTION_TABLE

from ..docs.error_codes import Analyzer


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    return Analyzer()


def test_the_client_has_one_method_per_action() -> None:
    assert set(ACTION_ARGUMENTS) == set(ACTION_TABLE)
    for name, entry in ACTION_TABLE.items():
        assert ACTION_ARGUMENTS[name] == entry.arguments
        assert tuple(inspect.signature(getattr(Client, name)).parameters)[1:] == entry.arguments


@pytest.mark.parametrize("action", list(ACTION_TABLE))
def test_each_method_documents_its_arguments_result_and_error_codes(analyzer: Analyzer, action: str) -> None:
    method = getattr(Client, action)
    doc = inspect.getdoc(method)
    assert doc, f"Client.{action} has no docstring"
    for argument in ACTION_TABLE[action].arguments:
        assert re.search(rf"^    {argument}: \S", doc, re.MULTILINE), argument
    success = inspect.get_annotations(method, eval_str=True)["return"].__args__[0].__name__
    assert f"Returns ``{success}``" in " ".join(doc.split())
    flat = " ".join(doc.split())
    listed = flat.split("error_code`` values:", 1)[1].split(". What each means", 1)[0]
    codes = re.findall(r"``([a-z_]+)``", listed)
    assert len(codes) == len(set(codes))
    assert set(codes) == analyzer.action_codes(ACTION_TABLE[action].function)
    assert f"docs/actions.md#{action}" in flat
