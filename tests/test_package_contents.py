"""The distributions hold what a store and a packager need: the wheel the
templates, static files and ``py.typed``; the sdist the licence, tests, docs and
example store; the metadata the licence, classifiers, project URLs and extras."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import typing as t
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: What a working tree holds that no distribution is built from.
LEFT_OVERS = (
    ".git",
    ".venv",
    "*.egg-info",
    "_build",
    "build",
    "dist",
    "instance",
    "test-artifacts",
    "__pycache__",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    ".hypothesis",
)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Build as a packager does, from a clean copy of the tree (a left-over
    ``*.egg-info`` would otherwise decide what the sdist holds): the sdist, then
    the wheel from the sdist alone."""
    out = tmp_path_factory.mktemp("dist")
    source = tmp_path_factory.mktemp("source") / "tree"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*LEFT_OVERS))
    done = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(source)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    [sdist] = out.glob("*.tar.gz")
    [wheel] = out.glob("*.whl")
    return {"sdist": sdist, "wheel": wheel}


def wheel_names(built: dict[str, Path]) -> set[str]:
    with zipfile.ZipFile(built["wheel"]) as wheel:
        return set(wheel.namelist())


def test_the_wheel_holds_what_the_package_reads_at_run_time(
    built: dict[str, Path],
) -> None:
    names = wheel_names(built)
    wanted = [
        "flask_nicepay/py.typed",
        "flask_nicepay/templates/nicepay/checkout.html",
        "flask_nicepay/templates/nicepay/card_register.html",
        "flask_nicepay/templates/nicepay/_card_fields.html",
        "flask_nicepay/static/nicepay/nicepay.css",
        "flask_nicepay/static/nicepay/console.js",
        "flask_nicepay/templates/nicepay/console/reconcile.html",
        "flask_nicepay/sandbox/static/iamport.js",
        "flask_nicepay/subscriptions.py",
        "pytest_flask_nicepay.py",
        "flask_nicepay/migrations/env.py",
        "flask_nicepay/migrations/script.py.mako",
        "flask_nicepay/migrations/versions/0001_first_release.py",
    ]
    assert [name for name in wanted if name not in names] == []
    # Only the package: no tests, example store or docs in the wheel.
    assert not [n for n in names if n.startswith(("tests/", "example_app/", "docs/"))]


def test_the_metadata_says_what_the_package_is(built: dict[str, Path]) -> None:
    with zipfile.ZipFile(built["wheel"]) as wheel:
        [meta] = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
        licence = [n for n in wheel.namelist() if n.endswith("LICENSE")]
        message = Parser().parsestr(wheel.read(meta).decode())
    classifiers = message.get_all("Classifier") or []
    for wanted in (
        "License :: OSI Approved :: BSD License",
        "Framework :: Flask",
        "Programming Language :: Python :: 3.11",
        "Programming Language :: Python :: 3.13",
    ):
        assert wanted in classifiers
    assert any(c.startswith("Development Status") for c in classifiers)
    urls = " ".join(message.get_all("Project-URL") or [])
    for label in ("Documentation", "Changes", "Issues"):
        assert label in urls
    extras = set(message.get_all("Provides-Extra") or [])
    assert {"docs", "testing", "postgres", "test", "dev"} <= extras
    assert licence, "the licence file travels with the wheel"
    with zipfile.ZipFile(built["wheel"]) as wheel:
        [points] = [n for n in wheel.namelist() if n.endswith("entry_points.txt")]
        entry_points = wheel.read(points).decode()
    assert "[pytest11]" in entry_points
    assert "flask_nicepay = pytest_flask_nicepay" in entry_points


def test_the_sdist_holds_the_tests_docs_store_and_licence(
    built: dict[str, Path],
) -> None:
    with tarfile.open(built["sdist"]) as sdist:
        names = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    wanted: t.Iterable[str] = (
        "LICENSE",
        "README.md",
        "setup.cfg",
        "pyproject.toml",
        "tests/conftest.py",
        "tests/test_package_contents.py",
        "docs/conf.py",
        "docs/index.rst",
        "example_app/shop.py",
        "example_app/templates/base.html",
        "flask_nicepay/templates/nicepay/checkout.html",
    )
    assert [name for name in wanted if name not in names] == []
    assert not [n for n in names if n.endswith((".pyc", ".db"))]
