"""marshmallow schemas for what reaches flask-nicepay from the store and the web.

Validation rules live here, once: what an order may be, what can be an id at all,
and (for the web layer) what a webhook, a PC completion and a mobile return must
carry. PortOne's own answers are parsed by :mod:`flask_nicepay.portone.schemas`.
"""

from __future__ import annotations

import re
import reprlib
import typing as t
from decimal import Decimal

from marshmallow import EXCLUDE
from marshmallow import Schema
from marshmallow import ValidationError
from marshmallow import fields
from marshmallow import validate
from marshmallow import validates_schema

from .portone.schemas import Amount

#: PortOne allows 40 characters; the plugin also keeps them URL-safe.
MERCHANT_UID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,39}$")
IMP_UID = re.compile(r"^imp_[0-9a-zA-Z]{1,28}$")
CURRENCIES = ("KRW", "USD")
#: The kinds of id a store, an operator or a link hands the plugin.
IdKind = t.Literal["merchant_uid", "imp_uid", "customer_uid", "subscription_uid"]
#: The longest id of each kind: the length of the columns that hold it.
ID_LENGTHS: t.Final[t.Mapping[IdKind, int]] = {
    "merchant_uid": 40,
    "imp_uid": 32,
    "customer_uid": 80,
    "subscription_uid": 40,
}


class InvalidIdError(ValueError):
    """A value no order, payment, billing key or subscription can have as its id;
    nothing was looked up, written or sent to PortOne."""

    def __init__(self, kind: IdKind, value: object) -> None:
        super().__init__(
            f"{reprlib.repr(value)} cannot be a {kind}: 1-{ID_LENGTHS[kind]} "
            "characters of text, without NUL or lone surrogates."
        )
        self.kind = kind


def is_storable(text: str) -> bool:
    """Whether every database the plugin runs on can hold ``text`` as it is
    (:func:`flask_nicepay.inbox.storable` makes any text so, for the inbox).

    PostgreSQL refuses NUL in text, and no driver encodes a lone surrogate (which
    is how Werkzeug versions that decode with ``surrogateescape`` hand over bytes
    that were not UTF-8; those that decode with ``replace`` hand over U+FFFD, which
    is text like any other).
    """
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def can_be_id(kind: IdKind, value: object) -> bool:
    """Whether ``value`` can be the ``kind`` (``merchant_uid``, ``imp_uid``,
    ``customer_uid`` or ``subscription_uid``) of anything the plugin keeps.

    A value that cannot is never looked up: no row has it, and some databases
    refuse to compare with it. This is no check of an id's format (PortOne and the
    store choose those); only of what the columns can hold.
    """
    return (
        isinstance(value, str)
        and 0 < len(value) <= ID_LENGTHS[kind]
        and is_storable(value)
    )


def check_id(kind: IdKind, value: str) -> str:
    """``value``, if it can be a ``kind`` (see :func:`can_be_id`).

    :raises InvalidIdError: it cannot.
    """
    if not can_be_id(kind, value):
        raise InvalidIdError(kind, value)
    return value


def _merchant_uid(**kwargs: t.Any) -> fields.String:
    return fields.String(
        validate=validate.Regexp(
            MERCHANT_UID,
            error="merchant_uid: 1-40 of A-Z a-z 0-9 _ . : -, starting alphanumeric.",
        ),
        **kwargs,
    )


class OrderRequestSchema(Schema):
    """What a store passes to create an order."""

    class Meta:
        unknown = EXCLUDE

    merchant_uid = _merchant_uid(load_default=None)
    amount = Amount(required=True)
    currency = fields.String(load_default="KRW", validate=validate.OneOf(CURRENCIES))
    name = fields.String(required=True, validate=validate.Length(min=1, max=40))
    tax_free = Amount(load_default=None, allow_none=True)
    vat_amount = Amount(load_default=None, allow_none=True)
    buyer_name = fields.String(load_default=None, validate=validate.Length(max=16))
    buyer_email = fields.Email(load_default=None)
    buyer_tel = fields.String(load_default=None, validate=validate.Length(max=16))
    buyer_addr = fields.String(load_default=None, validate=validate.Length(max=128))
    buyer_postcode = fields.String(load_default=None, validate=validate.Length(max=8))
    pay_method = fields.String(
        load_default=None,
        validate=validate.OneOf(("card", "trans", "vbank", "phone", "kakaopay")),
    )
    custom_data = fields.Raw(load_default=None)

    @validates_schema
    def _amounts(self, data: dict[str, t.Any], **kwargs: t.Any) -> None:
        amount: Decimal = data["amount"]
        if amount <= 0:
            raise ValidationError("Must be more than 0.", "amount")
        places = 0 if data.get("currency", "KRW") == "KRW" else 2
        if amount != round(amount, places):
            unit = "won" if places == 0 else "cents"
            raise ValidationError(f"Must be a whole number of {unit}.", "amount")
        for part in ("tax_free", "vat_amount"):
            value = data.get(part)
            if value is not None and not 0 <= value <= amount:
                raise ValidationError("Must be between 0 and the amount.", part)
        tax_free, vat = data.get("tax_free") or 0, data.get("vat_amount") or 0
        if tax_free + vat > amount:
            raise ValidationError("tax_free plus vat_amount exceeds the amount.")


ORDER_REQUEST = OrderRequestSchema()


def _imp_uid(**kwargs: t.Any) -> fields.String:
    return fields.String(
        validate=validate.Regexp(
            IMP_UID, error="imp_uid: 'imp_' and up to 28 letters or digits."
        ),
        **kwargs,
    )


def _short(length: int) -> fields.String:
    return fields.String(
        load_default=None, allow_none=True, validate=validate.Length(max=length)
    )


class WebhookSchema(Schema):
    """PortOne's webhook: ``{imp_uid, merchant_uid, status}``, JSON or form."""

    class Meta:
        unknown = EXCLUDE

    imp_uid = _imp_uid(required=True)
    merchant_uid = _merchant_uid(load_default=None, allow_none=True)
    status = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.OneOf(("ready", "paid", "failed", "cancelled")),
    )
    cancellation_id = _short(64)


class CompletionSchema(Schema):
    """What the checkout page posts after ``IMP.request_pay``'s callback."""

    class Meta:
        unknown = EXCLUDE

    #: Absent when PortOne refused before opening the window.
    imp_uid = _imp_uid(load_default=None, allow_none=True)
    merchant_uid = _merchant_uid(required=True)
    error_code = _short(64)
    error_msg = _short(500)


class ReturnSchema(CompletionSchema):
    """The query of the phone's return to ``m_redirect_url``: what a completion
    carries, and PortOne's success flags (hints only, never trusted)."""

    imp_success = _short(8)
    success = _short(8)


WEBHOOK = WebhookSchema()
COMPLETION = CompletionSchema()
RETURN = ReturnSchema()
