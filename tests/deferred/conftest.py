"""Fixtures for deferred processing: a standalone sandbox, a shop, its workers.

Each test names its broker (``redis`` by default, ``amqp`` where it says so) and
runs on a SQLite file and on PostgreSQL. Workers are started by the tests
themselves, with :func:`~tests.deferred.stack.workers`, when they want them.
"""

from __future__ import annotations

import typing as t
from pathlib import Path

import pytest
import requests
from flask import Flask

from ..databases import fresh_postgres_engine
from ..databases import postgres_url
from .stack import Shop
from .stack import broker_url
from .stack import sandbox_server

pytest.importorskip("celery")

DATABASES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(scope="module")
def sandbox_url() -> t.Iterator[str]:
    with sandbox_server() as url:
        yield url


@pytest.fixture(params=DATABASES)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'shop.db'}"
    fresh_postgres_engine().dispose()
    return t.cast(str, postgres_url())


@pytest.fixture
def broker_kind() -> str:
    return "redis"


@pytest.fixture
def shop(
    tmp_path: Path, database: str, sandbox_url: str, broker_kind: str
) -> t.Iterator[Shop]:
    made = Shop(tmp_path, database, broker_url(broker_kind), sandbox_url=sandbox_url)
    yield made
    for app in made.apps:
        made.delete_queue(app)
        app.extensions["celery"].close()  # its connections to the broker
        app.extensions["nicepay"].payments.engine.dispose()
    requests.delete(sandbox_url + "/_sandbox/faults", timeout=10)


@pytest.fixture
def app(shop: Shop) -> Flask:
    return shop.app()
