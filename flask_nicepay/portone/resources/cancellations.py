"""Cancels and refunds (``POST /payments/cancel``)."""

from __future__ import annotations

import typing as t

from .. import schemas
from ..models import Payment
from ..models import RefundAccount
from .base import Money
from .base import Resource
from .base import options_body
from .base import spelled_out


class CancelOptions(t.TypedDict, total=False):
    """The keywords of :meth:`Cancels.create`, all ``None`` by default."""

    #: The payment; wins over ``merchant_uid`` when both are given.
    imp_uid: str | None
    #: The order, when the ``imp_uid`` is not known.
    merchant_uid: str | None
    #: How much to cancel; ``None`` cancels everything left.
    amount: Money | None
    #: The tax-free part of ``amount``; NICE needs it whenever the payment had one.
    tax_free: Money | None
    #: The VAT part of ``amount``; NICE needs it whenever the payment stated one.
    vat_amount: Money | None
    #: The balance the caller believes is left (amount minus what was cancelled
    #: before); PortOne refuses the cancel if its own differs.
    checksum: Money | None
    #: Why, as the buyer and the store's staff will read it.
    reason: str | None
    #: The account a virtual-account payment is refunded to.
    refund: RefundAccount | None
    #: Ask PortOne to send the ``cancelled`` webhook, which it does not for cancels
    #: made through the API otherwise.
    enable_webhook: bool | None


class Cancels(Resource):
    """Money given back, in full or in part; never repeated automatically."""

    @spelled_out(CancelOptions)
    def create(self, **options: t.Unpack[CancelOptions]) -> Payment:
        """Cancel a payment in full or in part (``POST /payments/cancel``).

        Never repeated automatically: if no answer arrives, look the payment up
        before deciding anything.

        :param options: see :class:`CancelOptions`; ``imp_uid`` or ``merchant_uid``
            is needed.
        :raises APIError: code 1 when there is nothing to cancel or the payment is
            already fully cancelled; non-zero codes for amounts or checksums that do
            not add up.
        """
        body = options_body("create", options, CancelOptions)
        if not (body["imp_uid"] or body["merchant_uid"]):
            raise ValueError("cancel() needs imp_uid or merchant_uid.")
        refund = body.pop("refund")
        if refund is not None:
            body.update(refund.as_params())
        answer = self._requestor.call("POST", "/payments/cancel", body=body)
        return answer.one(schemas.PAYMENT)
