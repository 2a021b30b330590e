"""Every door at once: PortOne's webhook, the PC completion and the mobile return.

A real checkout reports its result up to three ways, and they arrive together: the
page's callback posts the ``rsp``, the phone follows ``m_redirect_url``, PortOne
sends its webhook (sometimes more than once). :func:`race` pays an order in the
sandbox's window and then knocks on the store's doors, each from its own thread
behind one barrier, or one after another in the order given. However they land,
the order must take exactly one transition; :attr:`RaceResult.events` shows it.
"""

from __future__ import annotations

import threading
import typing as t
from urllib.parse import urlsplit

from .buyer import Buyer
from .buyer import Window
from .extension import NicePay
from .store import Order

#: The doors a result comes in by.
DOORS = ("webhook", "pc", "mobile")
#: The default race: the webhook three times, the completion and the return.
EVERY_DOOR = ("webhook", "webhook", "webhook", "pc", "mobile")


class Knock(t.NamedTuple):
    """One delivery through one door, and the store's HTTP answer."""

    door: str
    status: int


class RaceResult(t.NamedTuple):
    """What a race left behind."""

    #: The order after every door answered.
    order: Order
    #: The deliveries, in the order they were answered.
    knocks: list[Knock]
    #: The order's history, oldest first: one event per transition.
    events: list[str]


def race(
    buyer: Buyer,
    order: Order | str,
    doors: t.Sequence[str] = EVERY_DOOR,
    *,
    at_once: bool = True,
    outcome: str = "approve",
    method: str = "card",
    options: t.Mapping[str, t.Any] | None = None,
    **choices: t.Any,
) -> RaceResult:
    """Pay ``order`` in the window, then deliver its result through ``doors``.

    :param buyer: the buyer of the store's app.
    :param doors: ``webhook``, ``pc`` and ``mobile``, each as many times as it
        should arrive; their order counts when ``at_once`` is false.
    :param at_once: start every delivery together, each in its own thread;
        otherwise one after another, in the order of ``doors``.
    :param outcome: what the buyer does in the window, as for
        :meth:`~flask_nicepay.buyer.Buyer.checkout`, like ``method``,
        ``options`` and ``choices``.
    :raises ValueError: no doors, or one this does not know.
    """
    _check(doors)
    channel = "pc" if "pc" in doors else "mobile"
    window = buyer.pay_in_window(
        order,
        outcome=outcome,
        method=method,
        channel=channel,
        options=options,
        **choices,
    )
    if at_once:
        knocks = _all_at_once(buyer, window, doors)
    else:
        knocks = [Knock(door, _knock(buyer, window, door)) for door in doors]
    uid = window.params["merchant_uid"]
    history = NicePay.state(buyer.app).payments.orders.history(uid)
    return RaceResult(buyer.order(uid), knocks, [row["event"] for row in history])


def _check(doors: t.Sequence[str]) -> None:
    if not doors or set(doors) - set(DOORS):
        raise ValueError(f"doors must be some of {', '.join(DOORS)}, not {doors!r}.")


def _all_at_once(buyer: Buyer, window: Window, doors: t.Sequence[str]) -> list[Knock]:
    barrier = threading.Barrier(len(doors))
    lock = threading.Lock()
    knocks: list[Knock] = []
    errors: list[BaseException] = []

    def run(door: str) -> None:
        try:
            barrier.wait(timeout=30)
            status = _knock(buyer, window, door)
        except BaseException as exc:  # raised in the test's thread below
            with lock:
                errors.append(exc)
            return
        with lock:
            knocks.append(Knock(door, status))

    threads = [threading.Thread(target=run, args=(door,)) for door in doors]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return knocks


def _knock(buyer: Buyer, window: Window, door: str) -> int:
    if door != "webhook":
        return buyer.come_back(window, door)
    payment = window.payment
    body = {
        "imp_uid": payment["imp_uid"],
        "merchant_uid": payment["merchant_uid"],
        "status": payment["status"],
    }
    response = buyer.app.test_client().post(
        urlsplit(window.params["notice_url"]).path,
        json=body,
        environ_base={"REMOTE_ADDR": "127.0.0.1"},
    )
    return response.status_code
