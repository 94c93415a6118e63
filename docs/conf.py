"""Sphinx configuration of the faroe-flask documentation.

Build it (warnings are errors) with::

    pip install -e ".[docs]"
    sphinx-build -W --keep-going -b html docs docs/_build/html
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

# accessible-pygments (a dependency of the theme) calls logging.basicConfig(level=INFO) when it
# is imported, which prints every INFO line of every library (Alembic's among them) during the
# build. With a handler already on the root logger, basicConfig does nothing.
logging.getLogger().addHandler(logging.NullHandler())

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))

import faroe_flask  # noqa: E402 - after the path set-up

project = "faroe-flask"
author = "the faroe-flask authors"
copyright = "2026, the faroe-flask authors"
version = release = faroe_flask.__version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.viewcode",
    "sphinx_click",
    "faroe_docs",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
templates_path: list[str] = []

# MyST: the guides are plain Markdown that also reads well on GitHub. Headings get anchors so
# that links such as ``existing-users.md#5-existing-password-hashes`` resolve in both places.
myst_heading_anchors = 3
myst_enable_extensions = ["deflist"]

# autodoc: signatures with their type hints, members in source order, the class docstring and
# the ``__init__`` docstring together.
autodoc_typehints = "signature"
autodoc_member_order = "bysource"
autoclass_content = "both"
autodoc_default_options = {"members": True, "undoc-members": True, "show-inheritance": True, "no-value": True}
# Defaults as written in the source (``table: Table = storage_table``), not their long reprs.
autodoc_preserve_defaults = True
# The account pages import Flask-WTF, the metrics prometheus-client and the Redis storage
# redis-py: the ``docs`` extra installs them, so nothing is mocked and nothing can drift.

html_theme = "furo"
html_title = f"faroe-flask {release}"
html_static_path: list[str] = []
html_show_sourcelink = False
