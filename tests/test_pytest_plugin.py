"""The pytest plugin as a store meets it: a throwaway store in a ``pytester`` folder.

Each test writes a tiny store (an app factory and the ``app`` fixture its own
``conftest.py`` would have) and the store's tests, runs pytest on them, and reads
the outcome. The plugin comes from the installed package's ``pytest11`` entry
point, as in a store's suite; nothing here registers it by hand.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from .databases import fresh_postgres_engine
from .databases import postgres_url

pytest_plugins = ["pytester"]

SHOP = """
from flask import Flask

from flask_nicepay import NicePay
from flask_nicepay import signals

nicepay = NicePay()


def create_app(database_uri, **config):
    app = Flask(__name__)
    app.config.update(
        TESTING=True,
        SECRET_KEY="throwaway-shop",
        NICEPAY_SANDBOX=True,
        NICEPAY_SANDBOX_AUTO_DELIVER=False,
        NICEPAY_DATABASE_URI=database_uri,
        **config,
    )
    nicepay.init_app(app)
    paid = app.extensions["shop.paid"] = []
    signals.payment_paid.connect(
        lambda sender, order, **kw: paid.append(order.merchant_uid),
        sender=app,
        weak=False,
    )
    return app


def new_order(app, amount=19_000):
    with app.app_context():
        return nicepay.create_order(amount=amount, name="티셔츠")
"""

CONFTEST = """
import os

import pytest


@pytest.fixture
def app(tmp_path):
    from shop import create_app

    uri = os.environ.get("SHOP_DATABASE_URI") or f"sqlite:///{tmp_path / 'shop.db'}"
    app = create_app(uri)
    yield app
    state = app.extensions["nicepay"]
    state.sandbox.close()
    state.payments.engine.dispose()
"""

HEAD = """
import pytest

from shop import new_order
from shop import nicepay


def inbox(app, order):
    payments = app.extensions["nicepay"].payments
    return payments.inbox.search(merchant_uid=order.merchant_uid)
"""


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(
    request: pytest.FixtureRequest,
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
) -> pytest.Pytester:
    """The throwaway store, on a SQLite file per test, then on PostgreSQL."""
    if request.param == "postgres":
        fresh_postgres_engine().dispose()
        monkeypatch.setenv("SHOP_DATABASE_URI", postgres_url() or "")
    pytester.makepyfile(shop=SHOP)
    pytester.makeconftest(CONFTEST)
    return pytester


#: Warnings are errors; but this process imported the plugin before the inner run
#: could mark it for assertion rewriting, which a store's own run never does.
STRICT = ("-W", "error", "-W", "ignore::pytest.PytestAssertRewriteWarning")


def run(store: pytest.Pytester, tests: str, *args: str) -> pytest.RunResult:
    """Run the store's tests in this process: quicker than a new interpreter."""
    store.makepyfile(test_shop=HEAD + textwrap.dedent(tests))
    return store.runpytest("-p", "no:cacheprovider", *STRICT, *args)


def test_the_sandbox_fixture_is_the_apps_own(store: pytest.Pytester) -> None:
    result = run(
        store,
        """
        from flask_nicepay import testing

        def test_sandbox(app, nicepay_sandbox):
            assert nicepay_sandbox is app.extensions["nicepay"].sandbox
            order = new_order(app)
            nicepay_sandbox.checkout(merchant_uid=order.merchant_uid, amount=19_000)
            assert [d.status for d in nicepay_sandbox.deliver_webhooks()] == [200]
            assert testing.sandbox_of(app).payments_count() == 1
        """,
    )
    result.assert_outcomes(passed=1)


BUYER_TESTS = """
import itertools

#: What a finished window leaves the order in: a closed window leaves it ready.
AFTER = {"approve": "paid", "decline": "failed", "close": "ready"}
METHODS = ["card", "vbank", "trans", "phone", "kakaopay"]


@pytest.mark.parametrize(
    "outcome, method, channel",
    list(itertools.product(AFTER, METHODS, ["pc", "mobile"])),
)
def test_checkout(app, nicepay_buyer, outcome, method, channel):
    uid = new_order(app).merchant_uid
    order = nicepay_buyer.checkout(
        uid, outcome=outcome, method=method, channel=channel
    )
    expected = AFTER[outcome]
    if method == "vbank" and outcome == "approve":
        expected = "vbank_issued"
    assert order.state.value == expected
    assert order.pay_method == method
    assert (order.fail_reason is not None) is (outcome == "decline")
    assert app.extensions["shop.paid"] == ([uid] if expected == "paid" else [])
    assert channel in {entry.kind for entry in inbox(app, order)}


def test_the_store_own_checkout_options(app, nicepay_buyer):
    order = new_order(app)
    with pytest.raises(ValueError, match="method must be one of card"):
        nicepay_buyer.checkout(order, method="vbank", options={"pay_methods": ["card"]})
    declined = nicepay_buyer.checkout(order, card_number="4000-0000-0000-9995")
    assert declined.state.value == "failed"
"""


def test_a_buyer_checks_out_with_each_outcome_method_and_channel(
    store: pytest.Pytester,
) -> None:
    run(store, BUYER_TESTS).assert_outcomes(passed=31)


RACE_TESTS = """
import itertools

from flask_nicepay.races import EVERY_DOOR


def exactly_once(app, result, event, state):
    assert result.events == [event]
    assert result.order.state.value == state
    assert all(status < 500 for _, status in result.knocks)
    noops = ["noop"] * (len(result.knocks) - 1)
    assert sorted(e.outcome for e in inbox(app, result.order)) == ["applied", *noops]
    return result.order.merchant_uid


@pytest.mark.parametrize("attempt", range(4))
def test_every_door_at_once(app, nicepay_race, attempt):
    doors = ["webhook"] * 6 + ["pc", "mobile", "pc", "mobile"]
    result = nicepay_race(new_order(app), doors)
    assert sorted(door for door, _ in result.knocks) == sorted(doors)
    uid = exactly_once(app, result, "pay", "paid")
    assert app.extensions["shop.paid"] == [uid]


ORDERS = list(itertools.permutations(["webhook", "pc", "mobile"]))


@pytest.mark.parametrize("doors", ORDERS)
def test_every_order_of_the_doors(app, nicepay_race, doors):
    result = nicepay_race(new_order(app), doors, at_once=False)
    assert [door for door, _ in result.knocks] == list(doors)
    uid = exactly_once(app, result, "pay", "paid")
    assert app.extensions["shop.paid"] == [uid]


def test_a_virtual_account_races_to_one_issue(app, nicepay_race):
    result = nicepay_race(new_order(app), EVERY_DOOR, method="vbank")
    exactly_once(app, result, "issue_vbank", "vbank_issued")


def test_a_decline_races_to_one_failure(app, nicepay_race):
    result = nicepay_race(new_order(app), ["pc", "mobile", "pc"], outcome="decline")
    exactly_once(app, result, "fail", "failed")


def test_unknown_doors_are_refused(app, nicepay_race):
    with pytest.raises(ValueError, match="doors must be some of webhook"):
        nicepay_race(new_order(app), ["webhook", "email"])
"""


def test_the_race_helper_gives_exactly_one_transition(store: pytest.Pytester) -> None:
    run(store, RACE_TESTS).assert_outcomes(passed=13)


FAULT_TESTS = """
def test_portone_down_then_back(app, nicepay_buyer, nicepay_faults):
    order = new_order(app)  # its amount registered with PortOne
    nicepay_faults.webhooks("drop")
    nicepay_faults.api("503", path="/payments/*", times=20)
    order = nicepay_buyer.checkout(order)
    assert order.state.value == "ready"
    assert nicepay_faults.active()["api"]
    assert nicepay_faults.active()["webhooks"] == []  # the webhook was dropped
    nicepay_faults.clear()
    assert nicepay_faults.active() == {"api": [], "webhooks": []}
    with app.app_context():
        nicepay.reconcile()
        assert nicepay.get_order(order.merchant_uid).state.value == "paid"


def test_a_doubled_webhook_is_one_payment(app, nicepay_buyer, nicepay_faults):
    nicepay_faults.webhooks("duplicate", copies=3)
    order = nicepay_buyer.checkout(new_order(app), channel="mobile")
    kinds = sorted(e.kind for e in inbox(app, order))
    assert kinds == ["mobile", "webhook", "webhook", "webhook"]
    assert app.extensions["shop.paid"] == [order.merchant_uid]


def test_faults_left_over_are_cleared_after_the_test(app, nicepay_faults, request):
    nicepay_faults.api("500", times=5)
    request.addfinalizer(
        lambda: print("left:", app.extensions["nicepay"].sandbox.active_faults())
    )
"""


def test_faults_of_the_api_and_the_webhooks(store: pytest.Pytester) -> None:
    result = run(store, FAULT_TESTS, "-s")
    result.assert_outcomes(passed=3)
    # The finalizer added in the test runs before the fixture's own teardown.
    result.stdout.fnmatch_lines(["*left: {'api': [[]{*'500'*}[]], 'webhooks': []}*"])


CLOCK_TESTS = """
import datetime as dt


def test_a_virtual_account_expires_after_ten_days(app, nicepay_buyer, nicepay_clock):
    due = nicepay_clock.now() + dt.timedelta(days=10)
    order = nicepay_buyer.checkout(
        new_order(app), method="vbank", options={"vbank_due": due}
    )
    assert order.state.value == "vbank_issued"
    with app.app_context():
        nicepay_clock.advance(days=9, hours=23)
        assert nicepay.expire_vbanks() == []
        nicepay_clock.advance(hours=2)
        assert [o.merchant_uid for o in nicepay.expire_vbanks()] == [order.merchant_uid]
        assert nicepay.get_order(order.merchant_uid).state.value == "expired"


def test_a_subscription_renews_a_month_later(app, nicepay_clock, nicepay_sandbox):
    from flask_nicepay import Monthly
    from flask_nicepay import Plan
    from flask_nicepay.portone import Card

    plan = Plan(name="월간 구독", amount=9_900, interval=Monthly())
    card = Card("4242-4242-4242-4242", "2030-12", "900101", "12")
    with app.app_context():
        nicepay.billing.issue_key("cust-1", card)
        uid = nicepay.subscriptions.start("cust-1", plan).subscription_uid
        nicepay_clock.advance(days=20)
        nicepay_sandbox.deliver_webhooks()
        nicepay.subscriptions.run_due()
        assert nicepay.subscriptions.get(uid).period == 1
        nicepay_clock.advance(days=12)  # PortOne runs the scheduled charge
        nicepay_sandbox.deliver_webhooks()
        nicepay.subscriptions.run_due()
        assert nicepay.subscriptions.get(uid).period == 2


def test_time_only_moves_forward(nicepay_clock):
    before = nicepay_clock.now()
    with pytest.raises(ValueError, match="only moves forward"):
        nicepay_clock.advance(hours=-1)
    assert nicepay_clock.now() - before < dt.timedelta(minutes=1)
"""


def test_the_clock_moves_the_sandbox_and_the_plugin(store: pytest.Pytester) -> None:
    run(store, CLOCK_TESTS).assert_outcomes(passed=3)


def test_a_clock_of_its_own_is_named(store: pytest.Pytester) -> None:
    tests = """
        import datetime as dt

        from flask import Flask

        from flask_nicepay import NicePay


        @pytest.fixture
        def app(tmp_path):
            app = Flask("own_clock")
            app.config.update(
                NICEPAY_SANDBOX=True,
                NICEPAY_SANDBOX_AUTO_DELIVER=False,
                NICEPAY_DATABASE_URI=f"sqlite:///{tmp_path / 'own.db'}",
            )
            NicePay(clock=lambda: dt.datetime.now(dt.UTC)).init_app(app)
            yield app
            app.extensions["nicepay"].sandbox.close()


        def test_it(nicepay_clock):
            with pytest.raises(RuntimeError, match=r"NicePay\\(clock=...\\)"):
                nicepay_clock.advance(days=1)
    """
    run(store, tests).assert_outcomes(passed=1)


INERT_TESTS = """
import sys


def test_nothing_of_the_plugin_runs(request):
    manager = request.config.pluginmanager
    plugin = manager.get_plugin("flask_nicepay")
    assert plugin is not None and plugin.__name__ == "pytest_flask_nicepay"
    assert manager.get_hookcallers(plugin) == []
    assert request.fixturenames == ["request"]
    heavy = {"flask_nicepay", "flask", "sqlalchemy", "shop"}
    assert sorted(m for m in sys.modules if m.split(".")[0] in heavy) == []
"""


def test_the_plugin_is_inert_until_a_fixture_is_asked_for(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(shop=SHOP)
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_inert=INERT_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-W", "error")
    result.assert_outcomes(passed=1)
    listed = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--fixtures")
    listed.stdout.fnmatch_lines(["*nicepay_buyer*", "*nicepay_clock*"])


def test_no_flask_nicepay_turns_it_off(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(shop=SHOP)
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_off="def test_it(nicepay_sandbox):\n    pass\n")
    result = pytester.runpytest(
        "-p", "no:cacheprovider", "-p", "no:flask_nicepay", *STRICT
    )
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture 'nicepay_sandbox' not found*"])


def test_the_testing_helpers_import_without_pytest() -> None:
    blocked = (
        "import sys\n"
        "sys.modules['pytest'] = sys.modules['_pytest'] = None\n"
        "import flask_nicepay.testing\n"
        "print(sorted(flask_nicepay.testing.__all__))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", blocked], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "'Buyer', 'Clock', 'EVERY_DOOR', 'Faults'" in done.stdout


def test_a_conftest_of_the_former_way_still_works(store: pytest.Pytester) -> None:
    # Before the entry point, stores listed the helpers' module as a plugin.
    store.makeconftest(CONFTEST + '\npytest_plugins = ["flask_nicepay.testing"]\n')
    tests = """
        def test_it(app, nicepay_sandbox):
            assert nicepay_sandbox is app.extensions["nicepay"].sandbox
    """
    run(store, tests).assert_outcomes(passed=1)
