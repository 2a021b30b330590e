"""Cancels and refunds (``POST /payments/cancel``)."""

from __future__ import annotations

import typing as t

from .. import schemas
from ..models import Payment
from ..models import RefundAccount
from .base import Money
from .base import Resource


class Cancels(Resource):
    """Money given back, in full or in part; never repeated automatically."""

    def create(
        self,
        *,
        imp_uid: str | None = None,
        merchant_uid: str | None = None,
        amount: Money | None = None,
        tax_free: Money | None = None,
        vat_amount: Money | None = None,
        checksum: Money | None = None,
        reason: str | None = None,
        refund: RefundAccount | None = None,
        enable_webhook: bool | None = None,
    ) -> Payment:
        """Cancel a payment in full or in part (``POST /payments/cancel``).

        Never repeated automatically: if no answer arrives, look the payment up
        before deciding anything.

        :param imp_uid: the payment; wins over ``merchant_uid`` when both are given.
        :param merchant_uid: the order, when the ``imp_uid`` is not known.
        :param amount: how much to cancel; ``None`` cancels everything left.
        :param tax_free: the tax-free part of ``amount``; NICE needs it whenever the
            payment had one.
        :param vat_amount: the VAT part of ``amount``; NICE needs it whenever the
            payment stated one.
        :param checksum: the balance the caller believes is left (amount minus what
            was cancelled before); PortOne refuses the cancel if its own differs.
        :param reason: why, as the buyer and the store's staff will read it.
        :param refund: the account a virtual-account payment is refunded to.
        :param enable_webhook: ask PortOne to send the ``cancelled`` webhook, which
            it does not for cancels made through the API otherwise.
        :raises APIError: code 1 when there is nothing to cancel or the payment is
            already fully cancelled; non-zero codes for amounts or checksums that do
            not add up.
        """
        if not (imp_uid or merchant_uid):
            raise ValueError("cancel() needs imp_uid or merchant_uid.")
        body: dict[str, t.Any] = {
            "imp_uid": imp_uid,
            "merchant_uid": merchant_uid,
            "amount": amount,
            "tax_free": tax_free,
            "vat_amount": vat_amount,
            "checksum": checksum,
            "reason": reason,
            "enable_webhook": enable_webhook,
        }
        if refund is not None:
            body.update(refund.as_params())
        answer = self._requestor.call("POST", "/payments/cancel", body=body)
        return answer.one(schemas.PAYMENT)
