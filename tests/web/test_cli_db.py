"""``flask nicepay db …``: the plugin's migrations, on the app's plugin engine."""

from __future__ import annotations

import sqlalchemy as sa
from click.testing import Result
from flask import Flask

from flask_nicepay import migrations
from flask_nicepay import tables

from ..migrations import release_0_1_0
from .webshop import LiveFactory
from .webshop import state


def db(app: Flask, *args: str) -> Result:
    result = app.test_cli_runner().invoke(args=["nicepay", "db", *args])
    assert "Traceback" not in result.output
    return result


def live_app_without_tables(make_live_app: LiveFactory) -> Flask:
    app = make_live_app({"NICEPAY_CREATE_TABLES": None})  # live: not created at start
    assert sa.inspect(state(app).payments.engine).get_table_names() == []
    return app


def test_upgrade_creates_the_tables_at_head(make_live_app: LiveFactory) -> None:
    app = live_app_without_tables(make_live_app)
    assert (
        db(app, "current").output == "No tables yet; run `flask nicepay db upgrade`.\n"
    )

    result = db(app, "upgrade")

    assert result.exit_code == 0
    assert result.output == f"The plugin's tables are at {migrations.head()}.\n"
    assert db(app, "current").output == f"{migrations.head()} (head)\n"
    names = set(sa.inspect(state(app).payments.engine).get_table_names())
    assert names == {*tables.metadata.tables, migrations.VERSION_TABLE}


def test_a_0_1_0_database_is_named_then_upgraded(make_live_app: LiveFactory) -> None:
    app = live_app_without_tables(make_live_app)
    engine = state(app).payments.engine
    release_0_1_0.metadata.create_all(engine)
    assert migrations.FIRST in db(app, "current").output

    assert db(app, "upgrade", migrations.FIRST).exit_code == 0
    assert db(app, "current").output == (
        f"{migrations.FIRST} (newest: {migrations.head()})\n"
    )
    assert db(app, "upgrade").exit_code == 0
    assert db(app, "current").output == f"{migrations.head()} (head)\n"


def test_downgrade_to_base_drops_the_tables(make_live_app: LiveFactory) -> None:
    app = live_app_without_tables(make_live_app)
    db(app, "upgrade")

    result = db(app, "downgrade", "base")

    assert result.exit_code == 0
    assert result.output == "The plugin's tables are at base.\n"
    names = sa.inspect(state(app).payments.engine).get_table_names()
    assert names == [migrations.VERSION_TABLE]


def test_an_unknown_revision_is_a_clear_error(make_live_app: LiveFactory) -> None:
    app = live_app_without_tables(make_live_app)
    result = db(app, "upgrade", "9999_nothing")
    assert result.exit_code != 0
    assert "9999_nothing" in result.output


def test_history_lists_every_revision(make_live_app: LiveFactory) -> None:
    result = db(make_live_app(), "history")
    lines = result.output.splitlines()
    assert [line.split()[0] for line in lines] == [r.id for r in migrations.history()]
    assert lines[0].startswith(f"{migrations.FIRST}  The tables of the first release")


def test_doctor_finds_tables_behind_the_release(make_live_app: LiveFactory) -> None:
    app = live_app_without_tables(make_live_app)
    db(app, "upgrade", migrations.FIRST)
    result = db(app, "--help")  # the group itself answers
    assert result.exit_code == 0

    doctor = app.test_cli_runner().invoke(args=["nicepay", "doctor"])
    assert doctor.exit_code == 1
    assert (
        f"[ERROR] The plugin's tables are at {migrations.FIRST}; this release needs "
        f"{migrations.head()}." in doctor.output
    )
    db(app, "upgrade")
    doctor = app.test_cli_runner().invoke(args=["nicepay", "doctor"])
    assert "[OK   ] Database ready (sqlite)." in doctor.output
