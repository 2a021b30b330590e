"""Flask-NicePay's pytest plugin: fixtures for a store's tests, on the sandbox.

Installing Flask-NicePay registers this module with pytest under the name
``flask_nicepay`` (a ``pytest11`` entry point); ``-p no:flask_nicepay`` turns it
off. It is inert until a test asks for one of its fixtures: it defines no hook
and no autouse fixture, and importing it imports pytest and nothing else, neither
``flask_nicepay`` nor the store. That is why it is a module of its own, beside
the package rather than in it: importing a submodule would run the package's
``__init__``, and with it Flask, SQLAlchemy and the extension, in every test run
of the environment. Each fixture builds on the store's own ``app`` fixture, an app
in embedded-sandbox mode, and imports what it needs when it runs.
"""

from __future__ import annotations

import functools
import typing as t

import pytest

if t.TYPE_CHECKING:
    from flask import Flask

    import flask_nicepay.buyer
    import flask_nicepay.races
    import flask_nicepay.sandbox
    import flask_nicepay.testing


@pytest.fixture
def nicepay_sandbox(app: Flask) -> flask_nicepay.sandbox.Sandbox:
    """The app's embedded PortOne sandbox."""
    from flask_nicepay.testing import sandbox_of

    return sandbox_of(app)


@pytest.fixture
def nicepay_buyer(app: Flask) -> flask_nicepay.buyer.Buyer:
    """A :class:`~flask_nicepay.buyer.Buyer`: pays through the store's checkout page.

    ``nicepay_buyer.checkout(order, outcome="decline", method="vbank",
    channel="mobile")`` returns the order afterwards.
    """
    from flask_nicepay.buyer import Buyer

    return Buyer(app)


@pytest.fixture
def nicepay_race(
    nicepay_buyer: flask_nicepay.buyer.Buyer,
) -> t.Callable[..., flask_nicepay.races.RaceResult]:
    """:func:`~flask_nicepay.races.race` for the app's buyer.

    ``nicepay_race(order, ["webhook", "mobile", "webhook", "pc"])`` pays the order
    and delivers its result through every door at once (``at_once=False``: one
    after another, in that order).
    """
    from flask_nicepay.races import race

    return functools.partial(race, nicepay_buyer)


@pytest.fixture
def nicepay_faults(app: Flask) -> t.Iterator[flask_nicepay.testing.Faults]:
    """:class:`~flask_nicepay.testing.Faults` of the app's sandbox, cleared after
    the test."""
    from flask_nicepay.testing import Faults

    faults = Faults(app)
    yield faults
    faults.clear()


@pytest.fixture
def nicepay_clock(app: Flask) -> flask_nicepay.testing.Clock:
    """The :class:`~flask_nicepay.testing.Clock` of the app's sandbox and plugin.

    ``nicepay_clock.advance(days=10)`` moves both.
    """
    from flask_nicepay.testing import Clock

    return Clock(app)
