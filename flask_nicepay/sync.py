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

import logging
import typing as t

from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from . import ledger
from .cancel_requests import CancelRequests
from .decision import Decision
from .decision import Record as Record
from .decision import SyncResult as SyncResult
from .decision import changes_nothing
from .inbound import check_id
from .inbox import Outcome
from .ledger_auto import NEEDS_REFUND_ACCOUNT
from .machine import InvalidTransitionError
from .machine import OrderState
from .machine import can_fire
from .parts import Notify
from .parts import Part
from .parts import Parts
from .portone import NoResponseError
from .portone import Payment
from .portone import PortOneError
from .store import Order
from .store import Plan
from .store import Transition
from .store import UnknownOrderError
from .sweeps import ManyOrders
from .sweeps import ReconcileReport as ReconcileReport
from .tax import TaxPartsError
from .verify import OnMismatch
from .verify import Policy

logger = logging.getLogger("flask_nicepay.sync")

#: What to do with a payment whose automatic cancel was not sent for its parts.
REFUND_BY_HAND = (
    "Not cancelled automatically: pay it back with its parts "
    "(flask nicepay cancel ORDER --payment IMP_UID --tax-free ... --vat-amount ...)."
)

#: Given a payment for an unknown merchant_uid, the order fields to create, or None.
Adopt = t.Callable[[Payment], "dict[str, t.Any] | None"]


class Reconciler(Part, ManyOrders):
    """Applies PortOne's truth to orders: one payment here, many in
    :class:`~flask_nicepay.sweeps.ManyOrders`.

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
        cancels: CancelRequests | None = None,
    ) -> None:
        super().__init__(parts)
        self.policy = policy
        self.notify = notify
        self.adopt = adopt
        self.cancels = cancels or CancelRequests(parts)

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
        :param record: see :meth:`~flask_nicepay.sync.Reconciler.apply`.
        :param connection: see :meth:`~flask_nicepay.sync.Reconciler.apply`.
        :param known: the order as read before the lookup, if it was; see
            :meth:`~flask_nicepay.sync.Reconciler.apply`.
        :raises PortOneError: PortOne could not be reached or refused the lookup.
        :raises InvalidIdError: an id no payment can have; PortOne was not asked.
        """
        if imp_uid:
            payment = self.client.get_payment(check_id("imp_uid", imp_uid))
        elif merchant_uid:
            payment = self.client.find_payment(check_id("merchant_uid", merchant_uid))
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
            snapshot did: in the write transaction if there is one, alone if
            nothing changed (never for an unknown order that is not adopted).
        :param connection: a connection with no transaction open to write on,
            instead of one from the pool (a notification uses one for all).
        """
        if known is not None and known.merchant_uid != payment.merchant_uid:
            known = None  # a stale or wrong pairing: the payment names its order
        if known is not None and changes_nothing(known, payment, self.policy):
            return SyncResult(Outcome.NOOP, known, payment)
        step = Decision(payment, self.policy, self.clock, record)
        try:
            step.write(self.store, source, inbox_id, connection, known)
        except UnknownOrderError:
            return self._unknown(payment, source, inbox_id, record, connection)
        return self._after_commit(step)

    def _after_commit(self, step: Decision) -> SyncResult:
        """Signal what the snapshot wrote, then cancel what must not pay."""
        result = step.outcome()
        self.announce(result.transitions)
        if step.reason is not None:
            self._after_guard(result, step.payment, step.reason)
        return result

    def _after_guard(self, result: SyncResult, payment: Payment, reason: str) -> None:
        """Cancel (or hold) a payment that must not pay its order, and say so once."""
        action = self.cancel_automatically(payment, reason)
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

    def cancel_automatically(self, payment: Payment, reason: str) -> str:
        """Cancel in full, with checksum, a payment that must not pay its order.

        Its ledger row (``auto:<imp_uid>``, pending) is written first; the outcome
        settles it. The janitor sends one that PortOne refused again. A deposit
        into a virtual account is not sent at all: PortOne refunds it only to an
        account the buyer names, so its row fails at once, saying so, and the
        operator refunds it (``"refund_by_hand"``). So is a payment whose tax
        parts the ``fixed`` tax mode needs and nobody can know.
        """
        if self.policy.on_mismatch is OnMismatch.HOLD:
            return "hold"
        row = ledger.guard_row_id(self.store.engine, payment.imp_uid)
        if payment.pay_method == "vbank":
            self._settle(row, "failed", NEEDS_REFUND_ACCOUNT)
            logger.error("Payment %s: %s", payment.imp_uid, NEEDS_REFUND_ACCOUNT)
            return "refund_by_hand"
        try:
            ask = self.cancels.whole(self.store.get(payment.merchant_uid), payment)
        except TaxPartsError as exc:
            why = f"{exc} {REFUND_BY_HAND}"
            self._settle(row, "failed", why)
            logger.error("Payment %s: %s", payment.imp_uid, why)
            return "refund_by_hand"
        try:
            cancelled = self.cancels.send(ask, reason=f"flask-nicepay: {reason}"[:200])
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
