"""What one snapshot decides inside the write transaction, and what it came to.

The reconciler (:mod:`flask_nicepay.sync`) fetches a payment and opens the
transaction; here the snapshot is verified against the order as read and turned
into a :class:`~flask_nicepay.store.Plan`: the state change, the import of
PortOne's cancel history, and the guard row of a payment that must not pay its
order. No network, no signals: those belong to the reconciler.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import typing as t

from sqlalchemy.engine import Connection

from . import ledger
from . import truth
from .fused import Companion
from .inbox import Outcome
from .machine import OrderState
from .portone import Payment
from .store import Applied
from .store import Order
from .store import Plan
from .store import Store
from .store import Transition
from .verify import OnMismatch
from .verify import Policy
from .verify import Verdict
from .verify import verify

#: ``record(connection, result)``: keeps what a snapshot did, in its transaction.
Record = t.Callable[[Connection, "SyncResult"], None]


@t.runtime_checkable
class Fusable(t.Protocol):
    """A :data:`Record` that can also hand its write over, to be sent with the
    order's change in one statement (see :mod:`flask_nicepay.fused`)."""

    def __call__(self, connection: Connection, result: SyncResult) -> None: ...

    def companion(self, result: SyncResult) -> Companion:
        """The write ``__call__`` makes, not made; ``result`` is what it records."""
        ...


#: A step the plan runs in its transaction, after the order is written.
Also = t.Callable[[Connection, Order], None]


@dataclasses.dataclass(frozen=True, slots=True)
class SyncResult:
    """What one snapshot did."""

    outcome: Outcome
    order: Order | None
    payment: Payment | None = None
    transitions: tuple[Transition, ...] = ()
    detail: str | None = None

    @property
    def dedupe_key(self) -> str | None:
        return None if self.payment is None else truth.snapshot_key(self.payment)


@dataclasses.dataclass
class Decision:
    """One snapshot's way through the write transaction, and what it found there.

    :meth:`decide` may run more than once, when a compare-and-swap loses a race:
    each run starts from nothing.

    :param record: see :meth:`Reconciler.apply <flask_nicepay.sync.Reconciler.apply>`.
    """

    payment: Payment
    policy: Policy
    clock: t.Callable[[], dt.datetime]
    record: Record | None = None
    verdict: Verdict | None = None
    #: Why the payment must not pay the order, when this run guarded it.
    reason: str | None = None
    result: SyncResult | None = None

    def write(
        self,
        store: Store,
        source: str,
        inbox_id: int | None,
        connection: Connection | None,
        known: Order | None,
    ) -> None:
        """Apply the snapshot to its order through ``store``: see
        :meth:`Reconciler.apply <flask_nicepay.sync.Reconciler.apply>`.

        :raises UnknownOrderError: the payment names no order.
        """
        store.apply(
            self.payment.merchant_uid,
            self.decide,
            source=source,
            inbox_id=inbox_id,
            finish=self.finish,
            fuse=self.fuse if self.record is None or _fusable(self.record) else None,
            connection=connection,
            known=known,
        )

    def decide(self, conn: Connection, current: Order) -> Plan | None:
        """Verify the snapshot against the order as read, and plan the change."""
        payment = self.payment
        self.reason = self.result = None
        verdict = self.verdict = verify(current, payment, self.policy)
        extra = truth.is_extra(current, payment)
        plan = None if extra else truth.plan(current, payment, verdict)
        must_guard = _holds_money(payment) and (extra or not verdict.ok)
        if must_guard and not ledger.guard_exists(conn, payment.imp_uid):
            self.reason = _extra_reason(current) if extra else str(verdict)
            hold = self.policy.on_mismatch is OnMismatch.HOLD
            plan = _guarded(plan, payment, self.reason, hold=hold, now=self.clock())
        if plan is None and _settles_elsewhere(conn, current, payment):
            plan = Plan(detail=f"payment {payment.imp_uid}: cancel recorded")
        return _with_ledger(plan, payment, self.clock)

    def finish(self, conn: Connection, applied: Applied) -> None:
        """Keep what the snapshot did, in the transaction that did it."""
        assert self.verdict is not None  # decided before anything is applied
        self.result = _result(applied, self.payment, self.verdict)
        if self.record is not None:
            self.record(conn, self.result)

    def fuse(self, applied: Applied) -> Companion | None:
        """What :meth:`finish` would write, to go in the change's own statement."""
        assert self.verdict is not None
        self.result = _result(applied, self.payment, self.verdict)
        if self.record is None:
            return None
        assert _fusable(self.record)
        return self.record.companion(self.result)

    def outcome(self) -> SyncResult:
        """What the snapshot did, once the store has applied it."""
        assert self.result is not None  # the store finishes every apply it returns
        return self.result


def changes_nothing(order: Order, payment: Payment, policy: Policy) -> bool:
    """Whether the snapshot would leave the order as it is (read a moment ago)."""
    if truth.is_extra(order, payment):
        return False
    verdict = verify(order, payment, policy)
    return truth.plan(order, payment, verdict) is None


def _settles_elsewhere(conn: Connection, order: Order, payment: Payment) -> bool:
    """Whether a cancel of a payment that is not the order's settles a row here.

    Such a payment changes nothing of the order, so it has no plan to carry the
    import of its cancel_history; a cancel the operator or the automatic cancel
    sent for it would stay open until it is failed for want of news.
    """
    if not payment.cancel_history or truth.follows(order, payment):
        return False
    return ledger.open_for(conn, payment.imp_uid)


def _with_ledger(
    plan: Plan | None, payment: Payment, clock: t.Callable[[], dt.datetime]
) -> Plan | None:
    """Add the import of PortOne's cancel_history to a plan."""
    if plan is None or not payment.cancel_history:
        return plan
    now = clock()

    def imports(conn: Connection, order: Order) -> None:
        ledger.import_cancellations(conn, order_id=order.id, payment=payment, now=now)

    return dataclasses.replace(plan, also=_chain(plan.also, imports))


def _guarded(
    plan: Plan | None, payment: Payment, reason: str, *, hold: bool, now: dt.datetime
) -> Plan:
    """Record, once, a payment that must not pay the order, in the ledger.

    The unique guard row makes the automatic cancel (or the hold) happen
    exactly once, however many deliveries of the snapshot race each other.
    """

    def insert(conn: Connection, order: Order) -> None:
        ledger.open_refund(
            conn,
            order_id=order.id,
            merchant_uid=order.merchant_uid,
            imp_uid=payment.imp_uid,
            amount=payment.balance,
            checksum=payment.balance,
            now=now,
            source="auto",
            reason=reason[:500],
            guard_key=ledger.guard_key(payment.imp_uid),
            status="held" if hold else "pending",
        )

    plan = plan or Plan(detail=f"payment {payment.imp_uid}: {reason}")
    data = dict(plan.data)
    if "flag_mismatch" in data:
        data["flag_mismatch"] = {**data["flag_mismatch"], "action": _action(hold)}
    return dataclasses.replace(plan, also=_chain(plan.also, insert), data=data)


def _result(applied: Applied, payment: Payment, verdict: Verdict) -> SyncResult:
    """What applying ``payment`` came to, as the inbox and the caller see it."""
    flagged = any(t.event == "flag_mismatch" for t in applied.transitions)
    if truth.is_extra(applied.order, payment):
        outcome = Outcome.EXTRA
    elif flagged or (not verdict.ok and truth.was_paid(payment)):
        outcome = Outcome.MISMATCH if applied.changed else Outcome.NOOP
    else:
        outcome = Outcome.APPLIED if applied.changed else Outcome.NOOP
    return SyncResult(outcome, applied.order, payment, applied.transitions)


def _fusable(record: Record) -> t.TypeGuard[Fusable]:
    return isinstance(record, Fusable)


def _extra_reason(order: Order) -> str:
    if order.state is OrderState.CANCELLED:
        return "payment for an order that was closed"
    return f"second payment for an order already paid by {order.imp_uid}"


def _holds_money(payment: Payment) -> bool:
    return truth.was_paid(payment) and payment.balance > 0


def _action(hold: bool) -> str:
    return "hold" if hold else "cancel"


def _chain(first: Also | None, second: Also) -> Also:
    if first is None:
        return second

    def both(conn: Connection, order: Order) -> None:
        first(conn, order)
        second(conn, order)

    return both
