"""The janitor's passes over the inbox: rows left ``received``, and failed rows.

Both hand each row to :meth:`Notifications.process
<flask_nicepay.notifications.Notifications.process>`, the road every notification
takes, after claiming it: one row at a time, so a claim only has to outlast the
processing of one notification.
"""

from __future__ import annotations

import datetime as dt
import typing as t

import sqlalchemy as sa

from . import tables
from .inbox import Outcome
from .janitor_base import JanitorBase
from .janitor_base import PassReport
from .janitor_base import unclaimed
from .portone.redact import redact
from .tables import UTCDateTime

#: The outcomes the janitor retries (:data:`~flask_nicepay.inbox.REPLAYABLE`
#: but ``received``, which :meth:`~flask_nicepay.janitor.Janitor.stale_inbox`
#: takes).
FAILED = (Outcome.ERROR, Outcome.UNKNOWN_ORDER)

_INBOX = tables.inbox


class InboxPasses(JanitorBase):
    """The passes of :class:`~flask_nicepay.janitor.Janitor` over the inbox."""

    def stale_inbox(self) -> PassReport:
        """Process again the rows still ``received`` after the grace period:
        their worker died, or the broker lost their task."""
        stale = (
            _INBOX.c.outcome == Outcome.RECEIVED.value,
            _INBOX.c.received_at <= self.clock() - self.policy.grace,
        )
        return self._process_each("stale_inbox", stale)

    def failed_inbox(self) -> PassReport:
        """Retry failed notifications whose wait is over (see
        :meth:`~flask_nicepay.janitor_policy.JanitorPolicy.delay`); those tried
        ``max_attempts`` times are left to the operator, and counted."""
        now = self.clock()
        failed = _INBOX.c.outcome.in_([o.value for o in FAILED])
        attempts = _INBOX.c.attempts
        last = sa.func.coalesce(
            _INBOX.c.processed_at, _INBOX.c.received_at, type_=UTCDateTime()
        )
        due = (
            failed,
            attempts < self.policy.max_attempts,
            last <= self._retry_due(now),
        )
        report = self._process_each("failed_inbox", due)
        given_up = sa.select(sa.func.count()).where(
            failed, attempts >= self.policy.max_attempts
        )
        with self.store.engine.connect() as conn:
            report.add("given_up", int(conn.execute(given_up).scalar_one()))
        return report

    def _retry_due(self, now: dt.datetime) -> sa.ColumnElement[dt.datetime]:
        """The latest moment a row may have been processed and be due, by its
        attempts so far: ``now`` less the wait that follows that many."""
        backoff = self.policy.backoff
        when = [
            (_INBOX.c.attempts <= n, sa.literal(now - wait, UTCDateTime()))
            for n, wait in enumerate(backoff[:-1], start=1)
        ]
        last = sa.literal(now - backoff[-1], UTCDateTime())
        return sa.case(*when, else_=last) if when else last

    def _process_each(
        self, name: str, wanted: t.Sequence[sa.ColumnElement[bool]]
    ) -> PassReport:
        """Claim and process, one at a time, the rows that are ``wanted``, oldest
        first, at most the policy's limit of them."""
        report = PassReport(name)
        query = (
            sa.select(_INBOX.c.id)
            .where(unclaimed(_INBOX, self.clock()), *wanted)
            .order_by(_INBOX.c.id)
            .limit(self.policy.limit)
        )
        with self.store.engine.connect() as conn:
            ids = [int(row_id) for row_id in conn.execute(query).scalars()]
        for entry_id in ids:
            until = self.clock() + self.policy.lease
            if not self.claim(_INBOX, [entry_id], until=until, still=wanted):
                report.add("held")
                continue
            report.add("claimed")
            self._process_one(entry_id, report)
            self.release(_INBOX, [entry_id], until=until)
        return report

    def _process_one(self, entry_id: int, report: PassReport) -> None:
        try:
            received = self.notifications.process(entry_id)
        except Exception as exc:  # recorded on the row; the others still go
            report.add(Outcome.ERROR.value)
            report.errors.append(f"notification {entry_id}: {type(exc).__name__}")
            return
        report.add(received.outcome.value)
        if received.outcome is Outcome.ERROR:
            report.errors.append(
                f"notification {entry_id}: {redact(received.error or '')}"
            )
