"""Fixtures shared by every test module."""

from __future__ import annotations

import typing as t

import pytest
from sqlalchemy.engine import Engine

from flask_nicepay import migrations
from flask_nicepay.db import make_engine

from .databases import fresh_postgres_engine

# The fixtures a store's tests get (nicepay_sandbox, ...) come from the pytest11
# entry point of the installed package, as they do in a store's own suite: listing
# pytest_flask_nicepay here as well would register it twice.


@pytest.fixture
def pg_engine() -> t.Iterator[Engine]:
    engine = fresh_postgres_engine()
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_engine(request: pytest.FixtureRequest, tmp_path: t.Any) -> t.Iterator[Engine]:
    """A real database with the plugin's tables: a SQLite file, then PostgreSQL."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'nicepay.db'}")
        migrations.upgrade(engine)
    else:
        engine = fresh_postgres_engine()
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def browser() -> t.Iterator[t.Any]:
    """One Chromium for the whole run (see tests/chromium.py)."""
    from .chromium import launch

    yield from launch()
