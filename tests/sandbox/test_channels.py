"""Other PGs' channels, the checksum a cancel carried, and hooks before a request.

The account's own NICE settings, and how a request picks one, are in
``test_pg_settings.py``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from flask_nicepay.sandbox import Sandbox

from .peers import Api
from .peers import refusal

CARD = {"card_number": "4242-4242-4242-4242", "expiry": "2099-12", "birth": "880101",
        "pwd_2digit": "12"}  # fmt: skip


def keyed(api: Api, merchant_uid: str, **fields: Any) -> Any:
    body = {**CARD, "merchant_uid": merchant_uid, "amount": 15000, **fields}
    return api.ok(api.post("/subscribe/payments/onetime", json=body))


def test_pg_names_another_channel_only_once_it_is_set_up(sb: Sandbox, api: Api) -> None:
    # Not set up: PortOne falls back to the default PG, NICE.
    before = keyed(api, "ch-1", pg="kakaopay.TC0ONETIME")
    assert (before["pg_provider"], before["pg_id"]) == ("nice", "nictest04m")

    sb.add_pg_channel("kakaopay")
    sb.add_pg_channel("kakaopay")  # once is enough; again changes nothing
    other = keyed(api, "ch-2", pg="kakaopay.TC0ONETIME")
    # A MID the PG's settings lack: that PG's own setting.
    assert (other["pg_provider"], other["pg_id"]) == ("kakaopay", "kakaopay")
    sb.add_pg_setting("TC0ONETIME", kind="api", pg_provider="kakaopay")
    named = keyed(api, "ch-2b", pg="kakaopay.TC0ONETIME")
    assert (named["pg_provider"], named["pg_id"]) == ("kakaopay", "TC0ONETIME")
    assert api.ok(api.get(f"/payments/{other['imp_uid']}"))["pg_provider"] == (
        "kakaopay"
    )
    assert keyed(api, "ch-3", pg="nice")["pg_provider"] == "nice"
    assert keyed(api, "ch-4")["pg_provider"] == "nice"
    # A setting: a reset forgets payments, not the account's channels.
    sb.reset()
    assert keyed(Api(sb), "ch-5", pg="kakaopay")["pg_provider"] == "kakaopay"


def test_pg_channel_through_the_control_api(sb: Sandbox, api: Api) -> None:
    control = sb.session()
    answer = control.post(
        sb.base_url + "/_sandbox/pg-channels", json={"pg_provider": "tosspay"}
    )
    assert answer.status_code == 200 and answer.json()["code"] == 0
    assert keyed(api, "ch-6", pg="tosspay")["pg_provider"] == "tosspay"
    bad = control.post(
        sb.base_url + "/_sandbox/pg-channels", json={"pg_provider": "no pg"}
    )
    assert bad.status_code == 400
    with pytest.raises(ValueError):
        sb.add_pg_channel("../x")


def test_cancel_checksums_are_kept(sb: Sandbox, api: Api) -> None:
    imp_uid = keyed(api, "ck-1", amount=30000)["imp_uid"]
    api.ok(api.post("/payments/cancel", json={"imp_uid": imp_uid, "amount": 10000,
                                              "checksum": 30000}))  # fmt: skip
    sb.console_cancel(imp_uid, 5000)
    api.ok(api.post("/payments/cancel", json={"imp_uid": imp_uid, "amount": 1000}))
    refused = api.post("/payments/cancel", json={"imp_uid": imp_uid, "checksum": 30000})
    assert "checksum" in refusal(refused)[2]
    # The refused cancel changed nothing, so it left no trace either.
    assert sb.cancel_checksums(imp_uid) == [Decimal(30000), None, None]
    assert sb.cancel_checksums("imp_unknown") == []
    # Never part of what PortOne answers.
    history = api.ok(api.get(f"/payments/{imp_uid}"))["cancel_history"]
    assert all("checksum" not in item for item in history)


def test_hook_runs_once_before_the_matching_request(sb: Sandbox, api: Api) -> None:
    imp_uid = keyed(api, "hk-1", amount=30000)["imp_uid"]
    seen: list[Any] = []
    sb.before_next_request(
        lambda: seen.append(sb.console_cancel(imp_uid, 5000)["cancel_amount"]),
        path="/payments/cancel",
        method="POST",
    )
    assert [f["kind"] for f in sb.active_faults()["api"]] == ["hook"]
    # Other requests pass it by.
    api.ok(api.get(f"/payments/{imp_uid}"))
    assert seen == []

    # The caller read a balance of 30000; the console cancel lands first.
    answer = api.post(
        "/payments/cancel",
        json={"imp_uid": imp_uid, "amount": 10000, "checksum": 30000},
    )
    assert seen == [5000]
    assert "25000" in refusal(answer)[2]
    assert api.ok(api.get(f"/payments/{imp_uid}"))["cancel_amount"] == 5000
    assert sb.active_faults()["api"] == []
    # Used up: the same cancel with the fresh balance goes through.
    again = api.post(
        "/payments/cancel",
        json={"imp_uid": imp_uid, "amount": 10000, "checksum": 25000},
    )
    assert api.ok(again)["cancel_amount"] == 15000
    assert seen == [5000]
