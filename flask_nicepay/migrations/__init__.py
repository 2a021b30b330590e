"""The plugin's Alembic migrations, shipped with it, on their own version table.

The revisions under ``versions/`` take the ``nicepay_*`` tables from the schema of
the first release (0.1.0) to the models of :mod:`flask_nicepay.tables`. They are
recorded in :data:`VERSION_TABLE`, not in ``alembic_version``, so they live beside
a store's own Alembic or Flask-Migrate history without touching it.

Every change runs in :func:`flask_nicepay.db.schema_transaction`: many processes
upgrading at once take turns, and whoever comes second finds nothing left to do.

Alembic is imported by the functions that use it, not with this module: ``import
flask_nicepay`` does not load it, and a worker that never upgrades never does.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import re
import typing as t
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.engine import Engine

from .. import tables
from ..db import make_engine
from ..db import schema_transaction

if t.TYPE_CHECKING:
    import alembic.config
    import alembic.runtime.migration
    import alembic.script

# Alembic says at INFO which database backend it found and, in recent releases,
# which of its plugins it set up, at every start-up that checks the tables (every
# worker, every CLI command, --help included). That describes nothing an operator
# acts on; its warnings and errors still show. A store that wants the lines sets
# the level of ``alembic.runtime`` (or of one of its children) itself.
_ALEMBIC_LOG = logging.getLogger("alembic.runtime")
if _ALEMBIC_LOG.level == logging.NOTSET:
    _ALEMBIC_LOG.setLevel(logging.WARNING)

#: The table that records which of the plugin's revisions a database is at.
VERSION_TABLE = "nicepay_alembic_version"
#: The revision holding the schema of the first release, 0.1.0. A database with
#: the plugin's tables and no :data:`VERSION_TABLE` was made before migrations
#: existed and is taken to be at this revision (see :func:`upgrade`).
FIRST = "0001_first_release"
_HERE = Path(__file__).parent
_PREFIX = "nicepay_"


@dataclasses.dataclass(frozen=True)
class Revision:
    """One of the plugin's revisions, as ``flask nicepay db history`` lists it."""

    #: Its id, such as ``"0002_inbox_body_bytes"``.
    id: str
    #: The revision it follows, ``None`` for the first.
    down: str | None
    #: What it changes: the first line of its docstring.
    message: str


def plugin_tables_only(name: str | None, type_: str, parent_names: t.Any) -> bool:
    """Alembic's ``include_name`` hook that sees only the plugin's tables.

    :param name: the name of a table, column, index or constraint.
    :param type_: what ``name`` names (``"table"``, ``"column"``, …).
    :param parent_names: unused.
    """
    if type_ != "table":
        return True
    return bool(name and name.startswith(_PREFIX) and name != VERSION_TABLE)


def skip_plugin_tables(name: str | None, type_: str, parent_names: t.Any) -> bool:
    """Alembic's ``include_name`` hook for a store's own migrations: everything
    but the plugin's tables, so its autogenerate never proposes dropping them.

    Pass it to ``context.configure(include_name=...)`` in the store's ``env.py``,
    or to Flask-Migrate as ``Migrate(app, db, include_name=skip_plugin_tables)``.

    :param name: the name of a table, column, index or constraint.
    :param type_: what ``name`` names (``"table"``, ``"column"``, …).
    :param parent_names: unused.
    """
    return type_ != "table" or not (name and name.startswith(_PREFIX))


def alembic_config(connection: Connection | None = None) -> alembic.config.Config:
    """An Alembic :class:`~alembic.config.Config` for the plugin's revisions.

    :param connection: the connection its ``env.py`` migrates on, in the
        transaction already begun on it.
    """
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_HERE))
    # A new revision's file is named by its id: versions/0005_what_it_does.py.
    config.set_main_option("file_template", "%%(rev)s")
    config.attributes["connection"] = connection
    return config


@functools.cache
def scripts() -> alembic.script.ScriptDirectory:
    """The plugin's revisions (read once per process)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config())


def head() -> str:
    """The id of the newest revision: the schema of the models."""
    return t.cast(str, scripts().get_current_head())


def history() -> list[Revision]:
    """Every revision, the first first."""
    found = [
        Revision(
            id=script.revision,
            down=t.cast("str | None", script.down_revision),
            message=(script.doc or "").strip().splitlines()[0],
        )
        for script in scripts().walk_revisions()
    ]
    return found[::-1]


def current(engine: Engine | Connection) -> str | None:
    """The revision the database is at, or ``None`` when it records none.

    :param engine: the plugin's database.
    """
    if isinstance(engine, Connection):
        return _context(engine).get_current_revision()
    with engine.connect() as conn:
        return _context(conn).get_current_revision()


def has_plugin_tables(conn: Connection) -> bool:
    """Whether any ``nicepay_*`` table other than :data:`VERSION_TABLE` exists."""
    names = sa.inspect(conn).get_table_names()
    return any(name in tables.metadata.tables for name in names)


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the plugin's tables to ``revision``, one process at a time.

    An empty database gets the models' tables at once (``create_all``) and is
    stamped at :func:`head`: the test suite proves that equals running every
    revision. A database with the tables and no version recorded was made before
    migrations; it is stamped :data:`FIRST` and upgraded from there (the
    revisions up to ``0005_key_in_payments`` do only what is missing, since
    ``flask nicepay init-db`` used to create new tables by itself).

    :param engine: the plugin's database.
    :param revision: where to go; ``"head"`` for the newest.
    """
    from alembic import command

    with schema_transaction(engine) as conn:
        context, present = _context(conn), has_plugin_tables(conn)
        if not present and revision == "head":
            tables.metadata.create_all(conn)
            context.stamp(scripts(), "head")
            return
        at = context.get_current_revision()
        if present and at == revision == head():
            return  # the common start-up: nothing to do, no env.py to run
        if present and at is None:
            context.stamp(scripts(), FIRST)
        elif not present:  # the tables were dropped, perhaps not their version
            context.stamp(scripts(), "base")
        command.upgrade(alembic_config(conn), revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Take the plugin's tables back to ``revision``, one process at a time.

    :param engine: the plugin's database.
    :param revision: a revision id, or ``"base"`` to drop every table.
    """
    from alembic import command

    with schema_transaction(engine) as conn:
        command.downgrade(alembic_config(conn), revision)


def new_revision(message: str) -> Path:
    """Write a revision with what the models have and the revisions lack.

    For the plugin's developers. A new in-memory SQLite database is taken through
    every revision, then compared with the models (Alembic's autogenerate), so
    what the app's own database holds does not matter. The file lands in
    ``flask_nicepay/migrations/versions/``, named ``<number>_<message>.py``.

    :param message: what the revision does, in a few words.
    :returns: the new file.
    """
    from alembic import command

    engine = make_engine("sqlite://")
    try:
        upgrade(engine, FIRST)
        upgrade(engine)
        with schema_transaction(engine) as conn:
            script = command.revision(
                alembic_config(conn),
                message=message,
                autogenerate=True,
                rev_id=_next_id(message),
            )
    finally:
        engine.dispose()
    scripts.cache_clear()
    return Path(t.cast(t.Any, script).path)


def _next_id(message: str) -> str:
    number = int(head().split("_", 1)[0]) + 1
    slug = re.sub(r"[^a-z0-9]+", "_", message.lower()).strip("_")
    # Alembic's version column holds 32 characters.
    return f"{number:04d}_{slug}"[:32].rstrip("_")


def _context(conn: Connection) -> alembic.runtime.migration.MigrationContext:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
