"""The account's PG settings, and how ``channelKey`` or ``pg`` picks one.

The window and every API payment (key-in, billing keys, ``again``, schedules,
``POST /vbanks``) go through the setting the request names, and the payment
reports its PG and MID. A test-mode setting's payments stay ``paid``: NICE's
nightly void of them never reaches PortOne (portone-v1.md §12).
"""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from flask_nicepay.sandbox import API_CHANNEL_KEY
from flask_nicepay.sandbox import API_MID
from flask_nicepay.sandbox import TEST_API_CHANNEL_KEY
from flask_nicepay.sandbox import TEST_API_MID
from flask_nicepay.sandbox import TEST_WINDOW_CHANNEL_KEY
from flask_nicepay.sandbox import TEST_WINDOW_MID
from flask_nicepay.sandbox import WINDOW_CHANNEL_KEY
from flask_nicepay.sandbox import WINDOW_MID
from flask_nicepay.sandbox import CheckoutRefused
from flask_nicepay.sandbox import PgSetting
from flask_nicepay.sandbox import Sandbox
from flask_nicepay.sandbox.model.values import KST

from .peers import Api
from .peers import refusal

CARD = {"card_number": "4242-4242-4242-4242", "expiry": "2099-12", "birth": "880101",
        "pwd_2digit": "12"}  # fmt: skip


def pg_of(payment: dict[str, Any]) -> tuple[str, str, bool]:
    return payment["pg_provider"], payment["pg_id"], payment["sandbox"]


def window(sb: Sandbox, merchant_uid: str, **params: Any) -> dict[str, Any]:
    """Pay in the window with extra ``request_pay`` parameters; as PortOne shows it."""
    opened = sb.open_checkout({"merchant_uid": merchant_uid, "amount": 15000, **params})
    paid = sb.complete_checkout(opened["imp_uid"], "approve")
    assert paid["status"] == "paid"
    shown = sb.payment(paid["imp_uid"])
    assert shown == paid
    return paid


def keyed(api: Api, merchant_uid: str, **fields: Any) -> Any:
    body = {**CARD, "merchant_uid": merchant_uid, "amount": 15000, **fields}
    return api.ok(api.post("/subscribe/payments/onetime", json=body))


def test_the_account_starts_with_four_nice_settings(sb: Sandbox) -> None:
    assert sb.pg_settings() == (
        PgSetting("nice", WINDOW_MID, "window", False, WINDOW_CHANNEL_KEY),
        PgSetting("nice", API_MID, "api", False, API_CHANNEL_KEY),
        PgSetting("nice", TEST_WINDOW_MID, "window", True, TEST_WINDOW_CHANNEL_KEY),
        PgSetting("nice", TEST_API_MID, "api", True, TEST_API_CHANNEL_KEY),
    )
    mids = {s.mid for s in sb.pg_settings()}
    keys = {s.channel_key for s in sb.pg_settings()}
    assert len(mids) == len(keys) == 4


LIVE_WINDOW = ("nice", WINDOW_MID, False)
TEST_WINDOW = ("nice", TEST_WINDOW_MID, True)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, LIVE_WINDOW),
        ({"pg": "nice"}, LIVE_WINDOW),
        ({"pg": f"nice.{WINDOW_MID}"}, LIVE_WINDOW),
        ({"pg": f"nice.{TEST_WINDOW_MID}"}, TEST_WINDOW),
        ({"channelKey": TEST_WINDOW_CHANNEL_KEY}, TEST_WINDOW),
        ({"channelKey": WINDOW_CHANNEL_KEY}, LIVE_WINDOW),
        # The channel key wins over pg.
        (
            {"channelKey": WINDOW_CHANNEL_KEY, "pg": f"nice.{TEST_WINDOW_MID}"},
            LIVE_WINDOW,
        ),
        # What PortOne cannot match falls back to the default window setting.
        ({"pg": "nice.nobody00m"}, LIVE_WINDOW),
        ({"pg": "kakaopay.TC0ONETIME"}, LIVE_WINDOW),
        ({"pg": "..."}, LIVE_WINDOW),
        ({"pg": ""}, LIVE_WINDOW),
        # A MID or key of the API's settings names that setting, kind aside.
        ({"pg": f"nice.{TEST_API_MID}"}, ("nice", TEST_API_MID, True)),
        ({"channelKey": API_CHANNEL_KEY}, ("nice", API_MID, False)),
    ],
)
def test_the_window_goes_through_the_setting_named(
    sb: Sandbox, params: dict[str, Any], expected: tuple[str, str, bool]
) -> None:
    paid = window(sb, "w-1", **params)
    assert pg_of(paid) == expected
    assert paid["pg_tid"].startswith(expected[1])


def test_an_unknown_channel_key_refuses_the_window(sb: Sandbox) -> None:
    with pytest.raises(CheckoutRefused) as caught:
        sb.open_checkout(
            {"merchant_uid": "w-2", "amount": 15000, "channelKey": "channel-key-x"}
        )
    assert caught.value.error_code == "F400"
    assert "channel-key-x" in caught.value.error_msg
    assert sb.payments_count() == 0


LIVE_API = ("nice", API_MID, False)
TEST_API = ("nice", TEST_API_MID, True)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, LIVE_API),
        ({"pg": "nice"}, LIVE_API),
        ({"pg": f"nice.{TEST_API_MID}"}, TEST_API),
        ({"channel_key": TEST_API_CHANNEL_KEY}, TEST_API),
        ({"channel_key": API_CHANNEL_KEY, "pg": f"nice.{TEST_API_MID}"}, LIVE_API),
        ({"pg": "nice.nobody00m"}, LIVE_API),
        ({"pg": "bogus"}, LIVE_API),
    ],
)
def test_key_in_goes_through_the_setting_named(
    api: Api, fields: dict[str, Any], expected: tuple[str, str, bool]
) -> None:
    paid = keyed(api, "k-1", **fields)
    assert pg_of(paid) == expected
    assert pg_of(api.ok(api.get(f"/payments/{paid['imp_uid']}"))) == expected


def test_an_unknown_channel_key_refuses_api_payments(sb: Sandbox, api: Api) -> None:
    body = {**CARD, "merchant_uid": "k-2", "amount": 15000, "channel_key": "nope"}
    http_status, code, message = refusal(
        api.post("/subscribe/payments/onetime", json=body)
    )
    assert (http_status, code) == (400, -1) and "nope" in message
    issue = api.post("/subscribe/customers/c-x", json={**CARD, "channel_key": "nope"})
    assert refusal(issue)[:2] == (400, -1)
    vbank = api.post("/vbanks", json={
        "merchant_uid": "v-x", "amount": 15000, "vbank_code": "088",
        "vbank_due": sb.now() + 86400, "vbank_holder": "홍길동", "channel_key": "nope",
    })  # fmt: skip
    assert refusal(vbank)[:2] == (400, -1)
    assert sb.payments_count() == 0
    assert api.get("/subscribe/customers/c-x").json()["code"] == 1


def test_a_virtual_account_by_api_goes_through_the_setting_named(
    sb: Sandbox, api: Api
) -> None:
    body = {"merchant_uid": "v-1", "amount": 15000, "vbank_code": "088",
            "vbank_due": sb.now() + 86400, "vbank_holder": "홍길동"}  # fmt: skip
    live = api.ok(api.post("/vbanks", json=body))
    test = api.ok(
        api.post(
            "/vbanks",
            json={**body, "merchant_uid": "v-2", "channel_key": TEST_API_CHANNEL_KEY},
        )
    )
    assert (pg_of(live), pg_of(test)) == (LIVE_API, TEST_API)


def test_a_billing_key_pays_through_the_setting_that_issued_it(
    sb: Sandbox, api: Api
) -> None:
    issued = api.ok(
        api.post(
            "/subscribe/customers/c-1",
            json={**CARD, "channel_key": TEST_API_CHANNEL_KEY},
        )
    )
    assert pg_of(issued) == TEST_API

    def again(merchant_uid: str, **fields: Any) -> Any:
        body = {"customer_uid": "c-1", "merchant_uid": merchant_uid,
                "amount": 9900, "name": "구독", **fields}  # fmt: skip
        return api.ok(api.post("/subscribe/payments/again", json=body))

    assert pg_of(again("a-1")) == TEST_API
    # A bare or unmatched pg leaves the key on its own setting...
    assert pg_of(again("a-2", pg="nice")) == TEST_API
    assert pg_of(again("a-3", pg="nice.nobody00m")) == TEST_API
    # ...a channel key or an exact pg moves it.
    assert pg_of(again("a-4", channel_key=API_CHANNEL_KEY)) == LIVE_API
    assert pg_of(again("a-5", pg=f"nice.{API_MID}")) == LIVE_API
    # A key issued with onetime keeps that payment's setting too.
    keyed(api, "k-3", customer_uid="c-2", pg=f"nice.{TEST_API_MID}")
    body = {"customer_uid": "c-2", "merchant_uid": "a-6", "amount": 9900}
    assert pg_of(api.ok(api.post("/subscribe/payments/again", json=body))) == TEST_API


def test_schedules_pay_through_the_key_or_the_setting_named(
    sb: Sandbox, api: Api
) -> None:
    api.ok(api.post("/subscribe/customers/c-3", json=CARD))  # the live API default
    at = sb.now() + 3600
    plain = {"customer_uid": "c-3", "schedules": [
        {"merchant_uid": "s-1", "schedule_at": at, "amount": 9900}]}  # fmt: skip
    named = {"customer_uid": "c-3", "channel_key": TEST_API_CHANNEL_KEY, "schedules": [
        {"merchant_uid": "s-2", "schedule_at": at, "amount": 9900}]}  # fmt: skip
    pending = [api.ok(api.post("/subscribe/payments/schedule", json=body))[0]
               for body in (plain, named)]  # fmt: skip
    assert [(s["pg_provider"], s["pg_id"]) for s in pending] == [
        ("nice", API_MID),
        ("nice", TEST_API_MID),
    ]
    ran = sb.advance_clock(3601)
    assert [s["payment_status"] for s in ran] == ["paid", "paid"]
    paid = {s["merchant_uid"]: sb.payment(s["imp_uid"]) for s in ran}
    assert pg_of(paid["s-1"] or {}) == LIVE_API
    assert pg_of(paid["s-2"] or {}) == TEST_API
    assert api.ok(api.get("/subscribe/payments/schedule/s-2"))["pg_id"] == TEST_API_MID


def test_a_test_mode_payment_is_never_voided_by_the_sandbox(
    sb: Sandbox, api: Api
) -> None:
    by_window = window(sb, "t-1", channelKey=TEST_WINDOW_CHANNEL_KEY)
    by_api = keyed(api, "t-2", channel_key=TEST_API_CHANNEL_KEY)
    # NICE voids test payments between 23:00 and 23:50 KST; PortOne never hears.
    now = datetime.fromtimestamp(sb.now(), KST)
    past = (now + timedelta(days=1)).replace(hour=23, minute=55, second=0)
    sb.set_clock(past.timestamp())
    assert datetime.fromtimestamp(sb.now(), KST).strftime("%H:%M") == "23:55"
    sb.advance_clock(2 * 86400)
    for paid in (by_window, by_api):
        seen = api.ok(api.get(f"/payments/{paid['imp_uid']}"))
        assert (seen["status"], seen["cancel_amount"], seen["cancelled_at"]) == (
            "paid",
            0,
            0,
        )
        assert seen["sandbox"] is True and seen["pg_id"] in (
            TEST_WINDOW_MID,
            TEST_API_MID,
        )


def test_added_settings_are_selected_and_outlive_a_reset(sb: Sandbox) -> None:
    added = sb.add_pg_setting("nictest99m", kind="window", test=True)
    assert added == PgSetting(
        "nice", "nictest99m", "window", True, "channel-key-sandbox-nice-nictest99m"
    )
    assert sb.pg_settings()[-1] == added
    sb.reset()
    assert pg_of(window(sb, "n-1", channelKey=added.channel_key)) == (
        "nice",
        "nictest99m",
        True,
    )
    assert pg_of(window(sb, "n-2", pg="nice.nictest99m"))[1] == "nictest99m"
    # The defaults stay the built-in ones.
    assert pg_of(window(sb, "n-3")) == LIVE_WINDOW


@pytest.mark.parametrize(
    "bad",
    [
        {"mid": "other00m", "kind": "api", "channel_key": API_CHANNEL_KEY},
        {"mid": "other00m", "kind": "both"},
        {"mid": "a.b", "kind": "api"},
        {"mid": "", "kind": "api"},
        {"mid": "x" * 81, "kind": "api"},
        {"mid": "other00m", "kind": "api", "pg_provider": "../x"},
        {"mid": "other00m", "kind": "api", "channel_key": "key with spaces"},
    ],
)
def test_settings_a_console_would_refuse(sb: Sandbox, bad: dict[str, Any]) -> None:
    mid = bad.pop("mid")
    with pytest.raises(ValueError):
        sb.add_pg_setting(mid, **bad)
    assert len(sb.pg_settings()) == 4


def test_a_mid_may_have_a_second_channel(sb: Sandbox) -> None:
    # A store's own channel key for the account's live window MID.
    again = sb.add_pg_setting(WINDOW_MID, kind="window", channel_key="ck-store")
    assert pg_of(window(sb, "m-1", channelKey="ck-store")) == LIVE_WINDOW
    # pg names the first setting with that MID.
    assert pg_of(window(sb, "m-2", pg=f"nice.{WINDOW_MID}")) == LIVE_WINDOW
    assert sb.pg_settings()[-1] == again
    with pytest.raises(ValueError, match="taken"):
        sb.add_pg_setting("other00m", kind="api", channel_key="ck-store")


def test_settings_through_the_control_api(sb: Sandbox) -> None:
    control = sb.session()
    url = sb.base_url + "/_sandbox/pg-settings"
    answer = control.post(url, json={"mid": "nictest77m", "kind": "api", "test": True,
                                     "channel_key": "ck-77"})  # fmt: skip
    assert answer.status_code == 200
    assert answer.json()["response"] == {"pg_provider": "nice", "mid": "nictest77m",
        "kind": "api", "test": True, "channel_key": "ck-77"}  # fmt: skip
    listed = control.get(url).json()["response"]
    assert [s["mid"] for s in listed] == [
        WINDOW_MID, API_MID, TEST_WINDOW_MID, TEST_API_MID, "nictest77m"
    ]  # fmt: skip
    assert control.post(url, json={"mid": "x", "kind": "nope"}).status_code == 400
    assert control.post(url, json={"kind": "api"}).status_code == 400
    assert len(sb.pg_settings()) == 5


def test_settings_are_shared_through_the_state_file(tmp_path: Path) -> None:
    state_file = tmp_path / "sandbox.sqlite3"
    with (
        Sandbox(state_file=state_file) as one,
        Sandbox(state_file=state_file) as two,
    ):
        added = one.add_pg_setting("nictest55m", kind="window", test=True)
        assert two.pg_settings()[-1] == added
        assert pg_of(window(two, "f-1", channelKey=added.channel_key))[1] == (
            "nictest55m"
        )
        two.reset()
        assert one.pg_settings()[-1] == added
        # A third process opening the file later sees it too.
        with Sandbox(state_file=state_file) as three:
            assert three.pg_settings()[-1] == added
