"""Imports point one way: no module of the package imports itself back.

The graph is read from the source with ``ast``: module-level imports and imports
inside functions alike, leaving out ``if TYPE_CHECKING:`` blocks (annotations
only, never run) for the cycle test. The sandbox's layers count those blocks too:
an annotation that names a layer above is still a dependency on it.
"""

from __future__ import annotations

import ast
import typing as t
from pathlib import Path

import flask_nicepay

ROOT = Path(flask_nicepay.__file__).parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING") or (
        isinstance(test, ast.Name) and test.id == "TYPE_CHECKING"
    )


def _imports(
    path: Path, name: str, modules: t.Collection[str], *, type_checking: bool
) -> set[str]:
    """What ``name`` imports: a submodule named in ``from pkg import sub`` counts as
    itself, any other name as its package."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    skipped: set[int] = set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _is_type_checking(node) and not type_checking:
            skipped.update(id(inner) for inner in ast.walk(node))
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.add(sub if sub in modules else base)
    return found


def graph(*, type_checking: bool = False) -> dict[str, set[str]]:
    """Module to the package's modules it imports.

    :param type_checking: count imports under ``if TYPE_CHECKING:`` as well.
    """
    modules = {_module_name(p): p for p in ROOT.rglob("*.py")}
    return {
        name: {
            m
            for m in _imports(path, name, modules, type_checking=type_checking)
            if m in modules and m != name
        }
        for name, path in modules.items()
    }


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for after in sorted(edges[node]):
            if after not in index:
                visit(after)
                low[node] = min(low[node], low[after])
            elif after in stack:
                low[node] = min(low[node], index[after])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return groups


def test_the_package_has_no_import_cycle() -> None:
    assert cycles(graph()) == []


def test_the_web_layer_imports_down_only() -> None:
    edges = graph()
    for module in ("views", "cli", "doctor", "state"):
        assert "flask_nicepay.extension" not in edges[f"flask_nicepay.{module}"]


SANDBOX = "flask_nicepay.sandbox"
#: The sandbox's layers, lowest first; its root package sits above them all.
SANDBOX_LAYERS = ("model", "engine", "http")


def _sandbox_floor(module: str) -> int | None:
    """Where a module sits in the sandbox: a layer's index, or None outside it."""
    if module != SANDBOX and not module.startswith(SANDBOX + "."):
        return None
    parts = module.split(".")
    top = parts[2] if len(parts) > 2 else None
    return SANDBOX_LAYERS.index(top) if top in SANDBOX_LAYERS else len(SANDBOX_LAYERS)


def back_imports(edges: dict[str, set[str]]) -> list[tuple[str, str]]:
    """Every import from a sandbox layer to a layer above it (or to its root)."""
    found = []
    for importer, imported in edges.items():
        floor = _sandbox_floor(importer)
        if floor is None or floor == len(SANDBOX_LAYERS):
            continue
        for module in imported:
            above = _sandbox_floor(module)
            if above is not None and above > floor:
                found.append((importer, module))
    return sorted(found)


def test_the_sandbox_layers_import_down_only() -> None:
    assert back_imports(graph(type_checking=True)) == []


def test_the_sandbox_has_no_cycle_even_in_annotations() -> None:
    edges = graph(type_checking=True)
    assert [group for group in cycles(edges) if group[0].startswith(SANDBOX)] == []


def test_every_sandbox_module_sits_in_a_layer() -> None:
    loose = {
        name
        for name in graph()
        if _sandbox_floor(name) == len(SANDBOX_LAYERS)
        and name not in (SANDBOX, f"{SANDBOX}.__main__")
    }
    assert loose == set()


def test_sandbox_module_names_are_unique_in_the_package() -> None:
    names = [
        p.stem for p in ROOT.rglob("*.py") if p.stem not in ("__init__", "__main__")
    ]
    inside = {p.stem for p in (ROOT / "sandbox").rglob("*.py")}
    shared = sorted({n for n in names if n in inside and names.count(n) > 1})
    assert shared == []


def test_the_layer_check_finds_a_back_import() -> None:
    edges = {
        f"{SANDBOX}.model.records": {f"{SANDBOX}.engine.payments"},
        f"{SANDBOX}.engine.payments": {f"{SANDBOX}.model.records"},
        f"{SANDBOX}.engine.account": {SANDBOX},
        f"{SANDBOX}.http.rest_api": {f"{SANDBOX}.engine.payments"},
        SANDBOX: {f"{SANDBOX}.http.rest_api"},
    }
    assert back_imports(edges) == [
        (f"{SANDBOX}.engine.account", SANDBOX),
        (f"{SANDBOX}.model.records", f"{SANDBOX}.engine.payments"),
    ]


def test_the_cycle_finder_finds_a_cycle() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(edges) == [["a", "b", "c"]]


def test_module_names_are_unique_across_the_repository() -> None:
    """A newcomer opening ``ledger.py`` knows which one it is: no two modules of
    the package, its tests or the benchmarks share a file name (``__init__.py``
    and ``conftest.py`` aside)."""
    repository = ROOT.parent
    seen: dict[str, list[str]] = {}
    for folder in ("flask_nicepay", "tests", "bench", "example_app"):
        for path in (repository / folder).rglob("*.py"):
            if (
                path.name not in ("__init__.py", "conftest.py")
                and ".venv" not in path.parts
            ):
                seen.setdefault(path.name, []).append(str(path.relative_to(repository)))
    assert {name: paths for name, paths in seen.items() if len(paths) > 1} == {}
