"""An app with the operator console, and an operator's browser on it.

The guard lets in a request that names its operator in ``X-Operator`` and no other,
so every test says who operates, and a test that leaves the header out is refused.
"""

from __future__ import annotations

import re
import typing as t

import sqlalchemy as sa
from flask import Flask
from flask import Request
from werkzeug.test import TestResponse

from flask_nicepay import tables
from flask_nicepay.console import Console
from flask_nicepay.console_base import CSRF_COOKIE

from .webshop import AppFactory
from .webshop import Page
from .webshop import state

PREFIX = "/nicepay/console"


def named_operator(request: Request) -> str | None:
    """The tests' guard: the operator the request names, if any."""
    return request.headers.get("X-Operator") or None


def console_app(make_app: AppFactory, **config: t.Any) -> Flask:
    app = make_app(config)
    Console(app, guard=named_operator)
    return app


class Operator:
    """An operator's browser: the guard's header on every request, the form
    token sent back with every post as the console's forms do."""

    def __init__(self, app: Flask, name: str = "kim") -> None:
        self.app = app
        self.client = app.test_client()
        self.name = name

    def get(self, path: str, **options: t.Any) -> TestResponse:
        return self.client.get(
            PREFIX + path, headers={"X-Operator": self.name}, **options
        )

    def page(self, path: str) -> Page:
        response = self.get(path)
        assert response.status_code == 200, response.get_data(as_text=True)
        return Page(response.get_data(as_text=True))

    def token(self) -> str:
        cookie = self.client.get_cookie(CSRF_COOKIE, path=PREFIX)
        if cookie is None:
            self.get("/")
            cookie = self.client.get_cookie(CSRF_COOKIE, path=PREFIX)
        assert cookie is not None
        return cookie.value

    def post(self, path: str, data: t.Mapping[str, str] | None = None) -> TestResponse:
        form = {"csrf_token": self.token(), **(data or {})}
        return self.client.post(
            PREFIX + path, data=form, headers={"X-Operator": self.name}
        )


def order_uids(page: Page) -> list[str]:
    """The merchant_uids the order list shows, in its order."""
    return [
        str(attrs["data-merchant-uid"])
        for tag, attrs in page.tags
        if attrs.get("data-testid") == "order-row"
    ]


def actions(app: Flask) -> list[dict[str, t.Any]]:
    """Every recorded console action, oldest first."""
    table = tables.console_actions
    with state(app).payments.engine.connect() as conn:
        rows = conn.execute(sa.select(table).order_by(table.c.id)).mappings()
        return [dict(row) for row in rows]


def testids(html: str, prefix: str) -> list[str]:
    return re.findall(rf'data-testid="({re.escape(prefix)}[^"]*)"', html)


def query_plan(app: Flask, path: str, table: str, prepare: str) -> str:
    """How the database runs the statement the console page at ``path`` reads
    ``table`` with.

    :param prepare: run first on PostgreSQL: ``ANALYZE`` or a planner setting.
    """
    engine = state(app).payments.engine
    ran: list[tuple[str, t.Any]] = []

    def keep(
        conn: t.Any, cursor: t.Any, statement: str, params: t.Any, *_: t.Any
    ) -> None:
        if f"FROM {table}" in statement:
            ran.append((statement, params))

    sa.event.listen(engine, "before_cursor_execute", keep)
    try:
        assert Operator(app).get(path).status_code == 200
    finally:
        sa.event.remove(engine, "before_cursor_execute", keep)
    [(statement, params)] = ran
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params)
            return "\n".join(str(row[-1]) for row in rows)
        conn.exec_driver_sql(prepare)
        rows = conn.exec_driver_sql("EXPLAIN " + statement, params)
        return "\n".join(str(row[0]) for row in rows)
