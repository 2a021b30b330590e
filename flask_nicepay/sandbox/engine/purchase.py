"""A purchase made in one call: the options of ``Sandbox.checkout``.

:meth:`~flask_nicepay.sandbox.Sandbox.checkout` opens the payment window and
finishes it at once; :class:`CheckoutOptions` names what it takes besides the
order, and :func:`request_pay_params` turns them into the ``IMP.request_pay``
parameters the window checks.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any
from typing import Final
from typing import TypedDict

#: Defaults of the options that have one other than None.
_DEFAULTS: Final[Mapping[str, object]] = {
    "currency": "KRW",
    "channel": "pc",
    "name": "샌드박스 주문",
    "card_quota": 0,
    "escrow": False,
    "nice_mobile_v2": False,
}
#: Options passed on to ``IMP.request_pay``, in its order.
_REQUEST_PAY: Final = (
    "currency",
    "name",
    "buyer_name",
    "buyer_email",
    "buyer_tel",
    "buyer_addr",
    "buyer_postcode",
    "vbank_due",
    "notice_url",
    "custom_data",
    "escrow",
    "nice_mobile_v2",
    "tax_free",
    "vat_amount",
)
#: Options whose ``IMP.request_pay`` name is not theirs.
_WIRE_NAMES: Final = {"nice_mobile_v2": "niceMobileV2"}


class CheckoutOptions(TypedDict, total=False):
    """Keyword options of :meth:`~flask_nicepay.sandbox.Sandbox.checkout`.

    ``currency`` (``KRW``), ``name`` (``샌드박스 주문``), the ``buyer_*`` fields,
    ``vbank_due``, ``notice_url``, ``custom_data``, ``escrow``, ``tax_free``,
    ``vat_amount`` and ``nice_mobile_v2`` (``niceMobileV2``) are
    ``IMP.request_pay``'s. ``channel`` (``pc`` or ``mobile``) and ``user_agent``
    describe the buyer's browser; ``card_number``, ``card_code``, ``card_quota``
    (installment months, offered through ``display.card_quota`` when 2 or more)
    and ``vbank_code`` are what the buyer picks in the window.
    """

    currency: str
    channel: str
    name: str | None
    buyer_name: str | None
    buyer_email: str | None
    buyer_tel: str | None
    buyer_addr: str | None
    buyer_postcode: str | None
    card_number: str | None
    card_code: str | None
    card_quota: int
    vbank_code: str | None
    vbank_due: str | int | None
    notice_url: str | list[str] | None
    custom_data: Any
    escrow: bool
    nice_mobile_v2: bool
    user_agent: str | None
    tax_free: int | Decimal | None
    vat_amount: int | Decimal | None


def option(options: CheckoutOptions, key: str) -> Any:
    """One option, or its default.

    :param options: what the caller passed.
    :param key: a key of :class:`CheckoutOptions`.
    """
    given: Mapping[str, object] = options
    return given.get(key, _DEFAULTS.get(key))


def request_pay_params(
    merchant_uid: str,
    amount: int | float | Decimal,
    pay_method: str,
    options: CheckoutOptions,
) -> dict[str, Any]:
    """The ``IMP.request_pay`` parameters of a one-call checkout.

    :param merchant_uid: the order.
    :param amount: what it costs.
    :param pay_method: how the buyer pays.
    :param options: the rest, checked against :class:`CheckoutOptions`.
    :raises TypeError: on an option it does not know, as a keyword argument would.
    """
    unknown = sorted(set(options) - set(CheckoutOptions.__annotations__))
    if unknown:
        raise TypeError(f"checkout() got an unexpected keyword argument {unknown[0]!r}")
    params: dict[str, Any] = {
        "merchant_uid": merchant_uid,
        "amount": amount,
        "pay_method": pay_method,
    }
    params.update(
        (_WIRE_NAMES.get(key, key), option(options, key)) for key in _REQUEST_PAY
    )
    quota = option(options, "card_quota")
    if quota >= 2:
        params["display"] = {"card_quota": [quota]}
    return params
