"""The console's order list: every filter, paging, and a cost that does not grow.

Orders are written straight into the table with the states, origins and times a
test needs; the list only reads them.
"""

from __future__ import annotations

import datetime as dt
import typing as t
from decimal import Decimal

import pytest
import sqlalchemy as sa
from flask import Flask

from flask_nicepay import tables

from .consoleshop import Operator
from .consoleshop import console_app
from .consoleshop import order_uids
from .consoleshop import query_plan
from .test_budget import counting
from .webshop import AppFactory
from .webshop import on_both_databases
from .webshop import state

KST = dt.timezone(dt.timedelta(hours=9))
NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)


def seed(app: Flask, count: int, start: int = 0, **fields: t.Any) -> list[str]:
    """``count`` orders with ``fields``, written in one statement."""
    rows = [
        {
            "merchant_uid": f"seed-{start + n:05d}",
            "state": "ready",
            "version": 1,
            "amount": Decimal(1000 + n),
            "currency": "KRW",
            "name": "seed",
            "origin": "checkout",
            "paid_amount": Decimal(0),
            "cancelled_amount": Decimal(0),
            "late_payment": False,
            "prepared": True,
            "created_at": NOW + dt.timedelta(minutes=start + n),
            "updated_at": NOW,
            **fields,
        }
        for n in range(count)
    ]
    with state(app).payments.engine.begin() as conn:
        conn.execute(sa.insert(tables.orders), rows)
    return [row["merchant_uid"] for row in rows]


def _one(app: Flask, uid: str, **fields: t.Any) -> str:
    [made] = seed(app, 1, start=int(uid), **fields)
    return made


@pytest.fixture
def shop(make_app: AppFactory) -> tuple[Flask, dict[str, str]]:
    """Four orders that differ in every way the list filters by."""
    app = console_app(make_app)
    made = {
        "paid": _one(app, "1", state="paid", pay_method="card",
                     buyer_name="홍길동", buyer_email="hong@example.kr",
                     imp_uid="imp_000000000001",
                     created_at=dt.datetime(2026, 11, 1, 10, tzinfo=KST)),
        "vbank": _one(app, "2", state="vbank_issued", pay_method="vbank",
                      origin="schedule",
                      created_at=dt.datetime(2026, 11, 15, 10, tzinfo=KST)),
        # 23:30 on the 30th in Korea is still the 30th there (14:30 UTC).
        "late": _one(app, "3", state="failed", pay_method="trans", origin="again",
                     created_at=dt.datetime(2026, 11, 30, 23, 30, tzinfo=KST)),
        "next_day": _one(app, "4", state="paid", pay_method="card",
                         origin="adopted",
                         created_at=dt.datetime(2026, 12, 1, 0, 30, tzinfo=KST)),
    }  # fmt: skip
    return app, made


FILTERS = [
    ("", ["next_day", "late", "vbank", "paid"]),
    ("state=paid", ["next_day", "paid"]),
    ("state=paid&state=failed", ["next_day", "late", "paid"]),
    ("state=cancelled", []),
    ("pay_method=vbank", ["vbank"]),
    ("origin=again", ["late"]),
    ("origin=adopted", ["next_day"]),
    ("from=2026-11-15", ["next_day", "late", "vbank"]),
    ("to=2026-11-30", ["late", "vbank", "paid"]),
    ("from=2026-11-02&to=2026-11-30", ["late", "vbank"]),
    ("from=2026-12-01&to=2026-12-01", ["next_day"]),
    ("q=seed-00002", ["vbank"]),
    ("q=imp_000000000001", ["paid"]),
    ("q=홍길동", ["paid"]),
    ("q=hong@example.kr", ["paid"]),
    ("q=nobody", []),
    ("state=paid&pay_method=card&origin=checkout&q=홍길동", ["paid"]),
]


@on_both_databases
@pytest.mark.parametrize(("query", "expected"), FILTERS)
def test_every_filter(
    shop: tuple[Flask, dict[str, str]], query: str, expected: list[str]
) -> None:
    app, made = shop
    page = Operator(app).page(f"/?{query}")
    assert order_uids(page) == [made[name] for name in expected]


@pytest.mark.parametrize(
    "query",
    [
        "state=bogus",
        "origin=somewhere",
        "from=2026-13-01",
        "to=yesterday",
        "before=abc",
        "before=-1",
        "q=" + "x" * 129,
        "pay_method=" + "y" * 21,
    ],
)
def test_a_filter_it_cannot_read_is_a_400(make_app: AppFactory, query: str) -> None:
    app = console_app(make_app)
    assert Operator(app).get(f"/?{query}").status_code == 400


@on_both_databases
def test_pages_of_fifty_newest_first(make_app: AppFactory) -> None:
    app = console_app(make_app)
    made = seed(app, 120)
    operator = Operator(app)
    seen: list[str] = []
    path = "/?state=ready"
    while path:
        page = operator.page(path)
        seen += order_uids(page)
        links = [
            a.get("href") for tag, a in page.tags if a.get("data-testid") == "next-page"
        ]
        path = str(links[0]).removeprefix("/nicepay/console") if links else ""
    assert seen == made[::-1]


def _list_statements(app: Flask, query: str) -> list[str]:
    operator = Operator(app)
    operator.token()
    with counting(state(app).payments.engine) as counted:
        assert operator.get(query).status_code == 200
    return [shape for shape, _ in counted.statements]


@on_both_databases
@pytest.mark.parametrize("query", ["/", "/?state=paid&from=2026-11-01", "/?q=홍길동"])
def test_the_list_costs_one_statement_with_10_or_200_orders(
    make_app: AppFactory, query: str
) -> None:
    app = console_app(make_app)
    seed(app, 10, state="paid")
    few = _list_statements(app, query)
    seed(app, 190, start=10, state="paid")
    many = _list_statements(app, query)
    assert few == many == ["SELECT nicepay_orders"]


@on_both_databases
@pytest.mark.parametrize(
    ("query", "index"),
    [
        ("/?q=홍길동", "buyer_name"),
        ("/?q=hong@example.kr", "buyer_email"),
        ("/?q=imp_000000000001", "imp_uid"),
        ("/?state=failed", "state_id"),
    ],
)
def test_searches_and_states_are_answered_by_an_index(
    shop: tuple[Flask, dict[str, str]], query: str, index: str
) -> None:
    app, _ = shop
    plan = query_plan(app, query, "nicepay_orders", "SET enable_seqscan = off")
    assert f"ix_nicepay_orders_{index}" in plan, plan
    assert "Seq Scan" not in plan, plan
