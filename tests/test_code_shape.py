"""The package stays easy to read: small modules, short functions.

A module of the package over 400 lines, or a function over 40 (from ``def`` to its
last line, docstring included), fails here. Templates and static files are not
Python and do not count.
"""

from __future__ import annotations

import ast
from pathlib import Path

import flask_nicepay

ROOT = Path(flask_nicepay.__file__).parent
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 40


def _modules() -> list[Path]:
    return sorted(ROOT.rglob("*.py"))


def test_no_module_is_over_400_lines() -> None:
    long = {
        str(path.relative_to(ROOT)): n
        for path in _modules()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}


def test_no_function_is_over_40_lines() -> None:
    long: dict[str, int] = {}
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long[f"{path.relative_to(ROOT)}:{node.lineno} {node.name}"] = lines
    assert long == {}
