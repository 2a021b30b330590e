"""Notifications: every webhook, PC completion and mobile return, kept and processed.

Persist before process: a notification is recorded in the inbox and committed
before PortOne is asked about it, then the reconciler applies what PortOne says,
and the inbox row records the outcome. Nothing that reached the server is lost:
a row whose processing failed can be processed again (:meth:`Notifications.replay`).
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import typing as t

from sqlalchemy.engine import Connection

from .db import keep_autocommit
from .fused import Companion
from .inbox import REPLAYABLE
from .inbox import Hint
from .inbox import Inbox
from .inbox import Kind
from .inbox import Outcome
from .portone import NotFoundError
from .portone import PortOneError
from .portone.redact import redact
from .store import Order
from .sync import Reconciler
from .sync import SyncResult

logger = logging.getLogger("flask_nicepay")


@dataclasses.dataclass(frozen=True, slots=True)
class Received:
    """A notification as recorded and processed."""

    entry_id: int
    outcome: Outcome
    result: SyncResult | None = None
    error: str | None = None


class Notifications:
    """Records, processes and replays notifications.

    :param inbox: where every notification is kept.
    :param reconciler: applies what PortOne says about each.
    """

    def __init__(self, inbox: Inbox, reconciler: Reconciler) -> None:
        self.inbox = inbox
        self.reconciler = reconciler

    def receive(
        self,
        kind: Kind | str,
        hint: Hint,
        *,
        body: bytes | str = b"",
        remote_addr: str | None = None,
        method: str | None = None,
        path: str | None = None,
        content_type: str | None = None,
    ) -> Received:
        """Record a notification, then process it: persist before process.

        A first delivery costs two transactions: the inbox row, committed before
        PortOne is asked, then one that changes the order and records the outcome.
        Both run on one connection, checked out (and, on PostgreSQL, pinged) once.
        On PostgreSQL the statement that records the row also reads the order, so
        a duplicate costs two statements: that one and its outcome.
        """
        with self.inbox.engine.connect() as connection:
            keep_autocommit(connection)  # until the order's write, if there is one
            entry_id, row = self.inbox.record_reading_order(
                kind,
                body=body,
                hint=hint,
                remote_addr=remote_addr,
                method=method,
                path=path,
                content_type=content_type,
                connection=connection,
            )
            known = None if row is None else Order.from_row(row)
            return self._process(entry_id, str(kind), hint, connection, known)

    def reject(self, kind: Kind | str, error: str, **request: t.Any) -> int:
        """Record a notification that could not even be read; returns its id."""
        return self.inbox.record(kind, outcome=Outcome.INVALID, error=error, **request)

    def process(self, entry_id: int, *, unless_done: bool = False) -> Received:
        """Run the reconciler for a recorded notification and record the outcome.

        :param unless_done: leave a notification alone whose processing already
            came to something other than ``received`` or ``error``, and return
            what it came to: how a worker takes a message delivered twice.
        """
        entry = self.inbox.get(entry_id)
        if entry is None:
            raise LookupError(f"No notification {entry_id}.")
        if unless_done and entry.outcome not in (Outcome.RECEIVED, Outcome.ERROR):
            return Received(entry.id, Outcome(entry.outcome), error=entry.error)
        return self._process(entry.id, entry.kind, entry.hint)

    def accept(self, kind: Kind | str, hint: Hint, **request: t.Any) -> int:
        """Record a notification for a worker to process; returns its id.

        The row's commit waits for the disk: the request is answered next, before
        any write that would have made it durable.

        :param request: what :meth:`~flask_nicepay.inbox.Inbox.record` takes
            about the request.
        """
        return self.inbox.record(kind, hint=hint, answered_first=True, **request)

    def _process(
        self,
        entry_id: int,
        kind: str,
        hint: Hint,
        connection: Connection | None = None,
        known: Order | None = None,
    ) -> Received:
        done = functools.partial(self._finish, entry_id, connection=connection)
        if not (hint.imp_uid or hint.merchant_uid):
            return done(Outcome.INVALID, error="no imp_uid or merchant_uid")
        record = _RecordOutcome(self.inbox, entry_id)
        try:
            result = self.reconciler.sync(
                imp_uid=hint.imp_uid,
                merchant_uid=None if hint.imp_uid else hint.merchant_uid,
                source=kind,
                inbox_id=entry_id,
                record=record,
                connection=connection,
                known=known,
            )
        except NotFoundError as exc:
            return done(Outcome.INVALID, error=f"not at PortOne: {exc}")
        except PortOneError as exc:
            return done(Outcome.ERROR, error=str(exc))
        except Exception as exc:
            # On a connection of its own: this one may be what failed.
            self._finish(entry_id, Outcome.ERROR, error=f"{type(exc).__name__}: {exc}")
            raise
        if record.done:
            return Received(entry_id, result.outcome, result, result.detail)
        return done(result.outcome, result=result, error=result.detail)

    def _finish(
        self,
        entry_id: int,
        outcome: Outcome,
        *,
        result: SyncResult | None = None,
        error: str | None = None,
        connection: Connection | None = None,
    ) -> Received:
        """Record an outcome reached without changing any order."""
        self.inbox.finish(
            entry_id, outcome, **_found(result), error=error, connection=connection
        )
        if outcome in (Outcome.ERROR, Outcome.UNKNOWN_ORDER):
            logger.warning(
                "Notification %s: %s (%s)", entry_id, outcome, redact(error or "")
            )
        return Received(entry_id, outcome, result, error)

    def replay(self, entry_id: int) -> Received:
        """Process a stored notification again."""
        return self.process(entry_id)

    def replay_failed(self) -> list[Received]:
        """Process again every notification that failed or found no order."""
        return [self.process(entry_id) for entry_id in self.failed_ids()]

    def failed_ids(self) -> list[int]:
        """Ids of every notification that failed or found no order, oldest first."""
        ids: list[int] = []
        while True:
            after = ids[-1] if ids else 0
            page = self.inbox.search(outcomes=REPLAYABLE, after_id=after, limit=500)
            if not page:
                return ids
            ids.extend(entry.id for entry in page)


class _RecordOutcome:
    """Writes a notification's outcome inside the transaction that acted on it."""

    def __init__(self, inbox: Inbox, entry_id: int) -> None:
        self.inbox = inbox
        self.entry_id = entry_id
        self.done = False

    def __call__(self, connection: Connection, result: SyncResult) -> None:
        self.inbox.finish(
            self.entry_id,
            result.outcome,
            **_found(result),
            error=result.detail,
            connection=connection,
        )
        self.done = True

    def companion(self, result: SyncResult) -> Companion:
        """The same write, handed over to go with the order's change."""
        self.done = True  # a change that loses its race is decided and sent again
        return self.inbox.outcome_write(
            self.entry_id, result.outcome, **_found(result), error=result.detail
        )


def _found(result: SyncResult | None) -> dict[str, t.Any]:
    """The inbox columns that say what the fetched snapshot was."""
    payment = result.payment if result else None
    if payment is None:
        return {}
    return {
        "imp_uid": payment.imp_uid,
        "merchant_uid": payment.merchant_uid,
        "dedupe_key": t.cast(SyncResult, result).dedupe_key,
    }
