"""Which error codes can each action answer? A static reading of the action code.

Starting at an action's function, the analysis follows every call it can resolve into
``faroe_flask.core`` (plain functions, methods of module-level objects such as ``SIGNUP`` or
``SEND_EMAIL``, methods of ``self``, of ``ctx`` and of parameters and locals whose type it knows)
and collects the code of every ``ActionFailure(...)`` / ``LoggedFailure(...)`` it reaches. Codes
travel through parameters: ``fail(INVALID)`` binds ``fail``'s ``error_code`` to the module's
``INVALID``, ``_resolve(..., invalid=INVALID_IN_DELETE)`` binds ``invalid`` for that call only.
The engine adds ``internal_error`` to every action (any exception inside an action).

It over-approximates (it does not know which branches can run together), and it refuses to guess:
a failure whose code it cannot evaluate, or a call it cannot resolve to a function that raises
codes, is an ``AnalysisError``, so a change it cannot follow fails the test instead of passing it.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import pkgutil
import textwrap
from collections.abc import Callable, Iterator
from types import FunctionType, ModuleType
from typing import Any

import faroe_flask.core
from faroe_flask.core.actions import ActionFailure, Context, LoggedFailure
from faroe_flask.core.hashing import PasswordHasher
from faroe_flask.core.server import Server
from faroe_flask.core.sessions import SessionConfig

ENGINE_CODES = frozenset({"internal_error"})

#: ``ctx.server.<name>`` objects whose methods are ours; every other attribute of ``Server`` is a
#: part passed in (storage, user store, email sender, ...), which raises exceptions, never codes.
#: ``test_server_attribute_types_are_right`` checks this against a real ``Server``.
SERVER_ATTRIBUTES: dict[str, type] = {"passwords": PasswordHasher, "session_config": SessionConfig}
#: Attributes of ``Context`` (a dataclass whose ``server`` annotation is only a string at run time).
CONTEXT_ATTRIBUTES: dict[str, type] = {"server": Server}


class AnalysisError(Exception):
    """The analysis met code it cannot follow; teach it, rather than guess."""


@dataclasses.dataclass(frozen=True)
class Typed:
    """A value of a known class of ours."""

    cls: type


class Opaque:
    """A value whose methods are not ours (a part, a record, a builtin)."""


OPAQUE = Opaque()
#: A part passed in to ``Server`` (``ctx.server.storage``, ``.user_store``, ``.email_sender``, ...):
#: its methods raise the interface exceptions or any exception, never an action's code.
PART = Opaque()
Codes = frozenset[str]
Bindings = dict[str, "Codes | None"]


def _is_ours(obj: Any) -> bool:
    return getattr(obj, "__module__", "").startswith("faroe_flask.core")


def core_modules() -> Iterator[ModuleType]:
    for info in pkgutil.walk_packages(faroe_flask.core.__path__, "faroe_flask.core."):
        yield importlib.import_module(info.name)


def _raises_directly(tree: ast.AST) -> bool:
    """Does this function body construct a failure or call one of the failing helpers?"""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
            if name in {"ActionFailure", "LoggedFailure", "fail", "conflict", "internal_error"}:
                return True
    return False


def raising_function_names() -> frozenset[str]:
    """Names of every function and method in ``faroe_flask.core`` whose body can fail an action."""
    names = set()
    for module in core_modules():
        tree = ast.parse(inspect.getsource(module))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and _raises_directly(node):
                names.add(node.name)
    return frozenset(names)


class Analyzer:
    def __init__(self, is_ours: Callable[[Any], bool] = _is_ours) -> None:
        self.is_ours = is_ours
        self.raising_names = raising_function_names()
        self._memo: dict[tuple[Any, ...], Codes] = {}

    # Entry point ------------------------------------------------------------------------------

    def action_codes(self, function: Callable[..., Any]) -> Codes:
        return self.function_codes(function, {}, None) | ENGINE_CODES

    def function_codes(self, function: Any, bindings: Bindings, self_type: type | None) -> Codes:
        function = inspect.unwrap(function)
        key = (function, tuple(sorted(bindings.items(), key=lambda item: item[0])), self_type)
        if key in self._memo:
            return self._memo[key]
        self._memo[key] = frozenset()  # recursion guard
        codes = _FunctionVisit(self, function, bindings, self_type).codes()
        self._memo[key] = codes
        return codes


class _FunctionVisit:
    def __init__(self, analyzer: Analyzer, function: FunctionType, bindings: Bindings, self_type: type | None):
        self.analyzer = analyzer
        self.function = function
        self.globals = function.__globals__
        source = textwrap.dedent(inspect.getsource(function))
        definition = ast.parse(source).body[0]
        if not isinstance(definition, (ast.FunctionDef, ast.AsyncFunctionDef)):
            raise AnalysisError(f"cannot read the source of {function.__qualname__}")
        self.definition = definition
        self.where = f"{function.__module__}.{function.__qualname__}"
        self.bindings: Bindings = {}
        self.env: dict[str, Any] = {}
        self._bind_parameters(bindings, self_type)
        self._read_assignments()

    # Parameters and locals --------------------------------------------------------------------

    def _bind_parameters(self, bindings: Bindings, self_type: type | None) -> None:
        arguments = self.definition.args
        positional = [*arguments.posonlyargs, *arguments.args]
        defaults: dict[str, ast.expr] = dict(
            zip([a.arg for a in positional][len(positional) - len(arguments.defaults):], arguments.defaults)
        )
        defaults.update(
            {a.arg: d for a, d in zip(arguments.kwonlyargs, arguments.kw_defaults) if d is not None}
        )
        for parameter in [*positional, *arguments.kwonlyargs]:
            name = parameter.arg
            if name in bindings:
                self.bindings[name] = bindings[name]
            elif name in defaults:
                self.bindings[name] = self.string_values(defaults[name])
            else:
                self.bindings[name] = None
            if name == "self" and self_type is not None:
                self.env[name] = Typed(self_type)
            elif parameter.annotation is not None:
                self.env[name] = self._type_of_annotation(parameter.annotation)

    def _type_of_annotation(self, annotation: ast.expr) -> Any:
        if isinstance(annotation, ast.Subscript):
            annotation = annotation.value
        if isinstance(annotation, ast.Name):
            found = self.globals.get(annotation.id)
            if isinstance(found, type) and self.analyzer.is_ours(found):
                return Typed(found)
        return OPAQUE

    def _read_assignments(self) -> None:
        for node in ast.walk(self.definition):
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                self.env.setdefault(node.targets[0].id, self.value_of(node.value))

    # Values -----------------------------------------------------------------------------------

    def string_values(self, node: ast.expr) -> Codes | None:
        """The strings an expression can be, or ``None`` when unknown."""
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return frozenset({node.value})
        if isinstance(node, ast.Name):
            if node.id in self.bindings:
                return self.bindings[node.id]
            value = self.globals.get(node.id)
            if isinstance(value, str):
                return frozenset({value})
        return None

    def value_of(self, node: ast.expr) -> Any:
        """What an expression refers to: an object of ours, a ``Typed`` value, or ``OPAQUE``."""
        if isinstance(node, ast.Name):
            if node.id in self.env:
                return self.env[node.id]
            if node.id in self.bindings:
                return OPAQUE
            return self.globals.get(node.id, OPAQUE)
        if isinstance(node, ast.Attribute):
            owner = self.value_of(node.value)
            if isinstance(owner, Typed):
                if owner.cls is Context and node.attr in CONTEXT_ATTRIBUTES:
                    return Typed(CONTEXT_ATTRIBUTES[node.attr])
                if owner.cls is Server:
                    found = SERVER_ATTRIBUTES.get(node.attr)
                    return Typed(found) if found else PART
                member = inspect.getattr_static(owner.cls, node.attr, None)
                if isinstance(member, (FunctionType, staticmethod, classmethod)):
                    return (owner.cls, member)
                return OPAQUE
            if owner is PART:
                return PART
            if isinstance(owner, ModuleType):
                return getattr(owner, node.attr, OPAQUE)
            if owner is not OPAQUE and not isinstance(owner, tuple) and self.analyzer.is_ours(type(owner)):
                member = inspect.getattr_static(type(owner), node.attr, None)
                if isinstance(member, FunctionType):
                    return (type(owner), member)
            return OPAQUE
        return OPAQUE

    # Calls ------------------------------------------------------------------------------------

    def codes(self) -> Codes:
        codes: set[str] = set()
        for node in ast.walk(self.definition):
            if isinstance(node, ast.Call):
                codes |= self.call_codes(node)
        return frozenset(codes)

    def _failure_code(self, node: ast.Call, position: int, keyword: str, default: str | None) -> Codes:
        argument: ast.expr | None = node.args[position] if len(node.args) > position else None
        for item in node.keywords:
            if item.arg == keyword:
                argument = item.value
        if argument is None:
            if default is None:
                raise AnalysisError(f"{self.where}: a failure without an error code")
            return frozenset({default})
        values = self.string_values(argument)
        if values is None:
            raise AnalysisError(f"{self.where}: cannot tell the error code {ast.unparse(argument)!r}")
        return values

    def call_codes(self, node: ast.Call) -> Codes:
        target = self.value_of(node.func)
        if target is ActionFailure:
            return self._failure_code(node, 0, "error_code", None)
        if target is LoggedFailure:
            return self._failure_code(node, 1, "error_code", "internal_error")
        self_type: type | None = None
        if isinstance(target, tuple):
            self_type, target = target
            if isinstance(target, (staticmethod, classmethod)):
                target = target.__func__
        if isinstance(target, FunctionType) and self.analyzer.is_ours(target):
            return self.analyzer.function_codes(target, self._arguments_for(target, node, self_type), self_type)
        if target is PART:
            return frozenset()
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
        if name in self.analyzer.raising_names and not (isinstance(target, type) and self.analyzer.is_ours(target)):
            raise AnalysisError(f"{self.where}: cannot resolve the call {ast.unparse(node.func)}(), "
                                f"and a function named {name} can fail an action")
        return frozenset()

    def _arguments_for(self, target: FunctionType, node: ast.Call, self_type: type | None) -> Bindings:
        parameters = list(inspect.signature(target).parameters)
        if self_type is not None and parameters and parameters[0] == "self":
            parameters = parameters[1:]
        bindings: Bindings = {}
        for name, argument in zip(parameters, node.args):
            bindings[name] = self.string_values(argument)
        for item in node.keywords:
            if item.arg is not None:
                bindings[item.arg] = self.string_values(item.value)
        return bindings
