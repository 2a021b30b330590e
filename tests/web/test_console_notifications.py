"""The console's notification list: filters by outcome and kind, pages by id, and
reads an index whatever the inbox holds."""

from __future__ import annotations

import datetime as dt
import typing as t

import pytest
import sqlalchemy as sa
from flask import Flask

from flask_nicepay import tables

from .consoleshop import Operator
from .consoleshop import console_app
from .consoleshop import query_plan
from .webshop import AppFactory
from .webshop import on_both_databases
from .webshop import state

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)


def stock_inbox(app: Flask, rows: t.Iterable[tuple[str, str]]) -> list[int]:
    """One notification per (kind, outcome), in order; their ids."""
    values = [
        {"kind": kind, "outcome": outcome, "received_at": NOW, "body": b"{}",
         "body_truncated": False, "attempts": 1, "hint_merchant_uid": "np-1"}
        for kind, outcome in rows
    ]  # fmt: skip
    with state(app).payments.engine.begin() as conn:
        conn.execute(sa.insert(tables.inbox), values)
        ids = conn.execute(sa.select(tables.inbox.c.id).order_by(tables.inbox.c.id))
        return [row[0] for row in ids][-len(values) :]


def _listed(operator: Operator, path: str) -> tuple[list[int], str | None]:
    page = operator.page(path)
    ids = [int(str(a["data-entry-id"])) for _, a in page.tags
           if a.get("data-testid") == "notification-row"]  # fmt: skip
    links = [a["href"] for _, a in page.tags if a.get("data-testid") == "next-page"]
    return ids, str(links[0]).removeprefix("/nicepay/console") if links else None


def _every_page(operator: Operator, path: str) -> list[int]:
    seen: list[int] = []
    next_path: str | None = path
    while next_path:
        ids, next_path = _listed(operator, next_path)
        seen += ids
    return seen


@pytest.fixture
def app(make_app: AppFactory) -> Flask:
    return console_app(make_app)


@on_both_databases
def test_filters_by_outcome_and_kind_and_pages_newest_first(app: Flask) -> None:
    rows = [("webhook", "applied"), ("webhook", "error"), ("pc", "error"),
            ("mobile", "unknown_order"), ("webhook", "noop")] * 30  # fmt: skip
    ids = stock_inbox(app, rows)
    by = dict(zip(ids, rows, strict=True))
    operator = Operator(app)

    def expected(keep: t.Callable[[str, str], bool]) -> list[int]:
        return [i for i in reversed(ids) if keep(*by[i])]

    to_look_at = expected(lambda kind, outcome: outcome in ("error", "unknown_order"))
    assert _every_page(operator, "/notifications") == to_look_at
    first, more = _listed(operator, "/notifications")
    assert len(first) == 50 and more is not None and "before=" in more
    assert _every_page(operator, "/notifications?outcome=applied") == expected(
        lambda kind, outcome: outcome == "applied"
    )
    assert _every_page(
        operator, "/notifications?outcome=error&outcome=noop&kind=webhook"
    ) == expected(lambda kind, outcome: kind == "webhook" and outcome != "applied")
    assert _every_page(operator, "/notifications?kind=pc") == expected(
        lambda kind, outcome: kind == "pc" and outcome == "error"
    )


@pytest.mark.parametrize(
    "query", ["outcome=bogus", "kind=" + "w" * 17, "kind=a;b", "before=x", "before=-3"]
)
def test_a_filter_it_cannot_read_is_a_400(app: Flask, query: str) -> None:
    assert Operator(app).get(f"/notifications?{query}").status_code == 400


@on_both_databases
@pytest.mark.parametrize(
    ("path", "index"),
    [
        ("/notifications", "ix_nicepay_inbox_outcome_id"),
        # A common outcome may as well be read backwards on the key, filtered.
        ("/notifications?outcome=applied&before=90000",
         "ix_nicepay_inbox_outcome_id|pk_nicepay_inbox|INTEGER PRIMARY KEY"),
        ("/notifications?kind=pc", "ix_nicepay_inbox_outcome_kind_id"),
        ("/notifications?outcome=applied&kind=mobile",
         "ix_nicepay_inbox_outcome_kind_id"),
    ],
)  # fmt: skip
def test_the_list_reads_an_index_over_many_notifications(
    app: Flask, path: str, index: str
) -> None:
    kinds = ("webhook",) * 8 + ("pc", "mobile")
    outcomes = ("applied",) * 6 + ("noop",) * 3 + ("error",)
    stock_inbox(app, [(kinds[n % 10], outcomes[n * 7 % 10]) for n in range(5_000)])
    plan = query_plan(app, path, "nicepay_inbox", "ANALYZE nicepay_inbox")
    assert any(name in plan for name in index.split("|")), plan
    assert "Seq Scan" not in plan and "SCAN nicepay_inbox\n" not in plan + "\n", plan
