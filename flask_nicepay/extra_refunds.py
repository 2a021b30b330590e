"""Paying back an extra payment that its automatic cancel did not.

A payment that must not pay its order (a second payment of an order already paid,
money paid into a closed order, a payment that failed verification) is cancelled
automatically, and the janitor sends a refused cancel again. Some end ``failed``
for good: a deposit into a virtual account (PortOne refunds it only to an account
the buyer names), a cancel PortOne refused up to the janitor's bound, a payment
cancelled in part elsewhere since, or one the policy held. When its order is paid
by another payment, :meth:`~flask_nicepay.refunds.Refunds.refund` and
:meth:`~flask_nicepay.refunds.Refunds.cancel` act on that other payment, so this is
the operator's way to pay the extra one back, with the same care as any refund:

1. PortOne's view of the payment is fetched and applied, so the balance is its own;
2. the payment's ledger row is made ``pending`` again by compare-and-swap, for that
   balance (so the janitor, or a second operator, cannot send it too);
3. the cancel goes out with the balance as ``checksum``, and PortOne's answer
   settles the row as any automatic cancel's does.
"""

from __future__ import annotations

from . import ledger
from . import ledger_auto
from . import truth
from .cancel_requests import CancelAsk
from .ledger import RefundInProgressError
from .parts import Part
from .parts import Parts
from .portone import NoResponseError
from .portone import Payment
from .portone import PortOneError
from .portone import RefundAccount
from .refunds import Money
from .refunds import RefundError
from .refunds import RefundResult
from .store import Order
from .store import UnknownOrderError
from .sync import Reconciler
from .tax import TaxParts
from .tax import TaxPartsError

#: The rows an operator may pay back: sent and refused, let be, or held.
TAKEN_BACK = ("failed", "held")


class ExtraPayments(Part):
    """Pays back, on an operator's word, an extra payment the plugin kept.

    :param parts: the PortOne client, the order store and the clock.
    :param reconciler: applies what PortOne answers.
    """

    def __init__(self, parts: Parts, reconciler: Reconciler) -> None:
        super().__init__(parts)
        self.reconciler = reconciler

    def refund_extra(
        self,
        merchant_uid: str,
        imp_uid: str,
        *,
        reason: str | None = None,
        refund_account: RefundAccount | None = None,
        tax_free: Money | None = None,
        vat_amount: Money | None = None,
        source: str = "api",
    ) -> RefundResult:
        """Pay back all PortOne still holds of ``imp_uid``, an extra payment of the
        order whose automatic cancel ended ``failed`` (or the policy ``held``).

        :param imp_uid: the extra payment, as its ledger row (``auto``) names it.
        :param refund_account: where a deposit into a virtual account goes back.
        :param tax_free: the tax-free part of what is left of it, with
            ``vat_amount``: by default what is left of the order's parts.
        :param vat_amount: the VAT part of what is left of it, likewise.
        :raises RefundError: no such extra payment to pay back, nothing left of
            it at PortOne, a virtual-account deposit without ``refund_account``,
            or tax parts that cannot be right.
        :raises ledger.RefundInProgressError: its cancel is being sent right now.
        :raises PortOneError: PortOne refused or could not be reached; the row
            records the outcome.
        """
        order, row = self._row(merchant_uid, imp_uid)
        ask = self._ask(
            order, imp_uid, refund_account, TaxParts.of(tax_free, vat_amount)
        )
        self._reopen(row.id, ask, refund_account)
        cancelled = self._cancel(row.id, ask, reason or row.reason, refund_account)
        result = self.reconciler.apply(cancelled, source=source)
        return RefundResult(row.id, ask.balance, result)

    def _reopen(
        self, row_id: int, ask: CancelAsk, refund_account: RefundAccount | None
    ) -> None:
        """Make the row ``pending`` for what PortOne holds now, if still ours."""
        reopened = ledger_auto.reopen_automatic(
            self.store.engine,
            row_id,
            amount=ask.balance,
            now=self.clock(),
            statuses=TAKEN_BACK,
            refund=refund_account,
        )
        if not reopened:
            raise RefundInProgressError(
                f"The cancel of {ask.imp_uid} is being sent already; try again later."
            )

    def _ask(
        self,
        order: Order,
        imp_uid: str,
        refund_account: RefundAccount | None,
        given: TaxParts,
    ) -> CancelAsk:
        """The cancel of all PortOne holds of the payment now, checked before
        anything is written."""
        payment = self.client.get_payment(imp_uid)
        self.reconciler.apply(payment, source="refund")
        _check(payment, order.merchant_uid, refund_account)
        try:
            return self.reconciler.cancels.whole(order, payment, given)
        except TaxPartsError as exc:
            raise RefundError(str(exc)) from None

    def _row(self, merchant_uid: str, imp_uid: str) -> tuple[Order, ledger.RefundRow]:
        """The order, and the payment's automatic-cancel row in a state to be paid
        back."""
        order = self.store.get(merchant_uid)
        if order is None:
            raise UnknownOrderError(merchant_uid)
        row = ledger_auto.automatic_row(self.store.engine, merchant_uid, imp_uid)
        if row is None:
            raise RefundError(
                f"Order {merchant_uid} has no extra payment {imp_uid}: refund the "
                "order's own payment with refund() or cancel()."
            )
        if row.status in ledger.OPEN:
            raise RefundInProgressError(
                f"The cancel of {imp_uid} is in flight ({row.status}); try again "
                "once it settled."
            )
        if row.status not in TAKEN_BACK:
            raise RefundError(f"Extra payment {imp_uid} was {row.status} already.")
        return order, row

    def _cancel(
        self,
        row_id: int,
        ask: CancelAsk,
        reason: str | None,
        refund_account: RefundAccount | None,
    ) -> Payment:
        """Send the cancel with the balance as ``checksum``; a failure settles the
        row (``unknown`` when the cancel may have gone through) and is raised."""
        engine, now = self.store.engine, self.clock()
        try:
            return self.reconciler.cancels.send(
                ask,
                reason=f"flask-nicepay: {reason or 'extra payment'}"[:200],
                refund=refund_account,
            )
        except PortOneError as exc:
            status = "unknown" if isinstance(exc, NoResponseError) else "failed"
            ledger.settle(engine, row_id, status, now=now, error=str(exc))
            raise


def _check(
    payment: Payment, merchant_uid: str, refund_account: RefundAccount | None
) -> None:
    """Refuse, before anything is written, what cannot be paid back as asked."""
    if payment.merchant_uid != merchant_uid:
        raise RefundError(f"Payment {payment.imp_uid} is not for order {merchant_uid}.")
    if not truth.was_paid(payment) or payment.balance <= 0:
        raise RefundError(f"PortOne holds nothing more of {payment.imp_uid}.")
    if payment.pay_method == "vbank" and refund_account is None:
        raise RefundError(
            "A deposit into a virtual account is refunded to a bank account: pass "
            "refund_account (holder, 3-digit bank code, account number)."
        )
