"""An operator in a real Chromium: logs in to the example store's admin, finds an
order, reads its story, refunds part of it and replays a failed notification.

Served like the store's own browser tests, under a Content-Security-Policy that
allows no inline script or style. Screenshots go to ``test-artifacts/console/``.
"""

from __future__ import annotations

import time
import typing as t

import pytest
from flask import Flask

from example_app import nicepay
from example_app.admin import SANDBOX_PASSWORD
from flask_nicepay import OrderState
from flask_nicepay import testing

from ..chromium import Watched
from .test_store_browser import state_of
from .test_store_browser import store  # noqa: F401  (the served store)

pytestmark = pytest.mark.browser


class Operator(Watched):
    """The shop's admin in one browser context."""

    def __init__(self, context: t.Any) -> None:
        super().__init__(context, "console")

    def log_in(self, base_url: str) -> None:
        self.page.goto(base_url + "/admin/")
        self.page.fill("[data-testid=admin-password]", SANDBOX_PASSWORD)
        self.page.click("[data-testid=admin-login]")
        self.page.wait_for_selector("[data-testid=orders], [data-testid=no-orders]")

    def outcome(self) -> str:
        banner = self.page.get_by_test_id("action-outcome")
        banner.wait_for(state="visible")
        return str(banner.get_attribute("data-outcome"))


@pytest.fixture
def operator(browser: t.Any) -> t.Iterator[Operator]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    yield Operator(context)
    context.close()


def _first_notification(merchant_uid: str) -> t.Any:
    """The order's first notification, once processed (webhooks go out on a
    thread of their own, as from PortOne)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        found = nicepay.payments.inbox.search(merchant_uid=merchant_uid)
        if found and found[0].outcome != "received":
            return found[0]
        time.sleep(0.05)
    raise AssertionError(f"no notification for {merchant_uid}")


def _orders(app: Flask) -> tuple[str, str, int]:
    """A paid order, and an order whose webhook failed while PortOne was down."""
    sandbox = app.extensions["nicepay"].sandbox
    with app.app_context():
        paid = nicepay.create_order(
            amount=48_000, name="후드 집업", buyer_name="김철수"
        )
        testing.pay(paid)
        assert _first_notification(paid.merchant_uid).outcome == "applied"
        stuck = nicepay.create_order(amount=12_000, name="머그컵", buyer_name="이영희")
        sandbox.inject_fault("503", path="/payments/*", times=10)
        testing.pay(stuck)
        failed = _first_notification(stuck.merchant_uid)
        sandbox.clear_faults()
    assert failed.outcome == "error"
    return paid.merchant_uid, stuck.merchant_uid, failed.id


def test_an_operator_refunds_part_of_an_order_and_replays_a_notification(
    store: tuple[Flask, str],  # noqa: F811
    operator: Operator,
) -> None:
    app, url = store
    paid, stuck, failed_id = _orders(app)
    operator.log_in(url)
    page = operator.page

    page.fill("[data-testid=search]", "김철수")
    page.click("[data-testid=filter]")
    page.wait_for_selector(f"[data-testid=order-row][data-merchant-uid='{paid}']")
    assert page.locator("[data-testid=order-row]").count() == 1
    operator.screenshot("orders-found")
    page.click(f"text={paid}")

    page.wait_for_selector("[data-testid=timeline]")
    kinds = page.locator("[data-testid=event]").evaluate_all(
        "rows => rows.map(row => row.dataset.kind)"
    )
    assert kinds == ["notification", "transition"]
    page.click("[data-testid=fetch-portone]")
    assert page.get_by_test_id("portone-status").inner_text() == "paid"
    operator.screenshot("order-story")

    page.fill("[data-testid=refund-amount]", "18000")
    page.fill("[data-testid=refund-reason]", "사이즈 교환 차액")
    page.click("[data-testid=refund]")
    assert operator.outcome() == "succeeded"
    assert page.get_by_test_id("order-state").inner_text() == "partially_cancelled"
    assert page.get_by_test_id("cancelled-amount").inner_text() == "18,000"
    assert page.locator("[data-testid=event][data-kind=refund]").count() == 1
    operator.screenshot("order-refunded")
    assert state_of(app, paid) is OrderState.PARTIALLY_CANCELLED

    page.click("[data-testid=nav-notifications]")
    page.wait_for_selector(
        f"[data-testid=notification-row][data-entry-id='{failed_id}']"
    )
    operator.screenshot("notifications-failed")
    page.click(f"[data-testid=replay-{failed_id}]")
    assert operator.outcome() == "succeeded"
    assert state_of(app, stuck) is OrderState.PAID
    assert page.locator(f"[data-testid=replay-{failed_id}]").count() == 0
    operator.screenshot("notification-replayed")
    assert operator.violations == []
