"""The reconciler: the one road from PortOne's truth to an order's state.

Every entry point (webhook, PC completion, mobile return, the reconcile and replay
commands, refunds, billing calls) ends here, and here the road is always the same::

    fetch the payment from PortOne (network, no transaction open)
      -> read the order, verify the snapshot against it, plan
      -> if it changes anything, one short write transaction: compare-and-swap
         on the version read (RETURNING the row), history, the inbox row's
         outcome, commit; if not, the outcome alone
      -> signals for what this process wrote, and nothing else

A payment that fails verification never pays the order: it is flagged, and by
default cancelled in full at PortOne, exactly once.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import typing as t

from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from . import ledger
from . import truth
from .inbox import Outcome
from .machine import OPEN_STATES
from .machine import InvalidTransitionError
from .machine import OrderState
from .machine import can_fire
from .parts import Notify
from .parts import Part
from .parts import Parts
from .portone import NoResponseError
from .portone import Payment
from .portone import PortOneError
from .store import Applied
from .store import Order
from .store import Plan
from .store import Transition
from .store import UnknownOrderError
from .verify import OnMismatch
from .verify import Policy
from .verify import Verdict
from .verify import verify

logger = logging.getLogger("flask_nicepay.sync")

#: Given a payment for an unknown merchant_uid, the order fields to create, or None.
Adopt = t.Callable[[Payment], "dict[str, t.Any] | None"]
#: ``record(connection, result)``: keeps what a snapshot did, in its transaction.
Record = t.Callable[[Connection, "SyncResult"], None]


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
class ReconcileReport:
    """Counts from one :meth:`Reconciler.reconcile` run."""

    orders: int = 0
    api_calls: int = 0
    applied: int = 0
    unchanged: int = 0
    not_at_portone: int = 0
    errors: list[str] = dataclasses.field(default_factory=list)


class Reconciler(Part):
    """Applies PortOne's truth to orders.

    :param parts: the PortOne client, the order store and the clock.
    :param policy: verification rules and what to do on a mismatch.
    :param notify: sends a signal after commit.
    :param adopt: decides whether a payment for an unknown ``merchant_uid`` becomes
        an order.
    """

    def __init__(
        self,
        parts: Parts,
        *,
        policy: Policy,
        notify: Notify,
        adopt: Adopt | None = None,
    ) -> None:
        super().__init__(parts)
        self.policy = policy
        self.notify = notify
        self.adopt = adopt

    # -- one payment ----------------------------------------------------------

    def sync(
        self,
        *,
        imp_uid: str | None = None,
        merchant_uid: str | None = None,
        source: str = "api",
        inbox_id: int | None = None,
        record: Record | None = None,
        connection: Connection | None = None,
        known: Order | None = None,
    ) -> SyncResult:
        """Fetch a payment from PortOne and apply it.

        :param imp_uid: the payment to look up (preferred).
        :param merchant_uid: used when no ``imp_uid`` is known: the order's latest
            attempt.
        :param record: see :meth:`apply`.
        :param connection: see :meth:`apply`.
        :param known: the order as read before the lookup, if it was; see
            :meth:`apply`.
        :raises PortOneError: PortOne could not be reached or refused the lookup.
        """
        if imp_uid:
            payment = self.client.get_payment(imp_uid)
        elif merchant_uid:
            payment = self.client.find_payment(merchant_uid)
        else:
            raise ValueError("sync() needs imp_uid or merchant_uid.")
        return self.apply(
            payment,
            source=source,
            inbox_id=inbox_id,
            known=known,
            record=record,
            connection=connection,
        )

    def apply(
        self,
        payment: Payment,
        *,
        source: str,
        inbox_id: int | None = None,
        known: Order | None = None,
        record: Record | None = None,
        connection: Connection | None = None,
    ) -> SyncResult:
        """Apply a snapshot fetched from PortOne to its order.

        The order is read, the snapshot verified against it and the change planned;
        one write transaction then swaps it on the version read and calls
        ``record``. Signals and any automatic cancel follow the commit.

        :param known: the order as recently read: no read is needed when the
            snapshot can change nothing, and the first compare-and-swap is tried
            on it (a stale read never hides a change: the swap fails on its
            version, and the order is read again). Ignored when the payment
            names another order.
        :param record: ``record(connection, result)``, called with what the
            snapshot did: inside the write transaction when there is one, on its
            own when nothing changed (not called for a payment whose order does
            not exist and is not adopted).
        :param connection: a connection with no transaction open to write on,
            instead of one from the pool (a notification uses one for all).
        """
        if known is not None and known.merchant_uid != payment.merchant_uid:
            known = None  # a stale or wrong pairing: the payment names its order
        if known is not None and self._nothing_to_do(known, payment):
            return SyncResult(Outcome.NOOP, known, payment)
        seen: dict[str, t.Any] = {}

        def decide(conn: Connection, current: Order) -> Plan | None:
            seen.clear()
            verdict = seen["verdict"] = verify(current, payment, self.policy)
            extra = truth.is_extra(current, payment)
            plan = None if extra else truth.plan(current, payment, verdict)
            must_guard = _holds_money(payment) and (extra or not verdict.ok)
            if must_guard and not ledger.guard_exists(conn, payment.imp_uid):
                reason = seen["reason"] = (
                    _extra_reason(current) if extra else str(verdict)
                )
                plan = self._add_guard(plan, payment, reason)
            return self._with_ledger(plan, payment)

        def finish(conn: Connection, applied: Applied) -> None:
            result = seen["result"] = _result(applied, payment, seen["verdict"])
            if record is not None:
                record(conn, result)

        try:
            self.store.apply(
                payment.merchant_uid,
                decide,
                source=source,
                inbox_id=inbox_id,
                finish=finish,
                connection=connection,
                known=known,
            )
        except UnknownOrderError:
            return self._unknown(payment, source, inbox_id, record, connection)
        result: SyncResult = seen["result"]
        self.announce(result.transitions)
        if "reason" in seen:
            self._after_guard(result, payment, seen["reason"])
        return result

    def _after_guard(self, result: SyncResult, payment: Payment, reason: str) -> None:
        """Cancel (or hold) a payment that must not pay its order, and say so once."""
        action = self._auto_cancel(payment, reason)
        if any(t.event == "flag_mismatch" for t in result.transitions):
            return  # its signal went out with the transition
        self.notify(
            "flag_mismatch",
            result.order,
            None,
            imp_uid=payment.imp_uid,
            reasons=(reason,),
            amount=payment.amount,
            action=action,
        )

    def _nothing_to_do(self, order: Order, payment: Payment) -> bool:
        if truth.is_extra(order, payment):
            return False
        verdict = verify(order, payment, self.policy)
        return truth.plan(order, payment, verdict) is None

    def _with_ledger(self, plan: Plan | None, payment: Payment) -> Plan | None:
        """Add the import of PortOne's cancel_history to a plan."""
        if plan is None or not payment.cancel_history:
            return plan
        now = self.clock()

        def imports(conn: Connection, order: Order) -> None:
            ledger.import_cancellations(
                conn, order_id=order.id, payment=payment, now=now
            )

        return dataclasses.replace(plan, also=_chain(plan.also, imports))

    def announce(self, transitions: t.Iterable[Transition]) -> None:
        """Send each transition's signal: only for transitions this process wrote."""
        for transition in transitions:
            self.notify(
                transition.event,
                transition.order,
                transition,
                imp_uid=transition.imp_uid,
                **transition.data,
            )

    # -- payments that must not pay the order ---------------------------------

    def _add_guard(self, plan: Plan | None, payment: Payment, reason: str) -> Plan:
        """Record, once, a payment that must not pay the order, in the ledger.

        The unique guard row makes the automatic cancel (or the hold) happen
        exactly once, however many deliveries of the snapshot race each other.
        """
        hold = self.policy.on_mismatch is OnMismatch.HOLD
        now = self.clock()

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

    def _auto_cancel(self, payment: Payment, reason: str) -> str:
        """Cancel in full, with checksum, a payment that must not pay its order."""
        if self.policy.on_mismatch is OnMismatch.HOLD:
            return "hold"
        row = ledger.guard_row_id(self.store.engine, payment.imp_uid)
        try:
            cancelled = self.client.cancel(
                imp_uid=payment.imp_uid,
                checksum=payment.balance,
                reason=f"flask-nicepay: {reason}"[:200],
            )
        except NoResponseError as exc:
            self._settle(row, "unknown", str(exc))
            logger.error("Cancel of %s sent, no answer: %s", payment.imp_uid, exc)
            return "cancel"
        except PortOneError as exc:
            self._settle(row, "failed", str(exc))
            logger.error("Could not cancel %s: %s", payment.imp_uid, exc)
            return "cancel"
        self.apply(cancelled, source="verify")
        return "cancel"

    def _settle(self, row_id: int | None, status: str, error: str) -> None:
        if row_id is not None:
            ledger.settle(
                self.store.engine, row_id, status, now=self.clock(), error=error
            )

    def close(
        self, merchant_uid: str, *, reason: str | None = None, source: str = "api"
    ) -> SyncResult:
        """Close an order that holds no money: unpaid, failed, expired or mismatched.

        A virtual account still awaiting its deposit is voided at PortOne first, so
        no deposit can arrive afterwards. A payment that arrives anyway for the
        closed order is an extra payment: cancelled (or held) per the policy.

        :raises InvalidTransitionError: the order holds money; refund it instead.
        """
        order = self.store.get(merchant_uid)
        if order is None:
            raise UnknownOrderError(merchant_uid)
        if order.state is OrderState.VBANK_ISSUED and order.imp_uid:
            return self.apply(self.client.void_vbank(order.imp_uid), source=source)
        if not can_fire("void", order.state):
            if order.state is OrderState.CANCELLED:
                return SyncResult(Outcome.NOOP, order)
            raise InvalidTransitionError("void", order.state)
        updates = {"cancel_reason": reason, "cancelled_at": self.clock()}

        def decide(conn: Connection, current: Order) -> Plan | None:
            if current.state is OrderState.CANCELLED:
                return None
            return Plan(events=("void",), updates=updates, detail=reason)

        applied = self.store.apply(merchant_uid, decide, source=source)
        self.announce(applied.transitions)
        outcome = Outcome.APPLIED if applied.changed else Outcome.NOOP
        return SyncResult(outcome, applied.order, None, applied.transitions)

    # -- payments for orders we do not have -----------------------------------

    def _unknown(
        self,
        payment: Payment,
        source: str,
        inbox_id: int | None,
        record: Record | None,
        connection: Connection | None,
    ) -> SyncResult:
        fields = self.adopt(payment) if self.adopt is not None else None
        if fields is None:
            detail = f"no order with merchant_uid {payment.merchant_uid!r}"
            return SyncResult(Outcome.UNKNOWN_ORDER, None, payment, detail=detail)
        try:
            self.store.create_order(merchant_uid=payment.merchant_uid, **fields)
        except IntegrityError:  # adopted by a concurrent delivery: apply to theirs
            logger.debug("Order %s appeared while adopting", payment.merchant_uid)
        return self.apply(
            payment,
            source=source,
            inbox_id=inbox_id,
            record=record,
            connection=connection,
        )

    # -- many orders ------------------------------------------------------------

    def reconcile(
        self,
        *,
        since: dt.datetime | None = None,
        states: t.Collection[OrderState] | None = None,
        batch_size: int = 100,
        progress: t.Callable[[int], None] | None = None,
    ) -> ReconcileReport:
        """Bring orders in line with PortOne, up to 100 per API call.

        :param since: every order changed at or after this time, in any state.
            Without it, every order in an open state (see
            :data:`~flask_nicepay.machine.OPEN_STATES`).
        :param states: override which states are re-checked.
        :param batch_size: ids per multi-lookup (at most 100).
        :param progress: called with the number of orders done after each batch.
        """
        if states is None and since is None:
            states = OPEN_STATES
        report = ReconcileReport()
        for batch in self.store.iter_orders(
            states=states, updated_since=since, batch_size=batch_size
        ):
            self._reconcile_batch(batch, report)
            if progress is not None:
                progress(len(batch))
        return report

    def _reconcile_batch(self, batch: list[Order], report: ReconcileReport) -> None:
        report.orders += len(batch)
        by_imp: dict[str, Order] = {}
        by_merchant: dict[str, Order] = {}
        for order in batch:
            imp_uid = _followed_attempt(order)
            if imp_uid is None:
                by_merchant[order.merchant_uid] = order
            else:
                by_imp[imp_uid] = order
        try:
            report.api_calls += 1
            lookup = self.client.get_payments(
                imp_uids=list(by_imp), merchant_uids=list(by_merchant)
            )
        except PortOneError as exc:
            report.errors.append(f"lookup of {len(batch)} orders failed: {exc}")
            return
        report.not_at_portone += len(lookup.missing)
        for payment in lookup.items:
            known = by_imp.get(payment.imp_uid) or by_merchant.get(payment.merchant_uid)
            try:
                result = self.apply(payment, source="reconcile", known=known)
            except (PortOneError, LookupError, RuntimeError) as exc:
                report.errors.append(f"{payment.merchant_uid}: {exc}")
                continue
            if result.outcome is Outcome.NOOP:
                report.unchanged += 1
            else:
                report.applied += 1

    def expire_vbanks(self, *, batch_size: int = 100) -> list[Order]:
        """Expire virtual accounts past their deadline that PortOne shows unpaid.

        PortOne V1 sends nothing when a deadline passes, so this re-checks each
        overdue account on the API first: one paid at the last minute is marked
        paid, never expired.
        """
        now = self.clock()
        expired: list[Order] = []
        for batch in self.store.iter_orders(
            states=[OrderState.VBANK_ISSUED], batch_size=batch_size
        ):
            overdue = {o.imp_uid: o for o in batch if truth.vbank_overdue(o, now)}
            overdue.pop(None, None)
            if not overdue:
                continue
            lookup = self.client.get_payments(imp_uids=[u for u in overdue if u])
            for payment in lookup.items:
                result = self.apply(payment, source="sweep")
                if (
                    result.order is not None
                    and result.order.state is OrderState.VBANK_ISSUED
                ):
                    expired.extend(self._expire(result.order, payment, now))
        return expired

    def _expire(self, order: Order, payment: Payment, now: dt.datetime) -> list[Order]:
        def decide(conn: Connection, current: Order) -> Plan | None:
            if (
                not truth.vbank_overdue(current, now)
                or current.imp_uid != payment.imp_uid
            ):
                return None
            return Plan(events=("expire",), updates={"expired_at": now})

        applied = self.store.apply(order.merchant_uid, decide, source="sweep")
        self.announce(applied.transitions)
        return [applied.order] if applied.transitions else []


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


def _followed_attempt(order: Order) -> str | None:
    """The attempt to look up, or None to ask for the order's latest attempt.

    A ready or failed order may have been paid by a newer attempt, which only a
    lookup by merchant_uid finds; any other order follows its known attempt.
    """
    if order.state in (OrderState.READY, OrderState.FAILED):
        return None
    return order.imp_uid


def _extra_reason(order: Order) -> str:
    if order.state is OrderState.CANCELLED:
        return "payment for an order that was closed"
    return f"second payment for an order already paid by {order.imp_uid}"


def _holds_money(payment: Payment) -> bool:
    return truth.was_paid(payment) and payment.balance > 0


def _action(hold: bool) -> str:
    return "hold" if hold else "cancel"


def _chain(
    first: t.Callable[[Connection, Order], None] | None,
    second: t.Callable[[Connection, Order], None],
) -> t.Callable[[Connection, Order], None]:
    if first is None:
        return second

    def both(conn: Connection, order: Order) -> None:
        first(conn, order)
        second(conn, order)

    return both
