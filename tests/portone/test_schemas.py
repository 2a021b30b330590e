"""PortOne JSON to typed values: tolerant of new fields, exact with money."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from marshmallow import ValidationError
from marshmallow import validate

from flask_nicepay.portone import PaymentStatus
from flask_nicepay.portone import ScheduleStatus
from flask_nicepay.portone import schemas

# A captured PortOne answer (shape only), as in the reference notes, plus fields
# PortOne may add later.
CAPTURED = """{"amount":100,"apply_num":"30046339","bank_code":null,"bank_name":null,
"buyer_addr":null,"buyer_email":null,"buyer_name":"\\ud64d\\uae38\\ub3d9",
"buyer_postcode":null,"buyer_tel":null,"cancel_amount":100,"cancel_history":[{
"pg_tid":"22895235578509","amount":100,"cancelled_at":1663837543,"reason":"test",
"receipt_url":"https:\\/\\/example.com\\/r"}],"cancel_reason":"test",
"cancel_receipt_urls":["https:\\/\\/example.com\\/r"],"cancelled_at":1663837543,
"card_code":"381","card_name":"KB\\uad6d\\ubbfc\\uce74\\ub4dc","card_number":"557042*****7221",
"card_quota":0,"card_type":0,"cash_receipt_issued":false,"channel":"pc","currency":"KRW",
"custom_data":null,"customer_uid":null,"customer_uid_usage":null,"emb_pg_provider":null,
"escrow":false,"fail_reason":null,"failed_at":0,"imp_uid":"imp_803037736674",
"merchant_uid":"ph27","name":"x","paid_at":1663830095,"pay_method":"card","pg_id":"A7NC2",
"pg_provider":"kcp","pg_tid":"22895235578509","receipt_url":"https:\\/\\/example.com",
"started_at":1663830037,"status":"cancelled","user_agent":"Mozilla/5.0",
"vbank_code":null,"vbank_date":0,"vbank_holder":null,"vbank_issued_at":0,
"vbank_name":null,"vbank_num":null,"brand_new_field":{"a":1},"promotion":null}"""


def load(text: str) -> object:
    return json.loads(text, parse_float=Decimal)


def test_captured_payment_loads_and_ignores_unknown_fields() -> None:
    payment = schemas.PAYMENT.one(load(CAPTURED))
    assert payment.status is PaymentStatus.CANCELLED
    assert payment.buyer_name == "홍길동"
    assert payment.card_name == "KB국민카드"
    assert payment.paid_at == dt.datetime(2022, 9, 22, 7, 1, 35, tzinfo=dt.UTC)
    assert payment.failed_at is None and payment.vbank_date is None
    assert payment.cancel_history[0].cancellation_id is None
    assert payment.raw["brand_new_field"] == {"a": 1}
    assert payment.balance == 0


def test_usd_cents_stay_exact() -> None:
    data = load(CAPTURED.replace('"amount":100,', '"amount":10.1,', 1))
    data["currency"] = "USD"  # type: ignore[index]
    data["cancel_amount"] = Decimal("0.1")  # type: ignore[index]
    payment = schemas.PAYMENT.one(data)
    assert payment.amount == Decimal("10.1")
    assert payment.balance == Decimal("10.0")


def test_float_amounts_are_refused() -> None:
    data = load(CAPTURED)
    data["amount"] = 0.1  # type: ignore[index]
    with pytest.raises(ValidationError):
        schemas.PAYMENT.one(data)


def test_missing_required_fields_and_unknown_status_are_refused() -> None:
    with pytest.raises(ValidationError):
        schemas.PAYMENT.one({"imp_uid": "imp_1"})
    data = load(CAPTURED)
    data["status"] = "exploded"  # type: ignore[index]
    with pytest.raises(ValidationError):
        schemas.PAYMENT.one(data)


def test_custom_data_is_kept_as_a_json_string() -> None:
    data = load(CAPTURED)
    data["custom_data"] = {"plan": "gold"}  # type: ignore[index]
    assert schemas.PAYMENT.one(data).custom_data == '{"plan": "gold"}'


def test_schedule_page_loads() -> None:
    page = schemas.SCHEDULE.page(
        {
            "total": 1,
            "previous": 0,
            "next": 0,
            "list": [
                {
                    "customer_uid": "c",
                    "merchant_uid": "m",
                    "schedule_status": "executed",
                    "payment_status": "failed",
                    "amount": 1000,
                    "schedule_at": 1700000000,
                    "executed_at": 1700000001,
                    "revoked_at": 0,
                    "unknown": True,
                }
            ],
        }
    )
    [item] = page.items
    assert page.previous is None and page.next is None
    assert item.schedule_status is ScheduleStatus.EXECUTED
    assert item.payment_status is PaymentStatus.FAILED
    assert item.revoked_at is None


def test_optional_texts_and_flags_read_as_marshmallow_reads_them() -> None:
    """The payment's optional strings and flags take a shortcut past marshmallow's
    general steps; what they accept, refuse and fill in stays the same."""
    data = load(CAPTURED)
    for name in ("bank_name", "escrow", "cash_receipt_issued"):
        del data[name]  # type: ignore[attr-defined]
    data["sandbox"] = None  # type: ignore[index]
    payment = schemas.PAYMENT.one(data)
    assert (payment.bank_name, payment.bank_code, payment.pay_method) == (
        None,
        None,
        "card",
    )
    assert (payment.escrow, payment.sandbox, payment.cash_receipt_issued) == (
        False,
        False,
        False,
    )
    data["escrow"] = "true"  # type: ignore[index]
    assert schemas.PAYMENT.one(data).escrow is True  # marshmallow's truthy words
    for name, wrong in (("pay_method", 5), ("card_name", ["x"]), ("escrow", "maybe")):
        bad = {**data, name: wrong}  # type: ignore[dict-item]
        with pytest.raises(ValidationError) as refused:
            schemas.PAYMENT.one(bad)
        assert name in refused.value.messages_dict


def test_an_optional_text_with_a_validator_still_runs_it() -> None:
    field = schemas.OptionalText(validate=validate.Regexp("^imp_"))
    assert field.deserialize("imp_1") == "imp_1"
    assert field.deserialize(None) is None
    with pytest.raises(ValidationError):
        field.deserialize("nope")
