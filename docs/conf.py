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
# Every reference must resolve. The docs build offline, with no intersphinx
# inventory, so references into the standard library and third-party packages are
# listed here, one group per package, and nothing else: a broken reference to the
# package's own objects still fails the build. Where autodoc cannot evaluate a
# signature (a name in it is imported only for type checkers) it shows its
# annotations as written, hence the short names (``Flask``, ``Engine``) and the
# module aliases (``t.``, ``dt.``) in the patterns.
nitpicky = True
nitpick_ignore_regex = [
    # The standard library, also through the aliases the code imports it under
    # (``import typing as t``, ``import datetime as dt``).
    (
        r"py:.*",
        r"(t|collections\.abc|contextlib|enum|decimal|datetime|dt|ipaddress|threading"
        r"|os|pathlib)\..*",
    ),
    # Flask.
    (r"py:.*", r"flask\..*"),
    (r"py:class", r"Flask"),
    # Werkzeug, under Flask.
    (r"py:.*", r"werkzeug\..*"),
    # SQLAlchemy.
    (r"py:.*", r"sqlalchemy\..*"),
    (r"py:class", r"(Engine|Connection)"),
    # requests.
    (r"py:.*", r"requests\..*"),
    # marshmallow, with the aliases of its ``types`` module that the signatures of
    # ``Schema`` and ``Field`` name.
    (r"py:.*", r"marshmallow\..*"),
    (r"py:class", r"Schema"),
    (r"py:class", r"types\.[A-Za-z]+"),
    # itsdangerous.
    (r"py:class", r"URLSafeSerializer"),
    # Alembic.
    (r"py:.*", r"alembic\..*"),
    # transitions.
    (r"py:.*", r"transitions\..*"),
    # Celery (the ``celery`` extra).
    (r"py:.*", r"celery\..*"),
    (r"py:class", r"(Celery|Task)"),
    # The project's private types (a leading underscore): named in signatures,
    # documented nowhere on purpose.
    (r"py:class", r"(flask_nicepay\.[\w.]+\.)?_[A-Za-z]\w*"),
]

# Furo: maintained, and it reads well on a phone (a collapsing sidebar, no fixed width).
html_theme = "furo"
html_static_path: list[str] = []
exclude_patterns = ["_build"]
