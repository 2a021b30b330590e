"""``flask nicepay db …``: the plugin's tables, upgraded by its own migrations.

They work on the app's plugin engine (:data:`~flask_nicepay.config.NICEPAY_DATABASE_URI`
or the engine given to :class:`~flask_nicepay.NicePay`) and record their revisions in
``nicepay_alembic_version``, beside whatever the store's own ``flask db`` keeps.
"""

from __future__ import annotations

import contextlib
import typing as t

import click
from flask.cli import with_appcontext

from . import migrations
from .cli import nicepay_cli
from .state import app_state


@contextlib.contextmanager
def _alembic_says() -> t.Iterator[None]:
    """Alembic's refusals (an unknown revision, say) as a one-line error."""
    from alembic.util import CommandError  # Alembic loads only when asked to

    try:
        yield
    except CommandError as exc:
        raise click.ClickException(str(exc)) from exc


@nicepay_cli.group("db")
def db() -> None:
    """The plugin's tables: upgrade, current, history."""


@db.command("upgrade")
@click.argument("revision", default="head")
@with_appcontext
def upgrade(revision: str) -> None:
    """Upgrade the plugin's tables to REVISION (default: the newest)."""
    engine = app_state().payments.engine
    with _alembic_says():
        migrations.upgrade(engine, revision)
    click.echo(f"The plugin's tables are at {migrations.current(engine)}.")


@db.command("downgrade")
@click.argument("revision")
@with_appcontext
def downgrade(revision: str) -> None:
    """Take the plugin's tables back to REVISION ("base": drop them all)."""
    engine = app_state().payments.engine
    with _alembic_says():
        migrations.downgrade(engine, revision)
    click.echo(f"The plugin's tables are at {migrations.current(engine) or 'base'}.")


@db.command("current")
@with_appcontext
def current() -> None:
    """The revision the plugin's tables are at, and whether it is the newest."""
    engine = app_state().payments.engine
    with engine.connect() as conn:
        found, tables = migrations.current(conn), migrations.has_plugin_tables(conn)
    if found is None:
        click.echo(
            "No revision recorded: tables from before migrations, taken to be at "
            f"{migrations.FIRST}; run `flask nicepay db upgrade`."
            if tables
            else "No tables yet; run `flask nicepay db upgrade`."
        )
        return
    behind = "" if found == migrations.head() else f" (newest: {migrations.head()})"
    click.echo(f"{found}{behind or ' (head)'}")


@db.command("history")
def history() -> None:
    """Every revision of the plugin's tables, the first first."""
    for revision in migrations.history():
        click.echo(f"{revision.id}  {revision.message}")


@db.command("revision")
@click.option("-m", "--message", required=True, help="What it does, in a few words.")
def revision(message: str) -> None:
    """Write a revision for what the models have and the revisions lack.

    For the plugin's own development: the revisions are run on an in-memory
    SQLite database, which is then compared with the models.
    """
    with _alembic_says():
        path = migrations.new_revision(message)
    click.echo(f"Wrote {path}; read it, then run ruff format on it.")
