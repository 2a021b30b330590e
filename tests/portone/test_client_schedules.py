"""The client's schedule searches over any range, re-arming, and pay_foreign."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import typing as t
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest
import requests

from flask_nicepay.portone import Card
from flask_nicepay.portone import CardError
from flask_nicepay.portone import InvalidRequestError
from flask_nicepay.portone import PortOneClient
from flask_nicepay.portone import ScheduleRequest
from flask_nicepay.portone.resources.scheduling import MAX_SEARCH_RANGE
from flask_nicepay.sandbox import Sandbox

CARD = Card("4242-4242-4242-4242", "2030-12", "900101", "12")
DAY = 86_400


def sent(client: PortOneClient) -> list[requests.PreparedRequest]:
    """Every request the client sends from now on, as it went out."""
    seen: list[requests.PreparedRequest] = []

    def keep(response: requests.Response, *args: t.Any, **kwargs: t.Any) -> None:
        seen.append(response.request)

    client.session.hooks["response"].append(keep)
    return seen


def test_iter_schedules_splits_long_ranges_and_follows_pages(
    sandbox: Sandbox, client: PortOneClient
) -> None:
    now = sandbox.now()
    requests_ = [
        ScheduleRequest(merchant_uid=f"far-{d}", schedule_at=now + d * DAY, amount=1000)
        for d in (1, 2, 100, 190, 199)
    ]
    client.schedule("cust-far", requests_, card=CARD)
    searches = sent(client)
    found = list(client.iter_schedules(now, now + 200 * DAY, limit=1))
    assert [s.merchant_uid for s in found] == ["far-1", "far-2", "far-100", "far-190",
                                                "far-199"]  # fmt: skip
    ranges = []
    for request in searches:
        query = parse_qs(urlsplit(t.cast(str, request.url)).query)
        ranges.append((int(query["schedule_from"][0]), int(query["schedule_to"][0])))
    windows = sorted(set(ranges))
    assert windows[0][0] == now and windows[-1][1] == now + 200 * DAY
    step = int(MAX_SEARCH_RANGE.total_seconds())
    assert all(end - start <= step for start, end in windows)
    assert all(b[0] == a[1] + 1 for a, b in itertools.pairwise(windows))
    assert len(windows) == 3 and len(searches) == 5  # one page per schedule


def test_rearm_schedule(sandbox: Sandbox, client: PortOneClient) -> None:
    at = sandbox.now() + 3600
    client.schedule(
        "cust-re", [ScheduleRequest(merchant_uid="re-1", schedule_at=at, amount=1000)],
        card=CARD,
    )  # fmt: skip
    with pytest.raises(InvalidRequestError):
        client.rearm_schedule("re-1", at + 60)  # pending: move it instead
    client.unschedule(merchant_uids=["re-1"])
    later = dt.datetime.fromtimestamp(at + 600, dt.UTC)
    armed = client.rearm_schedule("re-1", later)
    assert armed.schedule_status == "scheduled" and armed.schedule_at == later


def test_pay_foreign_sends_number_and_expiry_only(
    sandbox: Sandbox, client: PortOneClient
) -> None:
    seen = sent(client)
    paid = client.pay_foreign(
        merchant_uid="fx-1", amount=12_000, card=CARD, name="해외", currency="KRW"
    )
    assert paid.status == "paid" and paid.merchant_uid == "fx-1"
    body = json.loads(t.cast(bytes, seen[-1].body))
    assert set(body) == {"merchant_uid", "amount", "card_number", "expiry", "name",
                         "currency"}  # fmt: skip
    with pytest.raises(CardError) as rejected:
        client.pay_foreign(
            merchant_uid="fx-2",
            amount=1000,
            card=Card("1234-1234-1234-1234", "2016-08"),
        )
    assert rejected.value.code == -1
    with pytest.raises(TypeError):
        client.pay_foreign(merchant_uid="fx-3", amount=1000, card=CARD, birth="1")  # type: ignore[call-arg]
