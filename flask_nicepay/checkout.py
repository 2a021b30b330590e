"""The parameters of ``IMP.request_pay``, computed on the server. No Flask here.

The amount, currency, ``merchant_uid``, order name and tax parts come from the order
row; the browser never supplies them. What the store may choose per checkout
(:class:`CheckoutOptions`) is validated by :data:`OPTIONS` with NICE's rules, once:

* installments (``display.card_quota``, ``card.direct.quota``) only from 50,000 KRW;
* USD only as card payments, and on phones only in NICE's newer mobile window
  (``niceMobileV2``), which is therefore switched on for every USD checkout;
* card companies named by their KFTC codes;
* a virtual-account deadline in the future.

What a checkout offers the buyer (:class:`Offer`: the methods, the installment
months, escrow) is recorded on the order, since the browser can change any
parameter it hands to ``IMP.request_pay``; verification holds the payment to it.
"""

from __future__ import annotations

import datetime as dt
import typing as t
from decimal import Decimal
from zoneinfo import ZoneInfo

from marshmallow import EXCLUDE
from marshmallow import Schema
from marshmallow import ValidationError
from marshmallow import fields
from marshmallow import post_load
from marshmallow import validate

from .i18n import LANGUAGES
from .offers import PAY_METHODS
from .offers import Offer
from .store import Order

KST = ZoneInfo("Asia/Seoul")
#: Installments are offered only from this many won (NICE code 3024).
INSTALLMENT_MINIMUM = Decimal(50_000)
#: KFTC card-company codes PortOne uses for NICE (``card_code``).
CARD_CODES = {
    "361": "BC",
    "381": "KB국민",
    "367": "현대",
    "365": "삼성",
    "368": "롯데",
    "371": "NH",
    "041": "우리",
    "374": "하나",
    "045": "새마을",
    "373": "제주",
    "364": "광주",
    "366": "신한",
    "002": "KDB",
    "369": "수협",
    "048": "신협",
    "370": "씨티",
    "071": "우체국",
    "089": "K뱅크",
    "372": "전북",
    "090": "카카오뱅크",
}


class _CardDirect(Schema):
    code = fields.String(required=True, validate=validate.OneOf(tuple(CARD_CODES)))
    quota = fields.Integer(load_default=0, validate=validate.Range(min=0, max=36))


class _CardDetail(Schema):
    card_code = fields.String(
        required=True, validate=validate.OneOf(("*", *CARD_CODES))
    )
    enabled = fields.Boolean(required=True)


class CheckoutOptionsSchema(Schema):
    """What a store may choose per checkout; the rest comes from the order."""

    class Meta:
        unknown = EXCLUDE

    #: The methods the buyer may choose from on the page.
    pay_methods = fields.List(
        fields.String(validate=validate.OneOf(PAY_METHODS)),
        load_default=lambda: list(PAY_METHODS),
        validate=validate.Length(min=1),
    )
    #: The one chosen when the page opens.
    pay_method = fields.String(load_default=None, validate=validate.OneOf(PAY_METHODS))
    #: The page's and the window's language; ``None`` lets the buyer's browser
    #: choose (see :mod:`flask_nicepay.display`).
    language = fields.String(
        load_default=None, allow_none=True, validate=validate.OneOf(LANGUAGES)
    )
    escrow = fields.Boolean(load_default=False)
    nice_mobile_v2 = fields.Boolean(load_default=None, allow_none=True)
    #: Installment months offered besides the lump sum, e.g. ``[2, 3, 6]``;
    #: ``None`` leaves NICE's own installment menu in place (no ``display``).
    card_quota = fields.List(
        fields.Integer(validate=validate.Range(min=2, max=36)),
        load_default=list,
        allow_none=True,
    )
    card_direct = fields.Nested(_CardDirect, load_default=None, allow_none=True)
    card_detail = fields.List(fields.Nested(_CardDetail), load_default=list)
    vbank_due = fields.AwareDateTime(load_default=None, allow_none=True)
    digital = fields.Boolean(load_default=None, allow_none=True)
    custom_data = fields.Raw(load_default=None, allow_none=True)

    @post_load
    def _make(self, data: dict[str, t.Any], **kwargs: t.Any) -> CheckoutOptions:
        methods = list(dict.fromkeys(data["pay_methods"]))
        chosen = data["pay_method"] or methods[0]
        if chosen not in methods:
            raise ValidationError("Must be one of pay_methods.", "pay_method")
        return CheckoutOptions(**{**data, "pay_methods": methods, "pay_method": chosen})


class CheckoutOptions(t.NamedTuple):
    """Validated per-checkout choices (see :class:`CheckoutOptionsSchema`)."""

    pay_methods: list[str] = list(PAY_METHODS)  # noqa: RUF012
    pay_method: str = "card"
    language: str | None = None
    escrow: bool = False
    nice_mobile_v2: bool | None = None
    card_quota: list[int] | None = []  # noqa: RUF012 - defaults are never mutated
    card_direct: dict[str, t.Any] | None = None
    card_detail: list[dict[str, t.Any]] = []  # noqa: RUF012
    vbank_due: dt.datetime | None = None
    digital: bool | None = None
    custom_data: t.Any = None


OPTIONS = CheckoutOptionsSchema()


def offer(options: CheckoutOptions) -> Offer:
    """What one checkout's options show the buyer, to hold its payment to."""
    months: set[int] | None = None
    if options.card_quota is not None:
        months = set(options.card_quota)
        direct = options.card_direct["quota"] if options.card_direct else 0
        if direct >= 2:
            months.add(direct)
    return Offer(
        frozenset(options.pay_methods),
        None if months is None else frozenset(months),
        frozenset({options.escrow}),
    )


def defaults(order: Order) -> dict[str, t.Any]:
    """The options of a checkout, before the store's own choices are laid over them.

    :returns: for a USD order only the card, the one method NICE takes USD with.
    """
    chosen: dict[str, t.Any] = {}
    if order.currency == "USD":
        chosen["pay_methods"] = ["card"]
    return chosen


def check(order: Order, options: CheckoutOptions, *, now: dt.datetime) -> None:
    """Refuse options that NICE would refuse for this order.

    :raises marshmallow.ValidationError: naming the option and the rule.
    """
    errors: dict[str, list[str]] = {}
    installments = bool(options.card_quota) or bool(
        options.card_direct and options.card_direct["quota"] >= 2
    )
    if installments and (order.currency != "KRW" or order.amount < INSTALLMENT_MINIMUM):
        field = "card_quota" if options.card_quota else "card_direct"
        errors[field] = ["Installments are offered only from 50,000 KRW."]
    if options.card_direct and options.card_direct["quota"] == 1:
        errors["card_direct"] = ["quota is 0 (lump sum) or 2 months and more."]
    if order.currency == "USD":
        if options.pay_methods != ["card"]:
            errors["pay_methods"] = ["USD can only be paid by card."]
        if options.nice_mobile_v2 is False:
            errors["nice_mobile_v2"] = ["USD on phones needs niceMobileV2."]
    if options.vbank_due is not None and options.vbank_due <= now:
        errors["vbank_due"] = ["The deadline must be in the future."]
    if errors:
        raise ValidationError(errors)


def request_pay_params(
    order: Order,
    options: CheckoutOptions,
    *,
    m_redirect_url: str,
    notice_url: str | None,
    channel_key: str | None = None,
    pg: str | None = None,
    nice_mobile_v2: bool = False,
    vbank_due: dt.datetime | None = None,
) -> dict[str, t.Any]:
    """The object the checkout page passes to ``IMP.request_pay``.

    :param m_redirect_url: where a phone returns after paying (absolute URL).
    :param notice_url: the webhook URL for this payment (absolute URL).
    :param channel_key: the channel key (current SDK); or ``pg`` (deprecated).
    :param nice_mobile_v2: the store's default for NICE's newer mobile window.
    :param vbank_due: the deadline when the options give none.
    """
    params: dict[str, t.Any] = {
        "pay_method": options.pay_method,
        "merchant_uid": order.merchant_uid,
        "name": order.name,
        "amount": _number(order.amount),
        "currency": order.currency,
        "language": options.language or LANGUAGES[0],
        "m_redirect_url": m_redirect_url,
        "niceMobileV2": _mobile_v2(order, options, nice_mobile_v2),
    }
    if channel_key:
        params["channelKey"] = channel_key
    elif pg:
        params["pg"] = pg
    params.update(_order_fields(order, notice_url))
    params.update(_option_fields(order, options, vbank_due))
    return params


#: The buyer's details passed on when the order has them.
_BUYER_FIELDS = (
    "buyer_name",
    "buyer_email",
    "buyer_tel",
    "buyer_addr",
    "buyer_postcode",
)


def _order_fields(order: Order, notice_url: str | None) -> dict[str, t.Any]:
    """What the order adds when it has it: the buyer, the webhook, the taxes."""
    params = {key: getattr(order, key) for key in _BUYER_FIELDS if getattr(order, key)}
    if notice_url:
        params["notice_url"] = notice_url
    if order.tax_free is not None:
        params["tax_free"] = _number(order.tax_free)
    if order.vat_amount is not None:
        params["vat_amount"] = _number(order.vat_amount)
    return params


def _option_fields(
    order: Order, options: CheckoutOptions, vbank_due: dt.datetime | None
) -> dict[str, t.Any]:
    """What the checkout's options add: escrow, card choices, deadline, custom data."""
    params: dict[str, t.Any] = {}
    if options.escrow:
        params["escrow"] = True
    if options.digital is not None:
        params["digital"] = options.digital
    params.update(_card(options))
    due = options.vbank_due or vbank_due
    if options.pay_method == "vbank" and due is not None:
        params["vbank_due"] = due.astimezone(KST).strftime("%Y%m%d%H%M")
    custom = (
        options.custom_data if options.custom_data is not None else order.custom_data
    )
    if custom is not None:
        params["custom_data"] = custom
    return params


def _card(options: CheckoutOptions) -> dict[str, t.Any]:
    if options.pay_method != "card":
        return {}
    params: dict[str, t.Any] = {}
    if options.card_quota is not None:
        params["display"] = {"card_quota": sorted(set(options.card_quota))}
    card: dict[str, t.Any] = {}
    if options.card_direct:
        card["direct"] = dict(options.card_direct)
    if options.card_detail:
        card["detail"] = [dict(item) for item in options.card_detail]
    if card:
        params["card"] = card
    return params


def _mobile_v2(order: Order, options: CheckoutOptions, default: bool) -> bool:
    if order.currency == "USD":
        return True
    return default if options.nice_mobile_v2 is None else options.nice_mobile_v2


def _number(amount: Decimal) -> int | float:
    """JSON number for the SDK: the amount is a number, never a string."""
    if amount == amount.to_integral_value():
        return int(amount)
    return float(amount)
