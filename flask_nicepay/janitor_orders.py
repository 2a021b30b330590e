"""The janitor's passes over orders and refunds: open orders reconciled, virtual
accounts past their deadline swept, refunds whose answer was lost settled, and
automatic cancels PortOne refused sent again.

Each takes a batch (up to 100, one PortOne lookup), claims it, and works on the
rows it won; the order's compare-and-swap keeps every change exactly-once
whatever else runs at the same time.
"""

from __future__ import annotations

import datetime as dt
import typing as t

import sqlalchemy as sa

from . import ledger
from . import ledger_auto
from . import tables
from . import truth
from .janitor_base import JanitorBase
from .janitor_base import PassReport
from .janitor_base import unclaimed
from .machine import OPEN_STATES
from .machine import OrderState
from .portone import PortOneError
from .store import Order
from .sweeps import ReconcileReport
from .verify import OnMismatch

_ORDERS = tables.orders
_REFUNDS = tables.refunds
#: What sending an automatic cancel again reads of its row.
_RETRIED = [
    _REFUNDS.c[name] for name in ("id", "merchant_uid", "imp_uid", "attempts", "reason")
]


class OrderPasses(JanitorBase):
    """The passes of :class:`~flask_nicepay.janitor.Janitor` over orders."""

    def open_orders(self) -> PassReport:
        """Reconcile open orders untouched for the grace period, least recently
        reconciled first, each at most once per ``recheck``.

        Virtual accounts past their deadline are left to :meth:`vbanks`, which
        expires them.
        """
        report, counts = PassReport("open_orders"), ReconcileReport()
        for _ in range(self.policy.max_batches):
            now = self.clock()
            not_overdue = sa.or_(
                _ORDERS.c.state != OrderState.VBANK_ISSUED.value,
                _ORDERS.c.vbank_due.is_(None),
                _ORDERS.c.vbank_due > now,
            )
            wanted = (
                _ORDERS.c.state.in_([s.value for s in OPEN_STATES]),
                _ORDERS.c.updated_at <= now - self.policy.grace,
                not_overdue,
            )
            claimed = _ORDERS.c.claimed_until
            # Never looked at first (no NULLS FIRST: SQLite before 3.30 lacks it).
            order = (claimed.is_not(None), claimed, _ORDERS.c.id)
            until = now + self.policy.recheck
            batch = self._claim_orders(wanted, order, until, report)
            if batch is None:
                break
            if batch:
                self.reconciler.reconcile_batch(batch, counts)
        for name in ("orders", "applied", "unchanged", "not_at_portone"):
            report.add(name, getattr(counts, name))
        report.add("lookups", counts.api_calls)
        report.errors.extend(counts.errors)
        return report

    def vbanks(self) -> PassReport:
        """Expire virtual accounts past their deadline that PortOne shows unpaid
        (one paid at the last minute becomes paid instead)."""
        report = PassReport("vbanks")
        for _ in range(self.policy.max_batches):
            now = self.clock()
            wanted = (
                _ORDERS.c.state == OrderState.VBANK_ISSUED.value,
                _ORDERS.c.vbank_due <= now,
            )
            until = now + self.policy.lease
            batch = self._claim_orders(wanted, (_ORDERS.c.id,), until, report)
            if batch is None:
                break
            if not batch:
                continue
            try:
                report.add("expired", len(self.reconciler.expire_overdue(batch)))
            except PortOneError as exc:
                report.errors.append(f"lookup of {len(batch)} accounts failed: {exc}")
        return report

    def _claim_orders(
        self,
        wanted: t.Sequence[sa.ColumnElement[bool]],
        order_by: t.Sequence[sa.ColumnElement[t.Any]],
        until: dt.datetime,
        report: PassReport,
    ) -> list[Order] | None:
        """Claim the next batch of orders that are ``wanted``; the orders won
        (maybe none), or ``None`` when none is left."""
        query = (
            sa.select(_ORDERS)
            .where(unclaimed(_ORDERS, self.clock()), *wanted)
            .order_by(*order_by)
            .limit(self.policy.batch_size)
        )
        with self.store.engine.connect() as conn:
            orders = [Order.from_row(row) for row in conn.execute(query).mappings()]
        if not orders:
            return None
        ids = [o.id for o in orders]
        won = set(self.claim(_ORDERS, ids, until=until, still=wanted))
        report.add("claimed", len(won))
        report.add("held", len(orders) - len(won))
        return [o for o in orders if o.id in won]

    def refunds(self) -> PassReport:
        """Settle refunds left ``pending`` or ``unknown`` past the refund grace
        from PortOne's ``cancel_history``: each payment is synced once, which
        records what PortOne cancelled, and what it shows no trace of fails.
        Then send again the automatic cancels PortOne refused (:doc:`/janitor`).
        """
        report = PassReport("refunds")
        self._settle_open(report)
        self._cancel_again(report)
        return report

    def _settle_open(self, report: PassReport) -> None:
        for _ in range(self.policy.max_batches):
            now = self.clock()
            open_ = _REFUNDS.c.status.in_(ledger.OPEN)
            query = (
                sa.select(_REFUNDS.c.id, _REFUNDS.c.imp_uid)
                .where(open_)
                .where(_REFUNDS.c.requested_at <= now - self.policy.refund_grace)
                .where(unclaimed(_REFUNDS, now))
                .order_by(_REFUNDS.c.id)
                .limit(self.policy.batch_size)
            )
            with self.store.engine.connect() as conn:
                rows = {row.id: row.imp_uid for row in conn.execute(query)}
            if not rows:
                break
            until = now + self.policy.lease
            won = self.claim(_REFUNDS, rows, until=until, still=(open_,))
            report.add("claimed", len(won))
            report.add("held", len(rows) - len(won))
            for imp_uid in sorted({rows[i] for i in won if rows[i]}):
                self._settle_refunds(imp_uid, report)
            self._count_settled(won, report)

    def _settle_refunds(self, imp_uid: str, report: PassReport) -> None:
        try:
            result = self.reconciler.sync(imp_uid=imp_uid, source="sweep")
        except PortOneError as exc:
            report.errors.append(f"lookup of {imp_uid} failed: {exc}")
            return
        if result.payment is None:
            return
        now = self.clock()
        before = now - self.policy.refund_grace
        ledger.fail_unmatched(
            self.store.engine,
            result.payment,
            before=before,
            now=now,
            statuses=ledger.OPEN,
        )

    def _count_settled(self, ids: list[int], report: PassReport) -> None:
        query = sa.select(_REFUNDS.c.status).where(_REFUNDS.c.id.in_(ids))
        with self.store.engine.connect() as conn:
            for status in conn.execute(query).scalars():
                report.add(status if status not in ledger.OPEN else "still_open")

    # -- automatic cancels PortOne refused -----------------------------------------

    def _cancel_again(self, report: PassReport) -> None:
        """Send again each automatic cancel that failed, a refund grace after it
        failed and then on the backoff, up to ``max_attempts`` sends in all.

        A payment that must not pay its order (it failed verification, or came for
        an order that cannot take it) is money the buyer gets back: one refusal by
        PortOne (a 500 at the wrong moment) must not keep it. Each send carries
        the balance PortOne shows just before it as its checksum, so a cancel made
        meanwhile elsewhere makes PortOne refuse this one rather than pay twice.
        Nothing is sent under ``NICEPAY_ON_MISMATCH = "hold"``.
        """
        if self.reconciler.policy.on_mismatch is OnMismatch.HOLD:
            return
        column = _REFUNDS.c
        for _ in range(self.policy.max_batches):
            now = self.clock()
            wanted = (
                column.source == "auto",
                column.status == "failed",
                column.imp_uid.is_not(None),
                column.attempts < self.policy.max_attempts,
                column.completed_at <= now - self.policy.refund_grace,
            )
            query = (
                sa.select(*_RETRIED)
                .where(*wanted, unclaimed(_REFUNDS, now))
                .order_by(column.id)
                .limit(self.policy.batch_size)
            )
            with self.store.engine.connect() as conn:
                rows = {row.id: row for row in conn.execute(query)}
            if not rows:
                break
            won = self.claim(
                _REFUNDS, rows, until=now + self.policy.lease, still=wanted
            )
            for row_id in won:
                report.add(self._send_again(rows[row_id]))

    def _send_again(self, row: t.Any) -> str:
        """One failed automatic cancel: looked up, then sent again or let be."""
        try:
            payment = self.reconciler.sync(imp_uid=row.imp_uid, source="sweep").payment
        except PortOneError:
            return "lookup_failed"  # the claim lapses; the next pass tries again
        if payment is None or not truth.was_paid(payment) or payment.balance <= 0:
            return self._let_be(row.id, "nothing_held", _NOTHING_HELD)
        if payment.pay_method == "vbank":  # refused without the buyer's account
            why = ledger_auto.NEEDS_REFUND_ACCOUNT
            return self._let_be(row.id, "refund_by_hand", why)
        if ledger_auto.cancelled_elsewhere(
            self.store.engine, row.merchant_uid, row.imp_uid
        ):
            return self._let_be(row.id, "left_to_operator", _CANCELLED_ELSEWHERE)
        engine, now = self.store.engine, self.clock()
        if not ledger_auto.reopen_automatic(
            engine, row.id, amount=payment.balance, now=now
        ):
            return "moved_on"
        why = row.reason or "automatic cancel"
        if self.reconciler.cancel_automatically(payment, why) == "refund_by_hand":
            # Not sent, for want of tax parts only an operator can give.
            return self._let_be(row.id, "refund_by_hand")
        status = ledger_auto.status_of(engine, row.id) or "gone"
        if status == "failed":
            wait = self.policy.delay(row.attempts + 1)
            ledger_auto.hold_back(engine, row.id, until=self.clock() + wait)
        return f"sent_again_{status}"

    def _let_be(self, row_id: int, outcome: str, why: str | None = None) -> str:
        """Send this cancel no more; the row stays ``failed``, saying why (or what
        it says already)."""
        bound = self.policy.max_attempts
        ledger_auto.hold_back(self.store.engine, row_id, attempts=bound, error=why)
        return outcome


_NOTHING_HELD = "PortOne holds nothing more of this payment: not sent again."
_CANCELLED_ELSEWHERE = (
    "Part of this payment was cancelled elsewhere since: the rest is the "
    "operator's to pay back (flask nicepay cancel ORDER --payment IMP_UID)."
)
