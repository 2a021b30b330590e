"""The REST API over a real socket, with plain ``requests``: what a client sees."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import requests

from flask_nicepay.sandbox import Sandbox
from flask_nicepay.sandbox import serve

from .peers import refusal

# portone-v1.md §3.2, written out here independently of the serializer.
PAYMENT_FIELDS = {
    "imp_uid", "merchant_uid", "pay_method", "channel", "pg_provider",
    "emb_pg_provider", "pg_tid", "pg_id", "sandbox", "escrow", "apply_num",
    "bank_code", "bank_name", "card_code", "card_name", "card_issuer_code",
    "card_issuer_name", "card_publisher_code", "card_publisher_name", "card_quota",
    "card_number", "card_type", "vbank_code", "vbank_name", "vbank_num",
    "vbank_holder", "vbank_date", "vbank_issued_at", "name", "amount",
    "cancel_amount", "currency", "buyer_name", "buyer_email", "buyer_tel",
    "buyer_addr", "buyer_postcode", "custom_data", "user_agent", "status",
    "started_at", "paid_at", "failed_at", "cancelled_at", "fail_reason",
    "cancel_reason", "receipt_url", "cancel_history", "cancel_receipt_urls",
    "deposit_history", "cash_receipt_issued", "customer_uid", "customer_uid_usage",
    "promotion",
}  # fmt: skip
TIME_FIELDS = {"started_at", "paid_at", "failed_at", "cancelled_at", "vbank_date",
               "vbank_issued_at"}  # fmt: skip


@pytest.fixture
def base(sb: Sandbox) -> Iterator[str]:
    with serve(sb) as url:
        yield url


@pytest.fixture
def http(sb: Sandbox, base: str) -> Iterator[requests.Session]:
    session = requests.Session()
    answer = session.post(
        base + "/users/getToken",
        json={"imp_key": "sandbox_key", "imp_secret": "sandbox_secret"},
        timeout=5,
    )
    session.headers["Authorization"] = answer.json()["response"]["access_token"]
    yield session
    session.close()


def token(base: str, **body: str) -> requests.Response:
    return requests.post(base + "/users/getToken", json=body, timeout=5)


def test_get_token_answers_the_envelope_with_a_40_hex_token(base: str) -> None:
    answer = token(base, imp_key="sandbox_key", imp_secret="sandbox_secret")
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "application/json; charset=UTF-8"
    body = answer.json()
    assert body["code"] == 0 and body["message"] is None
    issued = body["response"]
    assert re.fullmatch(r"[0-9a-f]{40}", issued["access_token"])
    assert isinstance(issued["now"], int) and isinstance(issued["expired_at"], int)
    assert issued["expired_at"] - issued["now"] == 1800


def test_get_token_takes_a_form_body_and_a_trailing_slash(base: str) -> None:
    answer = requests.post(
        base + "/users/getToken/",
        data={"imp_key": "sandbox_key", "imp_secret": "sandbox_secret"},
        timeout=5,
    )
    assert answer.status_code == 200 and answer.json()["code"] == 0


@pytest.mark.parametrize(
    "body",
    [
        {"imp_key": "sandbox_key", "imp_secret": "wrong"},
        {"imp_key": "wrong", "imp_secret": "sandbox_secret"},
        {"imp_key": "sandbox_key"},
        {},
    ],
)
def test_bad_or_missing_keys_are_401_code_minus_1(
    base: str, body: dict[str, str]
) -> None:
    status, code, _ = refusal(token(base, **body))
    assert (status, code) == (401, -1)


def test_token_is_reused_then_extended_then_replaced(sb: Sandbox, base: str) -> None:
    keys = {"imp_key": "sandbox_key", "imp_secret": "sandbox_secret"}
    first = token(base, **keys).json()["response"]
    again = token(base, **keys).json()["response"]
    assert again["access_token"] == first["access_token"]
    assert again["expired_at"] == first["expired_at"]

    sb.set_clock(first["expired_at"] - 30)  # inside the last minute
    extended = token(base, **keys).json()["response"]
    assert extended["access_token"] == first["access_token"]
    assert extended["expired_at"] == first["expired_at"] + 300

    sb.set_clock(extended["expired_at"] + 1)
    fresh = token(base, **keys).json()["response"]
    assert fresh["access_token"] != first["access_token"]
    assert fresh["expired_at"] - fresh["now"] == 1800


UNAUTHORIZED = {"code": -1, "message": "Unauthorized", "response": None}


@pytest.mark.parametrize("header", [None, "Bearer 0000", "0000", "Basic abc"])
def test_missing_or_wrong_token_is_401(base: str, header: str | None) -> None:
    headers = {} if header is None else {"Authorization": header}
    answer = requests.get(
        base + "/payments/imp_123456789012", headers=headers, timeout=5
    )
    assert answer.status_code == 401
    assert answer.json() == UNAUTHORIZED


def test_bearer_and_bare_token_both_work(base: str) -> None:
    keys = {"imp_key": "sandbox_key", "imp_secret": "sandbox_secret"}
    access = token(base, **keys).json()["response"]["access_token"]
    for header in (f"Bearer {access}", access):
        answer = requests.get(
            base + "/payments/imp_123456789012",
            headers={"Authorization": header},
            timeout=5,
        )
        assert answer.status_code == 404  # authorized, and nothing there


def test_token_expires_with_the_sandbox_clock(
    sb: Sandbox, base: str, http: requests.Session
) -> None:
    assert http.get(base + "/payments/imp_123456789012", timeout=5).status_code == 404
    sb.advance_clock(1801)
    answer = http.get(base + "/payments/imp_123456789012", timeout=5)
    assert answer.status_code == 401 and answer.json() == UNAUTHORIZED


def test_unknown_payment_is_404_with_portones_message(
    base: str, http: requests.Session
) -> None:
    answer = http.get(
        base + "/payments/imp_000000000000?include_sandbox=true", timeout=5
    )
    assert answer.status_code == 404
    assert answer.json() == {
        "code": -1,
        "message": "존재하지 않는 결제정보입니다.",
        "response": None,
    }


def test_unknown_route_still_answers_the_envelope(
    base: str, http: requests.Session
) -> None:
    status, code, _ = refusal(http.get(base + "/no/such/path", timeout=5))
    assert (status, code) == (404, -1)


def test_payment_json_has_every_field_with_integer_times(
    sb: Sandbox, base: str, http: requests.Session
) -> None:
    paid = sb.checkout("wire-1", 15000)
    answer = http.get(base + f"/payments/{paid['imp_uid']}/", timeout=5)
    body = answer.json()
    assert body["message"] is None
    payment = body["response"]
    assert set(payment) == PAYMENT_FIELDS
    assert re.fullmatch(r"imp_\d{12}", payment["imp_uid"])
    for field in TIME_FIELDS:
        assert type(payment[field]) is int
    assert payment["paid_at"] > 0 and payment["failed_at"] == 0
    assert payment["cancel_history"] == [] and payment["sandbox"] is False
    assert '"amount":15000,' in answer.text  # an integer, not 15000.0


def test_usd_cents_are_exact_json_numbers(
    sb: Sandbox, base: str, http: requests.Session
) -> None:
    paid = sb.checkout("wire-usd", 10.10, currency="USD")
    text = http.get(base + f"/payments/{paid['imp_uid']}", timeout=5).text
    assert '"amount":10.1,' in text and '"currency":"USD"' in text


def test_multi_lookup_is_200_207_or_404(
    sb: Sandbox, base: str, http: requests.Session
) -> None:
    one = sb.checkout("wire-m1", 5000)["imp_uid"]
    two = sb.checkout("wire-m2", 6000)["imp_uid"]
    everything = http.get(
        base + "/payments", params={"imp_uid[]": [one, two]}, timeout=5
    )
    assert everything.status_code == 200
    assert [p["imp_uid"] for p in everything.json()["response"]] == [one, two]

    some = http.get(
        base + "/payments",
        params={"imp_uid": [one, "imp_999999999999"], "merchant_uid[]": "wire-m2"},
        timeout=5,
    )
    assert some.status_code == 207
    assert some.json()["code"] == 0
    assert [p["imp_uid"] for p in some.json()["response"]] == [one, two]

    none = http.get(base + "/payments?imp_uid[]=imp_999999999999", timeout=5)
    assert refusal(none)[:2] == (404, -1)


def test_json_and_form_bodies_both_work(
    sb: Sandbox, base: str, http: requests.Session
) -> None:
    as_json = http.post(
        base + "/payments/prepare",
        json={"merchant_uid": "w-j", "amount": 1000},
        timeout=5,
    )
    as_form = http.post(
        base + "/payments/prepare/",
        data={"merchant_uid": "w-f", "amount": "1000"},
        timeout=5,
    )
    assert as_json.json()["response"] == {
        "merchant_uid": "w-j",
        "amount": 1000,
        "currency": None,
    }
    assert as_form.json()["response"] == {
        "merchant_uid": "w-f",
        "amount": 1000,
        "currency": None,
    }


def test_keep_alive_serves_many_requests_on_one_connection(
    sb: Sandbox, base: str, http: requests.Session
) -> None:
    http.get(base + "/payments/imp_000000000000", timeout=5)
    before = sb.connections_accepted
    for _ in range(20):
        assert (
            http.get(base + "/payments/imp_000000000000", timeout=5).status_code == 404
        )
        http.post(base + "/payments/cancel", json={"imp_uid": "imp_0"}, timeout=5)
    assert sb.connections_accepted == before
