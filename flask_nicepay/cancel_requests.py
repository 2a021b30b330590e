"""Every cancel the plugin sends to PortOne, built in one place.

A refund (:mod:`~flask_nicepay.refunds`), the automatic cancel of a payment that
must not pay its order (:mod:`~flask_nicepay.sync`), the janitor sending a refused
one again and the operator paying back an extra payment
(:mod:`~flask_nicepay.extra_refunds`) all ask :class:`CancelRequests` for a
:class:`CancelAsk` and send it here. So each carries ``checksum`` (the balance the
plugin saw) and the tax-free and VAT parts the MID's tax mode needs
(:mod:`~flask_nicepay.tax`), worked out from the parts the order stated less those
of the payment's cancels that went through.

The parts of a payment are not in PortOne's answers: they are the order's, which
every payment of the order was asked with (the checkout, billing and schedules all
send them).
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from . import ledger
from .parts import Part
from .parts import Parts
from .portone import Payment
from .portone import RefundAccount
from .store import Order
from .tax import UNSTATED
from .tax import TaxMode
from .tax import TaxParts
from .tax import TaxPartsError
from .tax import cancel_parts


@dataclasses.dataclass(frozen=True, slots=True)
class CancelAsk:
    """One cancel, as it will be asked of PortOne."""

    imp_uid: str
    #: How much; None for all that is left.
    amount: Decimal | None
    #: What the payment holds now: sent as ``checksum``.
    balance: Decimal
    #: The tax-free and VAT parts sent with it (None: left out).
    parts: TaxParts = UNSTATED


class CancelRequests(Part):
    """Builds and sends PortOne cancels with the parts the MID needs.

    :param parts: the PortOne client, the order store and the clock.
    :param tax_mode: the MID's tax mode (``NICEPAY_TAX_MODE``).
    """

    def __init__(self, parts: Parts, *, tax_mode: TaxMode = TaxMode.AUTO) -> None:
        super().__init__(parts)
        self.tax_mode = tax_mode

    def ask(
        self,
        order: Order,
        payment: Payment,
        amount: Decimal | None = None,
        given: TaxParts = UNSTATED,
    ) -> CancelAsk:
        """A cancel of ``amount`` (all that is left when None) of the order's
        ``payment``, as PortOne last showed it.

        :param given: the parts the store or operator asked for, if any.
        :raises TaxPartsError: parts that cannot be right, or that NICE needs and
            nobody can know; nothing was sent.
        """
        refunded = ledger.refunded_parts(
            self.store.engine, payment.merchant_uid, payment.imp_uid
        )
        parts = cancel_parts(
            self.tax_mode,
            paid=TaxParts(order.tax_free, order.vat_amount),
            refunded=TaxParts(*refunded),
            balance=payment.balance,
            amount=payment.balance if amount is None else amount,
            given=given,
        )
        return CancelAsk(payment.imp_uid, amount, payment.balance, parts)

    def whole(
        self, order: Order | None, payment: Payment, given: TaxParts = UNSTATED
    ) -> CancelAsk:
        """A cancel of all that is left of a payment that must not pay its order.

        The order's parts may not be this payment's: a buyer who changed the
        amount in the browser made a payment they may not fit. With the ``auto``
        tax mode NICE then works the parts out, as it did for the payment; with
        ``fixed`` nobody but the operator can know them.

        :param given: the parts of what is left, as the operator states them;
            checked against the payment alone.
        :raises TaxPartsError: with ``fixed``, when the parts cannot be known;
            or given parts that cannot be right.
        """
        balance = payment.balance
        if given != UNSTATED:
            parts = cancel_parts(
                self.tax_mode,
                paid=given,
                refunded=UNSTATED,
                balance=balance,
                amount=balance,
                given=given,
            )
            return CancelAsk(payment.imp_uid, None, balance, parts)
        try:
            if order is None:
                raise TaxPartsError(f"No order for {payment.imp_uid}.")
            return self.ask(order, payment)
        except TaxPartsError:
            if self.tax_mode is TaxMode.FIXED:
                raise
        return CancelAsk(payment.imp_uid, None, balance)

    def send(
        self,
        ask: CancelAsk,
        *,
        reason: str | None,
        refund: RefundAccount | None = None,
    ) -> Payment:
        """Send the cancel (``POST /payments/cancel``), never repeated.

        :param reason: why, as the buyer and the store's staff read it.
        :param refund: where a virtual-account payment is paid back.
        :raises PortOneError: PortOne refused, or gave no answer.
        """
        return self.client.cancel(
            imp_uid=ask.imp_uid,
            amount=ask.amount,
            tax_free=ask.parts.tax_free,
            vat_amount=ask.parts.vat_amount,
            checksum=ask.balance,
            reason=reason,
            refund=refund,
        )
