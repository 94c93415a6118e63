"""A small Sphinx extension for the faroe-flask documentation.

* ``.. faroe-settings::`` renders the configuration reference from
  ``faroe_flask.flask.config.SETTINGS`` (one ``confval`` per key, a section per group), so the
  page cannot drift from the keys the extension reads.
* Every inline literal that is exactly a configuration key (```FAROE_SESSION_EXPIRATION```, in
  any page or docstring) becomes a link to that key's entry; a literal that looks like a key but
  is none is a warning (an error under ``-W``), so a renamed or removed key fails the build.
* Objects that ``faroe_flask`` re-exports are documented there once: an ``automodule`` of the
  module that defines them skips them, and their ``#:`` comment is found in that module.
"""

from __future__ import annotations

import itertools
import re
import types
from typing import Any

from docutils import nodes
from docutils.statemachine import StringList
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.pycode import ModuleAnalyzer
from sphinx.transforms import SphinxTransform
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import nested_parse_with_titles
from werkzeug.local import LocalProxy

import faroe_flask
from faroe_flask.flask.config import SETTINGS

logger = logging.getLogger(__name__)

KEYS = frozenset(setting.name for setting in SETTINGS)
#: Names that look like keys but are environment variables of the test suite, not configuration.
NOT_CONFIGURATION = frozenset({
    "FAROE_TEST_POSTGRESQL_URL", "FAROE_TEST_MYSQL_URL", "FAROE_TEST_REDIS_URL", "FAROE_SCREENSHOT_DIR",
    "FAROE_TEST_BACKENDS",
})
_KEY_LIKE = re.compile(r"FAROE_[A-Z0-9_]*[A-Z0-9]")


def settings_rst() -> list[str]:
    """The configuration reference as reStructuredText: a section per group, a ``confval`` per key."""
    lines: list[str] = []
    for title, settings in itertools.groupby(SETTINGS, key=lambda setting: setting.group):
        lines += [title, "-" * len(title), ""]
        for setting in settings:
            default = setting.default_text or f"``{setting.default!r}``"
            lines += [
                f".. confval:: {setting.name}",
                f"   :type: ``{setting.type}``",
                f"   :default: {default}",
                "",
                f"   {setting.meaning}",
            ]
            if setting.scope == "pages":
                lines += ["", "   Set when the account pages blueprint is registered."]
            lines.append("")
    return lines


class FaroeSettings(SphinxDirective):
    """``.. faroe-settings::`` (no arguments): every ``FAROE_*`` key."""

    def run(self) -> list[nodes.Node]:
        container = nodes.section()
        container.document = self.state.document
        nested_parse_with_titles(self.state, StringList(settings_rst(), source="faroe_flask.flask.config"), container)
        return list(container.children)


class LinkSettingKeys(SphinxTransform):
    """Inline ```FAROE_*``` literals link to the key's ``confval`` entry."""

    default_priority = 400

    def apply(self, **kwargs: Any) -> None:
        for literal in list(self.document.findall(nodes.literal)):
            text = literal.astext()
            if not _KEY_LIKE.fullmatch(text):
                continue
            if text not in KEYS:
                if text not in NOT_CONFIGURATION:
                    logger.warning("%s is not a configuration key (faroe_flask.flask.config.SETTINGS)",
                                   text, location=literal)
                continue
            if isinstance(literal.parent, (nodes.reference, addnodes.pending_xref)):
                continue
            reference = addnodes.pending_xref(
                "", refdomain="std", reftype="confval", reftarget=text, refexplicit=True, refwarn=True,
                refdoc=self.env.docname,
            )
            literal.replace_self(reference)
            reference += literal


def _defining_module(name: str) -> str | None:
    lazy = getattr(faroe_flask, "_FLASK_LAYER", {}).get(name)
    if lazy is not None:
        return f"faroe_flask.{lazy}"
    value = getattr(faroe_flask, name, None)
    return getattr(value, "__module__", None)


def _reexported_data_docstring(app: Sphinx, what: str, name: str, obj: Any, options: Any, lines: list[str]) -> None:
    """A re-exported variable (``faroe_flask.current_user``) gets the ``#:`` comment of the module
    that defines it, as it would there."""
    if what != "data" or not name.startswith("faroe_flask.") or name.count(".") != 1:
        return
    short = name.split(".", 1)[1]
    module = _defining_module(short)
    if module is None or module == "faroe_flask":
        return
    docs = ModuleAnalyzer.for_module(module).find_attr_docs().get(("", short))
    if docs:
        lines[:] = [*docs, ""]


_EXPORTED_IDS = {id(getattr(faroe_flask, name)) for name in faroe_flask.__all__}


def _skip_reexports(app: Sphinx, what: str, name: str, obj: Any, skip: bool, options: Any) -> bool | None:
    """In an ``automodule`` of a submodule, skip what ``faroe_flask`` re-exports (documented there)."""
    if what == "module" and id(obj) in _EXPORTED_IDS and not isinstance(obj, (str, int, float, tuple, bool)):
        return True
    return None


class _ProxyStandIn:
    """Stands in for a werkzeug ``LocalProxy`` (``current_faroe``, ``current_user``, ...) while
    autodoc reads it: the proxy itself would look up the current app or request."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


_ProxyStandIn.__doc__ = None


def _module_getattr(module: Any, name: str, *default: Any) -> Any:
    value = getattr(module, name, *default)
    if isinstance(value, LocalProxy):
        return _ProxyStandIn(name)
    return value


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_autodoc_attrgetter(types.ModuleType, _module_getattr)
    app.add_directive("faroe-settings", FaroeSettings)
    app.add_transform(LinkSettingKeys)
    app.connect("autodoc-process-docstring", _reexported_data_docstring)
    app.connect("autodoc-skip-member", _skip_reexports)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
