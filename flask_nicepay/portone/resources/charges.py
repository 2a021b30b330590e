"""Payments the server makes itself: key-in (``/subscribe/payments/onetime``, and
``/subscribe/payments/foreign`` for foreign cards) and billing-key charges
(``/subscribe/payments/again``)."""

from __future__ import annotations

import typing as t

from ..models import Buyer
from ..models import Card
from ..models import Payment
from .base import CustomData
from .base import Money
from .base import Resource
from .base import options_body
from .base import spelled_out


class ChargeOptions(t.TypedDict, total=False):
    """What every payment the server makes may add, all ``None`` by default."""

    #: ``KRW`` (PortOne's default) or another currency.
    currency: str | None
    #: Installment months (2 or more), only from 50,000 KRW.
    card_quota: int | None
    #: The tax-free part of ``amount``.
    tax_free: Money | None
    #: The VAT part of ``amount``.
    vat_amount: Money | None
    #: The buyer's contact details.
    buyer: Buyer | None
    #: Kept by PortOne with the payment, as JSON text.
    custom_data: CustomData
    #: Where PortOne sends this payment's webhook.
    notice_url: str | None


class AgainOptions(ChargeOptions, total=False):
    """The optional keywords of :meth:`Charges.again`: those of
    :class:`ChargeOptions`, and the channel."""

    #: The channel to charge through.
    channel_key: str | None


class _KeyIn(t.TypedDict, total=False):
    name: str | None
    customer_uid: str | None


class OnetimeOptions(_KeyIn, ChargeOptions, total=False):
    """The optional keywords of :meth:`Charges.onetime`: ``name`` (the order's, as
    the buyer sees it), ``customer_uid`` (also keep the card as a billing key under
    this name), those of :class:`ChargeOptions`, and where to charge."""

    #: The PG to charge through, when the store has several.
    pg: str | None
    #: The channel to charge through, instead of ``pg``.
    channel_key: str | None


class ForeignOptions(ChargeOptions, total=False):
    """The optional keywords of :meth:`Charges.foreign`: ``name`` (the order's, as
    the buyer sees it), those of :class:`ChargeOptions`, and the PG."""

    #: The order's name, as the buyer sees it.
    name: str | None
    #: The PG to charge through, when the store has several.
    pg: str | None


class Charges(Resource):
    """Charge a card or a billing key; never repeated automatically."""

    @spelled_out(OnetimeOptions)
    def onetime(
        self,
        *,
        merchant_uid: str,
        amount: Money,
        card: Card,
        **options: t.Unpack[OnetimeOptions],
    ) -> Payment:
        """A key-in payment (``POST /subscribe/payments/onetime``).

        Never repeated automatically. With ``customer_uid`` the card is also kept as
        a billing key under that name.

        :param merchant_uid: the store's id of the order.
        :param amount: how much to charge.
        :param card: the card data; it goes to PortOne and nowhere else.
        :param options: see :class:`OnetimeOptions`.
        :raises CardError: the card could not be authenticated; nothing was paid.
        :raises PaymentDeclinedError: the card company declined; the failed payment
            is on the error.
        """
        given = options_body("onetime", options, OnetimeOptions)
        body = {"merchant_uid": merchant_uid, "amount": amount, **card.as_params()}
        body |= given
        return self._requestor.charge("/subscribe/payments/onetime", body)

    @spelled_out(AgainOptions)
    def again(
        self,
        *,
        customer_uid: str,
        merchant_uid: str,
        amount: Money,
        name: str,
        **options: t.Unpack[AgainOptions],
    ) -> Payment:
        """Charge a billing key (``POST /subscribe/payments/again``).

        Never repeated automatically: a repeat with the same ``merchant_uid`` is
        refused by PortOne once the first one was paid, which is the guard against
        charging twice.

        :param customer_uid: the billing key to charge.
        :param merchant_uid: the store's id of the order.
        :param amount: how much to charge.
        :param name: the order's name, as the buyer sees it.
        :param options: see :class:`AgainOptions`.
        :raises APIError: code 1 when the ``customer_uid`` has no billing key.
        :raises PaymentDeclinedError: the card company declined.
        """
        body: dict[str, t.Any] = {
            "customer_uid": customer_uid,
            "merchant_uid": merchant_uid,
            "amount": amount,
            "name": name,
        }
        body |= options_body("again", options, AgainOptions)
        return self._requestor.charge("/subscribe/payments/again", body)

    @spelled_out(ForeignOptions)
    def foreign(
        self,
        *,
        merchant_uid: str,
        amount: Money,
        card: Card,
        **options: t.Unpack[ForeignOptions],
    ) -> Payment:
        """A key-in payment with a foreign card (``POST /subscribe/payments/foreign``).

        Only the card's number and expiry are sent: a foreign card has no birth
        date or password digits to check. Never repeated automatically; no billing
        key is kept.

        :param merchant_uid: the store's id of the order.
        :param amount: how much to charge.
        :param card: the card data; it goes to PortOne and nowhere else.
        :param options: see :class:`ForeignOptions`.
        :raises CardError: the card could not be authenticated; nothing was paid.
        :raises PaymentDeclinedError: the card company declined.
        """
        number_and_expiry = {
            k: v for k, v in card.as_params().items() if k in ("card_number", "expiry")
        }
        body = {"merchant_uid": merchant_uid, "amount": amount, **number_and_expiry}
        body |= options_body("foreign", options, ForeignOptions)
        return self._requestor.charge("/subscribe/payments/foreign", body)
