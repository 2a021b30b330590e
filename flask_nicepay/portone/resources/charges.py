"""Payments the server makes itself: key-in (``/subscribe/payments/onetime``) and
billing-key charges (``/subscribe/payments/again``)."""

from __future__ import annotations

import typing as t

from ..models import Buyer
from ..models import Card
from ..models import Payment
from .base import CustomData
from .base import Money
from .base import Resource
from .base import json_text


class Charges(Resource):
    """Charge a card or a billing key; never repeated automatically."""

    def onetime(
        self,
        *,
        merchant_uid: str,
        amount: Money,
        card: Card,
        name: str | None = None,
        customer_uid: str | None = None,
        currency: str | None = None,
        card_quota: int | None = None,
        tax_free: Money | None = None,
        vat_amount: Money | None = None,
        buyer: Buyer | None = None,
        custom_data: CustomData = None,
        notice_url: str | None = None,
        pg: str | None = None,
        channel_key: str | None = None,
    ) -> Payment:
        """A key-in payment (``POST /subscribe/payments/onetime``).

        Never repeated automatically. With ``customer_uid`` the card is also kept as
        a billing key under that name.

        :param merchant_uid: the store's id of the order.
        :param amount: how much to charge.
        :param card: the card data; it goes to PortOne and nowhere else.
        :param name: the order's name, as the buyer sees it.
        :param customer_uid: also keep the card as a billing key under this name.
        :param currency: ``KRW`` (PortOne's default) or another currency.
        :param card_quota: installment months (2 or more), only from 50,000 KRW.
        :param tax_free: the tax-free part of ``amount``.
        :param vat_amount: the VAT part of ``amount``.
        :param buyer: the buyer's contact details.
        :param custom_data: kept by PortOne with the payment, as JSON text.
        :param notice_url: where PortOne sends this payment's webhook.
        :param pg: the PG to charge through, when the store has several.
        :param channel_key: the channel to charge through, instead of ``pg``.
        :raises CardError: the card could not be authenticated; nothing was paid.
        :raises PaymentDeclinedError: the card company declined; the failed payment
            is on the error.
        """
        body: dict[str, t.Any] = {
            "merchant_uid": merchant_uid,
            "amount": amount,
            **card.as_params(),
            "name": name,
            "customer_uid": customer_uid,
            "currency": currency,
            "card_quota": card_quota,
            "tax_free": tax_free,
            "vat_amount": vat_amount,
            "custom_data": json_text(custom_data),
            "notice_url": notice_url,
            "pg": pg,
            "channel_key": channel_key,
            **(buyer.as_params() if buyer else {}),
        }
        return self._requestor.charge("/subscribe/payments/onetime", body)

    def again(
        self,
        *,
        customer_uid: str,
        merchant_uid: str,
        amount: Money,
        name: str,
        currency: str | None = None,
        card_quota: int | None = None,
        tax_free: Money | None = None,
        vat_amount: Money | None = None,
        buyer: Buyer | None = None,
        custom_data: CustomData = None,
        notice_url: str | None = None,
        channel_key: str | None = None,
    ) -> Payment:
        """Charge a billing key (``POST /subscribe/payments/again``).

        Never repeated automatically: a repeat with the same ``merchant_uid`` is
        refused by PortOne once the first one was paid, which is the guard against
        charging twice.

        :param customer_uid: the billing key to charge.
        :param merchant_uid: the store's id of the order.
        :param amount: how much to charge.
        :param name: the order's name, as the buyer sees it.
        :param currency: ``KRW`` (PortOne's default) or another currency.
        :param card_quota: installment months (2 or more), only from 50,000 KRW.
        :param tax_free: the tax-free part of ``amount``.
        :param vat_amount: the VAT part of ``amount``.
        :param buyer: the buyer's contact details.
        :param custom_data: kept by PortOne with the payment, as JSON text.
        :param notice_url: where PortOne sends this payment's webhook.
        :param channel_key: the channel to charge through.
        :raises APIError: code 1 when the ``customer_uid`` has no billing key.
        :raises PaymentDeclinedError: the card company declined.
        """
        body: dict[str, t.Any] = {
            "customer_uid": customer_uid,
            "merchant_uid": merchant_uid,
            "amount": amount,
            "name": name,
            "currency": currency,
            "card_quota": card_quota,
            "tax_free": tax_free,
            "vat_amount": vat_amount,
            "custom_data": json_text(custom_data),
            "notice_url": notice_url,
            "channel_key": channel_key,
            **(buyer.as_params() if buyer else {}),
        }
        return self._requestor.charge("/subscribe/payments/again", body)
