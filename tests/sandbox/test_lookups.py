"""Prepare and the payment lookups: find, findAll, status with paging and windows."""

from __future__ import annotations

import pytest

from flask_nicepay.sandbox import Sandbox

from .peers import Api
from .peers import refusal

DAY = 86400


def test_prepare_register_change_and_read(api: Api) -> None:
    body = {"merchant_uid": "p-1", "amount": 1000, "currency": "KRW"}
    assert api.ok(api.post("/payments/prepare", json=body)) == body
    duplicate = refusal(api.post("/payments/prepare", json=body))
    message = "결제정보 사전등록에 실패하였습니다(이미 등록된 merchant_uid입니다)."
    assert duplicate == (200, 1, message)
    changed = api.ok(
        api.put("/payments/prepare", json={"merchant_uid": "p-1", "amount": 2000})
    )
    assert changed == {"merchant_uid": "p-1", "amount": 2000, "currency": None}
    assert api.ok(api.get("/payments/prepare/p-1")) == changed
    assert (
        refusal(
            api.put("/payments/prepare", json={"merchant_uid": "p-x", "amount": 1})
        )[0]
        == 404
    )
    assert refusal(api.get("/payments/prepare/p-x"))[0] == 404
    assert refusal(api.post("/payments/prepare", json={"merchant_uid": "p-2"}))[:2] == (
        400,
        -1,
    )


def test_status_lookup_is_paged(sb: Sandbox, api: Api) -> None:
    for number in range(25):
        sb.checkout(f"p-page-{number}", 1000 + number)
    second = api.ok(api.get("/payments/status/paid", params={"limit": 10, "page": 2}))
    assert (second["total"], second["previous"], second["next"]) == (25, 1, 3)
    assert len(second["list"]) == 10
    last = api.ok(api.get("/payments/status/paid", params={"limit": 10, "page": 3}))
    assert (last["previous"], last["next"], len(last["list"])) == (2, 0, 5)
    first = api.ok(api.get("/payments/status/all"))
    assert (first["previous"], first["next"], len(first["list"])) == (0, 2, 20)
    assert first["list"][0]["merchant_uid"] == "p-page-24"  # newest first


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/payments/status/paid", {"page": 0}),
        ("/payments/status/paid", {"limit": 1001}),
        ("/payments/status/odd", {}),
        ("/payments/status/paid", {"sorting": "amount"}),
        ("/payments/status/paid", {"from": 0, "to": 91 * DAY}),
        ("/payments/status/paid", {"from": 100, "to": 10}),
        ("/payments/findAll/p-x/odd", {}),
    ],
)
def test_bad_lookup_parameters_are_400(
    api: Api, path: str, query: dict[str, int]
) -> None:
    assert refusal(api.get(path, params=query))[:2] == (400, -1)


def test_status_window_uses_the_time_of_the_status(sb: Sandbox, api: Api) -> None:
    start = sb.now()
    old = sb.checkout("p-old", 1000)
    sb.advance_clock(5 * DAY)
    cancelled = sb.checkout("p-cancel", 2000)
    sb.advance_clock(5 * DAY)
    api.ok(api.post("/payments/cancel", json={"imp_uid": cancelled["imp_uid"]}))
    recent = {"from": start + 8 * DAY, "to": sb.now()}
    assert api.ok(api.get("/payments/status/paid", params=recent))["total"] == 0
    found = api.ok(api.get("/payments/status/cancelled", params=recent))["list"]
    assert [p["imp_uid"] for p in found] == [cancelled["imp_uid"]]
    both = api.ok(
        api.get("/payments/status/all", params={"from": start, "to": sb.now()})
    )
    assert {p["imp_uid"] for p in both["list"]} == {
        old["imp_uid"],
        cancelled["imp_uid"],
    }
    sb.advance_clock(91 * DAY)
    assert (
        api.ok(api.get("/payments/status/all"))["total"] == 0
    )  # default: last 90 days


def test_find_sorting(sb: Sandbox, api: Api) -> None:
    first = sb.checkout("p-s", 1000, outcome="decline")
    sb.advance_clock(10)
    second = sb.checkout("p-s", 1000, outcome="close")
    assert api.ok(api.get("/payments/find/p-s"))["imp_uid"] == second["imp_uid"]
    oldest = api.ok(api.get("/payments/find/p-s/", params={"sorting": "started"}))
    assert oldest["imp_uid"] == first["imp_uid"]
    assert api.ok(api.get("/payments/find/p-s/ready"))["imp_uid"] == second["imp_uid"]
    assert refusal(api.get("/payments/find/nobody")) == (
        404,
        -1,
        "존재하지 않는 결제정보입니다.",
    )


def test_find_all_by_status(sb: Sandbox, api: Api) -> None:
    sb.checkout("p-fa", 1000, outcome="decline")
    assert api.ok(api.get("/payments/findAll/p-fa/paid"))["total"] == 0
    assert api.ok(api.get("/payments/findAll/p-fa/failed"))["total"] == 1
    assert refusal(api.get("/payments/findAll/nobody"))[0] == 404


def test_multi_lookup_is_limited_to_100_ids(api: Api) -> None:
    ids = [f"imp_{n:012d}" for n in range(101)]
    assert refusal(api.get("/payments", params={"imp_uid[]": ids}))[:2] == (400, -1)
    assert refusal(api.get("/payments"))[:2] == (400, -1)


def test_code_tables(api: Api) -> None:
    assert {"code": "366", "name": "신한카드"} in api.ok(api.get("/cards"))
    assert {"code": "088", "name": "신한은행"} in api.ok(api.get("/banks"))
