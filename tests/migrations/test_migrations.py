"""The plugin's migrations take every database it ever made to the models.

On a SQLite file and on PostgreSQL: the first revision is release 0.1.0's schema;
a database 0.1.0 made (no version recorded) upgrades to exactly the models, its
rows kept; downgrades go back the same way. ``test_the_revisions_reach_the_models``
is the guard for whoever changes :mod:`flask_nicepay.tables`: it fails until a
revision does the same change (see docs/migrations.rst).
"""

from __future__ import annotations

import datetime as dt
import itertools
import pathlib
import typing as t

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Engine

from flask_nicepay import migrations
from flask_nicepay import tables
from flask_nicepay.db import create_tables
from flask_nicepay.db import make_engine

from ..databases import drop_plugin_tables
from ..databases import postgres_url
from . import release_0_1_0

NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
#: A webhook body as 0.1.0 stored it: text, Korean included.
BODY = '{"imp_uid": "imp_1", "merchant_uid": "m_1", "status": "paid", "메모": "가"}'


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty(request: pytest.FixtureRequest, tmp_path: pathlib.Path) -> t.Iterator[Engine]:
    """A database with none of the plugin's tables: a SQLite file, then PostgreSQL."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'migrated.db'}")
    else:
        url = postgres_url()
        if url is None:
            pytest.skip("PostgreSQL tests need NICEPAY_TEST_POSTGRES_URL")
        engine = make_engine(url)
        drop_plugin_tables(engine)
    yield engine
    if request.param == "postgres":
        drop_plugin_tables(engine)
    engine.dispose()


def differences(engine: Engine, metadata: sa.MetaData) -> list[t.Any]:
    """What Alembic's autogenerate would write to make the database ``metadata``."""
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={
                "include_name": migrations.plugin_tables_only,
                "compare_type": True,
                "version_table": migrations.VERSION_TABLE,
            },
        )
        return list(compare_metadata(context, metadata))


def make_0_1_0(engine: Engine) -> None:
    """The tables 0.1.0 created, with an order and a webhook in them."""
    release_0_1_0.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(sa.insert(release_0_1_0.orders), [_order()])
        conn.execute(sa.insert(release_0_1_0.inbox), [_inbox()])


def _order() -> dict[str, t.Any]:
    return {
        "merchant_uid": "m_1",
        "state": "paid",
        "version": 3,
        "amount": 15000,
        "currency": "KRW",
        "name": "커피 원두",
        "origin": "checkout",
        "imp_uid": "imp_1",
        "paid_amount": 15000,
        "cancelled_amount": 0,
        "late_payment": False,
        "prepared": True,
        "created_at": NOW,
        "updated_at": NOW,
    }


def _inbox() -> dict[str, t.Any]:
    return {
        "kind": "webhook",
        "received_at": NOW,
        "body": BODY,
        "body_truncated": False,
        "outcome": "applied",
        "attempts": 1,
    }


def test_the_first_revision_is_release_0_1_0(empty: Engine) -> None:
    migrations.upgrade(empty, migrations.FIRST)
    assert migrations.current(empty) == migrations.FIRST
    assert differences(empty, release_0_1_0.metadata) == []


def test_the_revisions_reach_the_models(empty: Engine) -> None:
    """Run every revision from 0.1.0 up: the result is the models, nothing less.

    If this fails, :mod:`flask_nicepay.tables` changed with no revision: write
    one (``flask nicepay db revision -m "what it does"``, docs/migrations.rst).
    """
    migrations.upgrade(empty, migrations.FIRST)
    migrations.upgrade(empty)
    assert migrations.current(empty) == migrations.head()
    assert differences(empty, tables.metadata) == []


def test_a_database_made_by_0_1_0_upgrades_with_its_rows(empty: Engine) -> None:
    make_0_1_0(empty)
    assert migrations.current(empty) is None  # 0.1.0 recorded no version

    migrations.upgrade(empty)

    assert migrations.current(empty) == migrations.head()
    assert differences(empty, tables.metadata) == []
    with empty.connect() as conn:
        body = conn.execute(sa.select(tables.inbox.c.body)).scalar_one()
        order = conn.execute(sa.select(tables.orders)).mappings().one()
    assert body == BODY.encode()
    assert (order["merchant_uid"], order["amount"], order["name"]) == (
        "m_1",
        15000,
        "커피 원두",
    )
    assert order["paid_at"] is None and order["created_at"] == NOW


def test_tables_init_db_added_before_migrations_are_kept(empty: Engine) -> None:
    """``init-db`` used to add new tables to a 0.1.0 database, leaving the inbox
    body text: the upgrade converts the body and keeps the tables and their rows."""
    make_0_1_0(empty)
    create_tables(empty, tables.metadata)
    with empty.begin() as conn:
        row = {"customer_uid": "c_1", "outcome": "issued", "attempted_at": NOW}
        conn.execute(sa.insert(tables.card_attempts), [row])

    migrations.upgrade(empty)

    assert differences(empty, tables.metadata) == []
    with empty.connect() as conn:
        assert (
            conn.execute(sa.select(tables.inbox.c.body)).scalar_one() == BODY.encode()
        )
        kept = conn.execute(sa.select(tables.card_attempts.c.customer_uid)).all()
    assert kept == [("c_1",)]


def test_tables_made_just_before_migrations_are_taken_as_they_are(
    empty: Engine,
) -> None:
    """A database ``create_all`` made with the models of the release before
    migrations has every table and no version: the upgrade finds nothing to do."""
    create_tables(empty, tables.metadata)
    migrations.upgrade(empty)
    assert migrations.current(empty) == migrations.head()
    assert differences(empty, tables.metadata) == []


def test_an_empty_database_is_created_at_head(empty: Engine) -> None:
    migrations.upgrade(empty)
    migrations.upgrade(empty)  # twice is nothing
    assert migrations.current(empty) == migrations.head()
    assert differences(empty, tables.metadata) == []


def test_downgrades_go_back_to_0_1_0_and_to_nothing(empty: Engine) -> None:
    make_0_1_0(empty)
    migrations.upgrade(empty)

    migrations.downgrade(empty, migrations.FIRST)
    assert differences(empty, release_0_1_0.metadata) == []
    with empty.connect() as conn:
        assert conn.execute(sa.select(release_0_1_0.inbox.c.body)).scalar_one() == BODY

    migrations.downgrade(empty, "base")
    assert sa.inspect(empty).get_table_names() == [migrations.VERSION_TABLE]
    migrations.upgrade(empty)
    assert differences(empty, tables.metadata) == []


def test_a_store_s_own_autogenerate_leaves_the_plugin_alone(empty: Engine) -> None:
    """With :func:`~flask_nicepay.migrations.skip_plugin_tables` a store's own
    Alembic sees its tables only: no ``drop_table`` for the plugin's."""
    store = sa.MetaData()
    sa.Table("shop_orders", store, sa.Column("id", sa.Integer, primary_key=True))
    store.create_all(empty)
    migrations.upgrade(empty)

    def store_differences(**opts: t.Any) -> list[t.Any]:
        with empty.connect() as conn:
            context = MigrationContext.configure(conn, opts=opts)
            return list(compare_metadata(context, store))

    try:
        assert store_differences(include_name=migrations.skip_plugin_tables) == []
        dropped = {d[1].name for d in store_differences() if d[0] == "remove_table"}
    finally:
        store.drop_all(empty)
    assert dropped == {*tables.metadata.tables, migrations.VERSION_TABLE}


def test_history_lists_the_revisions_in_order() -> None:
    found = migrations.history()
    assert found[0].id == migrations.FIRST
    assert found[-1].id == migrations.head()
    pairs = itertools.pairwise(found)
    assert all(later.down == earlier.id for earlier, later in pairs)
    assert all(r.message and not r.message.startswith("Revision") for r in found)


def test_a_new_revision_is_numbered_after_the_head() -> None:
    number = int(migrations.head().split("_")[0]) + 1
    found = migrations._next_id("Inbox: the sender's port!")
    assert found == f"{number:04d}_inbox_the_sender_s_port"
    assert len(migrations._next_id("x" * 80)) == 32  # what the version column holds
