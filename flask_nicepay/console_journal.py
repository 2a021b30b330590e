"""The record of what operators did: ``nicepay_console_actions``.

An action is written ``started`` before its call and finished after it
(``succeeded``, ``refused``, ``failed``), so an action whose process died in the
middle of the call is still there, still ``started``, for an operator to see and
check. Errors are stored redacted: card-number shapes masked, cut at 2,000
characters.
"""

from __future__ import annotations

import json
import typing as t

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.engine import RowMapping

from . import tables
from .console_queries import newest_first
from .db import execute_alone
from .portone.redact import redact

STARTED = "started"
SUCCEEDED = "succeeded"
REFUSED = "refused"
FAILED = "failed"
#: A reconcile run the operator stopped before it was through.
STOPPED = "stopped"
OUTCOMES = (STARTED, SUCCEEDED, REFUSED, FAILED, STOPPED)
_ERROR_LENGTH = 2_000
_TABLE = tables.console_actions


def as_json(detail: t.Mapping[str, t.Any] | None) -> str | None:
    """``detail`` as the record keeps it: JSON, without its empty values."""
    kept = {k: v for k, v in (detail or {}).items() if v is not None}
    return json.dumps(kept, ensure_ascii=False, default=str) if kept else None


def clean_error(error: str | None) -> str | None:
    """An error as it may be stored and shown: redacted and cut short."""
    return None if error is None else redact(str(error))[:_ERROR_LENGTH]


class Journal:
    """Writes and reads the record, on the plugin's engine and clock."""

    def __init__(self, engine: Engine, clock: t.Callable[[], t.Any]) -> None:
        self.engine = engine
        self.clock = clock

    def begin(
        self,
        actor: str,
        action: str,
        target: str | None,
        *,
        detail: t.Mapping[str, t.Any] | None = None,
        run_id: int | None = None,
        resume_after: int | None = None,
    ) -> int:
        """Write that ``actor`` is about to do ``action``; returns the record's id."""
        values = {
            "actor": actor,
            "action": action,
            "target": target,
            "detail": as_json(detail),
            "outcome": STARTED,
            "created_at": self.clock(),
            "run_id": run_id,
            "resume_after": resume_after,
        }
        result = execute_alone(self.engine, sa.insert(_TABLE), values)
        key = result.inserted_primary_key
        assert key is not None
        return int(key[0])

    def finish(
        self,
        action_id: int,
        outcome: str,
        *,
        detail: t.Mapping[str, t.Any] | None = None,
        error: str | None = None,
    ) -> bool:
        """Write how a started action ended; ``False`` if it had ended already."""
        values: dict[str, t.Any] = {
            "outcome": outcome,
            "error": clean_error(error),
            "finished_at": self.clock(),
        }
        if detail is not None:
            values["detail"] = as_json(detail)
        update = (
            sa.update(_TABLE)
            .where(_TABLE.c.id == action_id, _TABLE.c.outcome == STARTED)
            .values(**values)
        )
        return execute_alone(self.engine, update, {}).rowcount == 1

    def get(self, action_id: int) -> RowMapping | None:
        """One action by id."""
        query = sa.select(_TABLE).where(_TABLE.c.id == action_id)
        with self.engine.connect() as conn:
            return conn.execute(query).mappings().first()

    def on(self, target: str) -> list[RowMapping]:
        """The actions done to ``target``, oldest first."""
        query = sa.select(_TABLE).where(_TABLE.c.target == target)
        with self.engine.connect() as conn:
            return list(conn.execute(query.order_by(_TABLE.c.id)).mappings())

    def batches(self, run_id: int, *, limit: int = 5) -> list[RowMapping]:
        """The last batches of a reconcile run, newest first."""
        query = (
            sa.select(_TABLE)
            .where(_TABLE.c.run_id == run_id)
            .order_by(_TABLE.c.id.desc())
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return list(conn.execute(query).mappings())

    def page(
        self, outcomes: t.Collection[str], *, before: int | None = None
    ) -> tuple[list[RowMapping], int | None]:
        """Actions with these outcomes, newest first, and the next page's
        ``before``; each outcome read on its ``(outcome, id)`` index."""
        return newest_first(
            self.engine, _TABLE, _TABLE.c.outcome, outcomes, before=before
        )

    def advance(
        self, run_id: int, after: int, resume_after: int, detail: t.Mapping[str, t.Any]
    ) -> bool:
        """Move a reconcile run on past a batch, if no one moved it since
        ``after``: a batch posted twice is counted once."""
        update = (
            sa.update(_TABLE)
            .where(_TABLE.c.id == run_id, _TABLE.c.resume_after == after)
            .values(resume_after=resume_after, detail=as_json(detail))
        )
        return execute_alone(self.engine, update, {}).rowcount == 1
