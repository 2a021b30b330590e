"""The console records an action before its call, and pages notifications by index.

``nicepay_console_actions`` gains ``finished_at`` (an action is written
``started`` before its call and finished after it), and, for a reconcile run in
batches, ``run_id`` (the run a batch belongs to) and ``resume_after`` (the last
order done). The outcomes ``done`` and ``error`` are now called ``succeeded`` and
``failed``. ``nicepay_inbox``'s index on ``outcome`` alone becomes two that the
notification list pages by: ``(outcome, id)`` and ``(outcome, kind, id)``.

Revision ID: 0007_console_progress
Revises: 0006_console
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from flask_nicepay.migrations.kit import ID
from flask_nicepay.migrations.kit import OPTIONAL
from flask_nicepay.migrations.kit import TIME
from flask_nicepay.migrations.kit import columns

revision = "0007_console_progress"
down_revision = "0006_console"
branch_labels = None
depends_on = None

_ACTIONS = "nicepay_console_actions"
_NEW_COLUMNS = (
    ("finished_at", TIME, OPTIONAL),
    ("run_id", ID, OPTIONAL),
    ("resume_after", ID, OPTIONAL),
)
_ACTION_INDEXES = {
    "ix_nicepay_console_actions_outcome_id": ["outcome", "id"],
    "ix_nicepay_console_actions_run_id": ["run_id"],
}
_INBOX_INDEXES = {
    "ix_nicepay_inbox_outcome_id": ["outcome", "id"],
    "ix_nicepay_inbox_outcome_kind_id": ["outcome", "kind", "id"],
}
_RENAMED = (("done", "succeeded"), ("error", "failed"))


def _rename_outcomes(pairs: tuple[tuple[str, str], ...]) -> None:
    table = sa.table(_ACTIONS, sa.column("outcome"))
    for old, new in pairs:
        op.execute(table.update().where(table.c.outcome == old).values(outcome=new))


def _present(table: str, what: str) -> set[str]:
    inspector = sa.inspect(op.get_bind())
    found = (
        inspector.get_columns(table)
        if what == "columns"
        else (inspector.get_indexes(table))
    )
    return {str(item["name"]) for item in found}


def upgrade() -> None:
    """Only what is missing: a database ``create_all`` made with these models
    before migrations already has it."""
    have = _present(_ACTIONS, "columns")
    for column in columns(_NEW_COLUMNS):
        if column.name not in have:
            op.add_column(_ACTIONS, column)
    op.execute(
        "UPDATE nicepay_console_actions SET finished_at = created_at "
        "WHERE finished_at IS NULL"
    )
    _rename_outcomes(_RENAMED)
    _create_missing(_ACTIONS, _ACTION_INDEXES)
    if "ix_nicepay_inbox_outcome" in _present("nicepay_inbox", "indexes"):
        op.drop_index("ix_nicepay_inbox_outcome", table_name="nicepay_inbox")
    _create_missing("nicepay_inbox", _INBOX_INDEXES)


def _create_missing(table: str, indexes: dict[str, list[str]]) -> None:
    have = _present(table, "indexes")
    for name, names in indexes.items():
        if name not in have:
            op.create_index(name, table, names)


def downgrade() -> None:
    for name in _INBOX_INDEXES:
        op.drop_index(name, table_name="nicepay_inbox")
    op.create_index("ix_nicepay_inbox_outcome", "nicepay_inbox", ["outcome"])
    for name in _ACTION_INDEXES:
        op.drop_index(name, table_name=_ACTIONS)
    # An action cut short by a dead process ends as failed in the old words.
    back = (("succeeded", "done"), ("failed", "error"), ("started", "error"))
    _rename_outcomes((*back, ("stopped", "done")))
    with op.batch_alter_table(_ACTIONS) as batch:
        for name, _, _ in _NEW_COLUMNS:
            batch.drop_column(name)
