"""Sphinx configuration for the Flask-NicePay documentation."""

from __future__ import annotations

import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE / "_ext"))

project = "Flask-NicePay"
author = "The Flask-NicePay maintainers"
copyright = "2026, The Flask-NicePay maintainers"
language = "en"

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.viewcode",
    "nicepay_states",
]
autodoc_typehints = "description"
autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "show-inheritance": True}
# Methods overriding SQLAlchemy's or marshmallow's would otherwise show their
# parents' docstrings, with references to those projects' own docs.
autodoc_inherit_docstrings = False
# Type aliases and third-party classes that autodoc cannot resolve offline.
nitpicky = False
suppress_warnings = ["ref.python"]

html_theme = "alabaster"
html_static_path: list[str] = []
exclude_patterns = ["_build"]
