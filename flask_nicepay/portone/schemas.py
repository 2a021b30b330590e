"""marshmallow schemas that turn PortOne's JSON into the typed values of
:mod:`flask_nicepay.portone.models`.

The rules every schema follows:

* unknown fields are ignored, so a field PortOne adds tomorrow breaks nothing;
* amounts become :class:`~decimal.Decimal`, never ``float``: the client parses JSON
  with ``parse_float=Decimal``, and :class:`Amount` refuses anything inexact;
* UNIX timestamps become aware UTC datetimes, and PortOne's ``0`` becomes ``None``;
* the payload as PortOne sent it is kept on the value's ``raw`` attribute.
"""

from __future__ import annotations

import datetime as dt
import json
import typing as t
from decimal import Decimal

from marshmallow import EXCLUDE
from marshmallow import Schema
from marshmallow import ValidationError
from marshmallow import fields
from marshmallow import missing
from marshmallow import post_load
from marshmallow import pre_load

from . import models

T = t.TypeVar("T")


class Amount(fields.Field[Decimal]):
    """A money amount: a JSON number (or numeric string) as an exact Decimal."""

    def _deserialize(
        self,
        value: t.Any,
        attr: str | None,
        data: t.Mapping[str, t.Any] | None,
        **kwargs: t.Any,
    ) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
            raise ValidationError("Not an exact amount.")
        try:
            amount = Decimal(value)
        except ArithmeticError as exc:
            raise ValidationError("Not a number.") from exc
        if not amount.is_finite():
            raise ValidationError("Not a finite number.")
        return amount


class UnixTime(fields.Field[dt.datetime | None]):
    """UNIX seconds as an aware UTC datetime; ``0`` and ``null`` mean "never"."""

    def __init__(self, **kwargs: t.Any) -> None:
        super().__init__(allow_none=True, load_default=None, **kwargs)

    def _deserialize(
        self,
        value: t.Any,
        attr: str | None,
        data: t.Mapping[str, t.Any] | None,
        **kwargs: t.Any,
    ) -> dt.datetime | None:
        if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
            raise ValidationError("Not a UNIX timestamp.")
        try:
            seconds = int(value)
        except ValueError as exc:
            raise ValidationError("Not a UNIX timestamp.") from exc
        if seconds == 0:
            return None
        return dt.datetime.fromtimestamp(seconds, dt.UTC)


class OptionalText(fields.String):
    """An optional string that PortOne may send as ``null`` or leave out.

    A payment carries some forty of them. A string, ``null`` or nothing is taken
    as it is, without marshmallow's general steps for a field (checking what is
    required, pre- and post-load hooks, validators), which this field has none of
    and which cost more than the check; anything else goes the general way, and so
    is refused as by :class:`marshmallow.fields.String`.
    """

    def __init__(self, **kwargs: t.Any) -> None:
        super().__init__(allow_none=True, load_default=None, **kwargs)
        self._plain = not (self.validators or self.pre_load or self.post_load)

    def deserialize(
        self,
        value: t.Any,
        attr: str | None = None,
        data: t.Mapping[str, t.Any] | None = None,
        **kwargs: t.Any,
    ) -> t.Any:  # str | None, as marshmallow's overloads say
        if self._plain:
            if value is None or value is missing:
                return None
            if type(value) is str:
                return value
        return super().deserialize(value, attr, data, **kwargs)


def _text(**kwargs: t.Any) -> fields.String:
    """An optional string that PortOne may send as ``null``."""
    return OptionalText(**kwargs)


class OptionalFlag(fields.Boolean):
    """A flag that PortOne may send as ``null`` or leave out (read as false).

    ``true``, ``false``, ``null`` and nothing are taken as they are, without the
    general steps (see :class:`OptionalText`); anything else goes the general way.
    """

    def __init__(self) -> None:
        super().__init__(allow_none=True, load_default=False)

    def deserialize(
        self,
        value: t.Any,
        attr: str | None = None,
        data: t.Mapping[str, t.Any] | None = None,
        **kwargs: t.Any,
    ) -> t.Any:  # bool | None, as marshmallow's overloads say
        if value is True or value is False or value is None:
            return value
        if value is missing:
            return False
        return super().deserialize(value, attr, data, **kwargs)


def _flag() -> fields.Boolean:
    return OptionalFlag()


class _PortOneSchema(Schema):
    """Base: tolerate unknown fields and remember the raw payload."""

    class Meta:
        unknown = EXCLUDE

    @pre_load
    def _keep_raw(self, data: t.Any, **kwargs: t.Any) -> t.Any:
        if not isinstance(data, t.Mapping):
            raise ValidationError("Expected a JSON object.")
        return {**data, "_raw": data}


class CancelRecordSchema(_PortOneSchema):
    pg_tid = _text()
    amount = Amount(required=True)
    cancelled_at = UnixTime()
    reason = _text()
    receipt_url = _text()
    cancellation_id = _text()

    @post_load
    def _make(self, data: dict[str, t.Any], **kwargs: t.Any) -> models.CancelRecord:
        return models.CancelRecord(**data)


class _PurchaseSchema(_PortOneSchema):
    """What payments and scheduled payments share: the order and the buyer."""

    name = _text()
    buyer_name = _text()
    buyer_email = _text()
    buyer_tel = _text()
    buyer_addr = _text()
    buyer_postcode = _text()
    custom_data = fields.Raw(allow_none=True, load_default=None)
    fail_reason = _text()
    raw = fields.Raw(data_key="_raw")


class PaymentSchema(_PurchaseSchema):
    imp_uid = fields.String(required=True)
    merchant_uid = fields.String(required=True)
    status = fields.Enum(models.PaymentStatus, by_value=True, required=True)
    amount = Amount(required=True)
    cancel_amount = Amount(load_default=Decimal(0))
    currency = fields.String(load_default="KRW")
    pay_method = _text()
    channel = _text()
    pg_provider = _text()
    emb_pg_provider = _text()
    pg_tid = _text()
    pg_id = _text()
    sandbox = _flag()
    escrow = _flag()
    apply_num = _text()
    bank_code = _text()
    bank_name = _text()
    card_code = _text()
    card_name = _text()
    card_quota = fields.Integer(allow_none=True, load_default=0)
    card_number = _text()
    card_type = fields.Integer(allow_none=True, load_default=None)
    vbank_code = _text()
    vbank_name = _text()
    vbank_num = _text()
    vbank_holder = _text()
    vbank_date = UnixTime()
    vbank_issued_at = UnixTime()
    user_agent = _text()
    started_at = UnixTime()
    paid_at = UnixTime()
    failed_at = UnixTime()
    cancelled_at = UnixTime()
    cancel_reason = _text()
    receipt_url = _text()
    cancel_history = fields.List(
        fields.Nested(CancelRecordSchema), allow_none=True, load_default=list
    )
    cash_receipt_issued = _flag()
    customer_uid = _text()
    customer_uid_usage = _text()

    @post_load
    def _make(self, data: dict[str, t.Any], **kwargs: t.Any) -> models.Payment:
        data["cancel_history"] = tuple(data.get("cancel_history") or ())
        data["card_quota"] = data.get("card_quota") or 0
        data["custom_data"] = _custom_data(data.get("custom_data"))
        for flag in ("sandbox", "escrow", "cash_receipt_issued"):
            data[flag] = bool(data.get(flag))
        return models.Payment(**data)


def _custom_data(value: t.Any) -> str | None:
    """PortOne keeps custom_data as a JSON string; keep it one whatever arrives."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


class PreparedSchema(_PortOneSchema):
    merchant_uid = fields.String(required=True)
    amount = Amount(required=True)
    currency = _text()

    @post_load
    def _make(self, data: dict[str, t.Any], **kwargs: t.Any) -> models.Prepared:
        return models.Prepared(**data)


class TokenSchema(_PortOneSchema):
    access_token = fields.String(required=True)
    now = fields.Integer(required=True)
    expired_at = fields.Integer(required=True)

    @post_load
    def _make(self, data: dict[str, t.Any], **kwargs: t.Any) -> models.Token:
        return models.Token(**data)


class CustomerSchema(_PortOneSchema):
    customer_uid = fields.String(required=True)
    pg_provider = _text()
    pg_id = _text()
    card_name = _text()
    card_code = _text()
    card_number = _text()
    card_type = fields.Integer(allow_none=True, load_default=None)
    customer_id = _text()
    customer_name = _text()
    customer_tel = _text()
    customer_email = _text()
    customer_addr = _text()
    customer_postcode = _text()
    inserted = UnixTime()
    updated = UnixTime()
    sandbox = _flag()
    raw = fields.Raw(data_key="_raw")

    @post_load
    def _make(self, data: dict[str, t.Any], **kwargs: t.Any) -> models.Customer:
        data["sandbox"] = bool(data.get("sandbox"))
        return models.Customer(**data)


class ScheduleSchema(_PurchaseSchema):
    customer_uid = fields.String(required=True)
    merchant_uid = fields.String(required=True)
    schedule_status = fields.Enum(models.ScheduleStatus, by_value=True, required=True)
    amount = Amount(required=True)
    currency = _text()
    imp_uid = _text()
    schedule_at = UnixTime()
    executed_at = UnixTime()
    revoked_at = UnixTime()
    payment_status = fields.Enum(
        models.PaymentStatus, by_value=True, allow_none=True, load_default=None
    )

    @post_load
    def _make(self, data: dict[str, t.Any], **kwargs: t.Any) -> models.Schedule:
        data["custom_data"] = _custom_data(data.get("custom_data"))
        return models.Schedule(**data)


class _PageSchema(_PortOneSchema):
    total = fields.Integer(required=True)
    previous = fields.Integer(allow_none=True, load_default=0)
    next = fields.Integer(allow_none=True, load_default=0)
    list = fields.Raw(required=True)


_PAGE = _PageSchema()


class Loader(t.Generic[T]):
    """A schema with a typed ``load``: what goes in is JSON, what comes out a ``T``.

    :param schema: the marshmallow schema that builds a ``T``.
    """

    def __init__(self, schema: Schema) -> None:
        self.schema = schema

    def one(self, data: t.Any) -> T:
        """Load one object; raises :class:`~marshmallow.ValidationError`."""
        return t.cast(T, self.schema.load(data))

    def many(self, data: t.Any) -> list[T]:
        """Load a JSON array of objects."""
        if not isinstance(data, list):
            raise ValidationError("Expected a JSON array.")
        return list(self.schema.load(data, many=True))

    def page(self, data: t.Any) -> models.Page[T]:
        """Load a ``{total, previous, next, list}`` page of objects."""
        page = _PAGE.load(data)
        return models.Page(
            total=page["total"],
            previous=page["previous"] or None,
            next=page["next"] or None,
            items=tuple(self.many(page["list"] or [])),
        )


#: Shared, stateless loaders.
PAYMENT = Loader[models.Payment](PaymentSchema())
PREPARED = Loader[models.Prepared](PreparedSchema())
TOKEN = Loader[models.Token](TokenSchema())
CUSTOMER = Loader[models.Customer](CustomerSchema())
SCHEDULE = Loader[models.Schedule](ScheduleSchema())
