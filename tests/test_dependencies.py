"""Every distribution the code imports is declared in setup.cfg, with a lower bound.

An import that works only because something else happens to install the package
(urllib3 through requests, Werkzeug through Flask) breaks the day that something
changes its own requirements. So each file's imports are read with :mod:`ast`,
mapped to distributions with :func:`importlib.metadata.packages_distributions`,
and checked against what setup.cfg declares for that kind of file: the package
against ``install_requires``, the tests, benchmarks, example app and docs against
``install_requires`` plus the extras they are run with.
"""

from __future__ import annotations

import ast
import configparser
import functools
import importlib.metadata
import pathlib
import re
import sys
import typing as t

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
#: The extras each part of the tree may use besides ``install_requires``.
EXTRAS = {
    "flask_nicepay": (),
    "tests": ("test",),
    "bench": ("test",),
    "example_app": ("test",),
    "docs/conf.py": ("dev",),
}
#: Package modules that only work with an extra installed, and which extra.
OPTIONAL_MODULES = {
    "flask_nicepay/testing.py": ("testing",),
    "flask_nicepay/tasks.py": ("celery",),
}
#: Calls that import the module named by their first argument.
IMPORTING_CALLS = {"importorskip", "import_module", "__import__"}
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*(.*)$")


def normalise(name: str) -> str:
    """A distribution name as PEP 503 compares them."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _setup_cfg() -> configparser.ConfigParser:
    parser = configparser.ConfigParser()
    parser.read(ROOT / "setup.cfg", encoding="utf-8")
    return parser


def requirement_lines(value: str) -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in value.splitlines())
    return [line for line in lines if line]


def _requirement(line: str) -> tuple[str, list[str]]:
    """The normalised name of a requirement line and the extras it asks for."""
    match = _NAME.match(line)
    assert match, f"cannot read requirement {line!r}"
    extras = (match.group(2) or "[]").strip("[]").split(",")
    return normalise(match.group(1)), [e.strip() for e in extras if e.strip()]


@functools.cache
def declared(extras: tuple[str, ...]) -> set[str]:
    """Distributions ``install_requires`` and ``extras`` bring, extras expanded."""
    config = _setup_cfg()
    own = normalise(config["metadata"]["name"])
    sections = {"": config["options"]["install_requires"]}
    sections.update(config["options.extras_require"])
    pending, seen, names = ["", *extras], set(), set()
    while pending:
        section = pending.pop()
        if section in seen:
            continue
        seen.add(section)
        for line in requirement_lines(sections[section]):
            name, wanted = _requirement(line)
            if name == own:  # "Flask-NicePay[test]": this project's own extra
                pending.extend(wanted)
            else:
                names.add(name)
    return names


def _type_checking_only(node: ast.AST) -> bool:
    test = node.test if isinstance(node, ast.If) else None
    return isinstance(test, ast.Name | ast.Attribute) and (
        getattr(test, "id", None) == "TYPE_CHECKING"
        or getattr(test, "attr", None) == "TYPE_CHECKING"
    )


def imported_names(tree: ast.AST) -> set[str]:
    """Top-level names of absolute imports, leaving out ``if TYPE_CHECKING`` ones."""
    names: set[str] = set()
    for node in ast.iter_child_nodes(tree):
        if _type_checking_only(node):
            continue
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            names.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and _importing_call(node):
            names.add(t.cast(ast.Constant, node.args[0]).value.split(".")[0])
        names |= imported_names(node)
    return names


def _importing_call(node: ast.Call) -> bool:
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    first = node.args[0] if node.args else None
    return (
        name in IMPORTING_CALLS
        and isinstance(first, ast.Constant)
        and (isinstance(first.value, str) and not first.value.startswith("."))
    )


def _local(name: str, path: pathlib.Path) -> bool:
    """A module of this tree (``tests``, ``example_app``, a bench helper)."""
    return any(
        (where / name).is_dir() or (where / f"{name}.py").is_file()
        for where in (ROOT, path.parent)
    )


def third_party(path: pathlib.Path) -> set[str]:
    """Top-level names ``path`` imports from installed distributions."""
    names = imported_names(ast.parse(path.read_text(encoding="utf-8")))
    return {
        name
        for name in names
        if name not in sys.stdlib_module_names
        and name != "__future__"
        and not _local(name, path)
    }


def python_files(part: str) -> list[pathlib.Path]:
    where = ROOT / part
    return [where] if where.is_file() else sorted(where.rglob("*.py"))


@functools.cache
def _providers() -> t.Mapping[str, list[str]]:
    return importlib.metadata.packages_distributions()


def undeclared(path: pathlib.Path, allowed: set[str]) -> list[str]:
    """Imports of ``path`` that no declared distribution provides."""
    providers = _providers()
    missing = []
    for name in sorted(third_party(path)):
        dists = {normalise(d) for d in providers.get(name, [])}
        if not dists:
            missing.append(f"{name} (not installed, so no distribution is known)")
        elif not dists & allowed:
            missing.append(f"{name} (from {', '.join(sorted(dists))})")
    return missing


@pytest.mark.parametrize("part", sorted(EXTRAS))
def test_every_import_is_declared(part: str) -> None:
    problems = []
    for path in python_files(part):
        relative = path.relative_to(ROOT).as_posix()
        extras = EXTRAS[part] + OPTIONAL_MODULES.get(relative, ())
        for missing in undeclared(path, declared(extras)):
            problems.append(f"{relative}: {missing}")
    assert not problems, "declare these in setup.cfg:\n" + "\n".join(problems)


def test_every_requirement_has_a_lower_bound() -> None:
    config = _setup_cfg()
    own = normalise(config["metadata"]["name"])
    sections = {"install_requires": config["options"]["install_requires"]}
    sections.update(config["options.extras_require"])
    unbounded = [
        f"{section}: {line}"
        for section, value in sections.items()
        for line in requirement_lines(value)
        if ">=" not in line and _requirement(line)[0] != own
    ]
    assert not unbounded, "give these a lower bound:\n" + "\n".join(unbounded)


def test_the_scan_sees_what_it_must() -> None:
    """The reader finds nested and dynamic imports and skips typing-only ones."""
    tree = ast.parse(
        "import a.b\nfrom c import d\nfrom . import e\n"
        "def f():\n    import g\n    pytest.importorskip('h.i')\n"
        "if t.TYPE_CHECKING:\n    import j\n"
    )
    assert imported_names(tree) == {"a", "c", "g", "h"}
