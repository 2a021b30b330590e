"""An operator reconciles 230 open orders in Chromium and watches the counts go up.

The console is served on a real socket under its own Content-Security-Policy
(only the plugin's script and style sheet); the page's script posts batch after
batch, and no violation is reported. A picture
of the finished run goes to ``test-artifacts/console/``.
"""

from __future__ import annotations

import re
import typing as t
from pathlib import Path

import pytest
from flask import Flask

from flask_nicepay.console import Console

from .. import chromium
from ..chromium import Watched
from ..web.test_console_orders import seed
from ..web.webshop import build_app
from ..web.webshop import close_app

pytestmark = pytest.mark.browser


@pytest.fixture
def served(tmp_path: Path) -> t.Iterator[tuple[Flask, str]]:
    app = build_app(tmp_path, "sqlite")
    Console(app, guard=lambda request: "kim")
    try:
        with chromium.served(app) as url:
            yield app, url
    finally:
        close_app(app)


def test_a_reconcile_shows_its_counts_batch_by_batch(
    served: tuple[Flask, str], browser: t.Any
) -> None:
    app, url = served
    seed(app, 230)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    operator = Watched(context, "console")
    page = operator.page
    seen: list[str] = []

    def keep_count(route: t.Any) -> None:
        """Every page of the run the browser is served, read as it passes: each
        is on screen only until the script posts the next batch, too short a
        time for a test to be sure to see it."""
        answer = route.fetch()
        found = re.search(r'data-testid="run-done">(\d+)<', answer.text())
        if found and found.group(1) not in seen:
            seen.append(found.group(1))
        route.fulfill(response=answer)

    # The posts, whose redirects route.fetch follows: a redirect is not routed.
    context.route(re.compile(r"/nicepay/console/reconcile(/\d+/next)?$"), keep_count)
    page.goto(url + "/nicepay/console/?lang=en")
    page.click("[data-testid=reconcile]")
    page.wait_for_selector("[data-testid=run-status][data-outcome=succeeded]")
    assert page.get_by_test_id("run-batches").inner_text() == "3"
    assert page.get_by_test_id("run-not_at_portone").inner_text() == "230"
    assert page.locator("[data-testid=stop]").count() == 0
    operator.screenshot("reconcile-finished")
    assert seen == ["0", "100", "200", "230"]  # each batch shown in turn
    assert operator.violations == []
    context.close()
