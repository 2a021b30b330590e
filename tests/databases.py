"""The databases the tests run on: a SQLite file, and PostgreSQL when configured."""

from __future__ import annotations

import os
import typing as t

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from flask_nicepay import migrations
from flask_nicepay import tables
from flask_nicepay.db import make_engine

POSTGRES_ENV = "NICEPAY_TEST_POSTGRES_URL"


def postgres_url() -> str | None:
    """The PostgreSQL to test against, from the environment (set by .ci/run)."""
    return os.environ.get(POSTGRES_ENV) or None


def fresh_postgres_engine(**kwargs: t.Any) -> Engine:
    """An engine on the test PostgreSQL with the plugin's tables empty.

    Skips when no PostgreSQL is configured; fails (does not skip) when one is
    configured but cannot be reached, so CI cannot pass without it.
    """
    url = postgres_url()
    if url is None:
        pytest.skip(
            f"PostgreSQL tests need {POSTGRES_ENV} (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)"
        )
    engine = make_engine(url, **kwargs)
    with engine.connect() as conn:
        conn.execute(sa.text("select 1"))
    drop_plugin_tables(engine)
    migrations.upgrade(engine)
    return engine


def drop_plugin_tables(engine: Engine) -> None:
    """Drop every ``nicepay_*`` table, the migrations' version table included.

    On PostgreSQL, every table of the test database's schema goes: the example
    store's tests leave their own (``shop_*``), which the migration tests would
    otherwise meet.
    """
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            names = conn.execute(_TABLES_HERE).scalars().all()
            if names:
                listed = ", ".join(f'"{name}"' for name in names)
                conn.execute(sa.text(f"DROP TABLE IF EXISTS {listed} CASCADE"))
        return
    tables.metadata.drop_all(engine)
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP TABLE IF EXISTS {migrations.VERSION_TABLE}"))


_TABLES_HERE = sa.text(
    "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
)
