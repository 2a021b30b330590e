"""A buyer in a store's tests: the checkout page, the payment window, the way back.

:class:`Buyer` goes where a browser goes. It opens the store's hosted checkout
page, reads the ``IMP.request_pay`` parameters the page computed, pays in the
embedded sandbox's window, and comes back by one of the two doors: the PC
callback (``checkout.js`` posts the ``rsp`` to the completion route) or the mobile
return (the phone lands on ``m_redirect_url``). PortOne's webhooks follow when the
test says. Nothing here needs pytest; :mod:`pytest_flask_nicepay` hands a
:class:`Buyer` to tests as the ``nicepay_buyer`` fixture.
"""

from __future__ import annotations

import json
import typing as t
from html.parser import HTMLParser
from urllib.parse import urlencode
from urllib.parse import urlsplit

from flask import Flask

from .extension import NicePay
from .sandbox import Sandbox
from .store import Order

#: What the buyer does in the window.
OUTCOMES = ("approve", "decline", "close")
#: How the result comes back: the PC callback, or the phone's return.
CHANNELS = ("pc", "mobile")


class Window(t.NamedTuple):
    """A payment window the buyer finished, and how to report it to the store."""

    #: The ``IMP.request_pay`` parameters the checkout page gave.
    params: dict[str, t.Any]
    #: The payment as PortOne's API reports it after the window.
    payment: dict[str, t.Any]
    #: Where the page posts the PC callback's result.
    complete_url: str

    @property
    def completion(self) -> dict[str, t.Any]:
        """The body ``checkout.js`` posts to the completion route."""
        rsp = Sandbox.callback_rsp(self.payment)
        keys = ("imp_uid", "merchant_uid", "error_code", "error_msg")
        return {key: rsp[key] for key in keys}

    @property
    def return_url(self) -> str:
        """Where the phone lands: ``m_redirect_url`` and PortOne's query."""
        target = urlsplit(self.params["m_redirect_url"])
        query = urlencode(Sandbox.redirect_query(self.payment))
        joined = f"{target.query}&{query}" if target.query else query
        return f"{target.path}?{joined}"


class _CheckoutPage(HTMLParser):
    """The data attributes of the page's ``#nicepay-checkout`` element."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.data: dict[str, str] = {}
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if found.get("id") == "nicepay-checkout":
            self.data = {k: v or "" for k, v in found.items() if k.startswith("data-")}


class Buyer:
    """Pays the store's orders through its own checkout page and the sandbox.

    :param app: the store's app, in embedded-sandbox mode.
    """

    def __init__(self, app: Flask) -> None:
        self.app = app

    @property
    def sandbox(self) -> Sandbox:
        """The app's embedded sandbox, where the payment window opens."""
        box = NicePay.state(self.app).sandbox
        if box is None:
            raise RuntimeError(
                "The app does not run on the embedded sandbox: leave the PortOne "
                "keys unset or set NICEPAY_SANDBOX = True in the test config."
            )
        return box

    def checkout(
        self,
        order: Order | str,
        *,
        outcome: str = "approve",
        method: str = "card",
        channel: str = "pc",
        deliver: bool = True,
        options: t.Mapping[str, t.Any] | None = None,
        **choices: t.Any,
    ) -> Order:
        """Pay an order as a buyer would, and report it the way ``channel`` does.

        :param order: the order or its ``merchant_uid``.
        :param outcome: ``approve``, ``decline`` or ``close`` (the window shut).
        :param method: ``card``, ``trans``, ``vbank``, ``phone`` or ``kakaopay``;
            one of the methods the page offers.
        :param channel: ``pc`` (the callback posts to the completion route) or
            ``mobile`` (the phone follows ``m_redirect_url``).
        :param deliver: deliver PortOne's webhooks afterwards.
        :param options: checkout options for the page's link, as
            :meth:`~flask_nicepay.NicePay.checkout_url` takes them.
        :param choices: what the buyer picks in the window: ``card_number`` (a
            test card), ``card_code``, ``card_quota``, ``vbank_code``.
        :returns: the order as the store then holds it.
        """
        window = self.pay_in_window(
            order,
            outcome=outcome,
            method=method,
            channel=channel,
            options=options,
            **choices,
        )
        self.come_back(window, channel)
        if deliver:
            self.sandbox.deliver_webhooks()
        return self.order(window.params["merchant_uid"])

    def pay_in_window(
        self,
        order: Order | str,
        *,
        outcome: str = "approve",
        method: str = "card",
        channel: str = "pc",
        options: t.Mapping[str, t.Any] | None = None,
        **choices: t.Any,
    ) -> Window:
        """Open the checkout page and finish the payment window; report nothing.

        The parameters are those of :meth:`checkout`.
        """
        _check_choice("outcome", outcome, OUTCOMES)
        _check_choice("channel", channel, CHANNELS)
        data = self._page(order, options)
        offered = json.loads(data["data-params"])
        _check_choice("method", method, tuple(offered))
        params = offered[method]
        opened = self.sandbox.open_checkout(params, channel=channel)
        payment = self.sandbox.complete_checkout(opened["imp_uid"], outcome, **choices)
        return Window(params, payment, data["data-complete-url"])

    def come_back(self, window: Window, channel: str) -> int:
        """Report a finished window through one door; the HTTP status it got.

        :param channel: ``pc`` or ``mobile``.
        """
        _check_choice("channel", channel, CHANNELS)
        client = self.app.test_client()
        if channel == "pc":
            response = client.post(window.complete_url, json=window.completion)
        else:
            response = client.get(window.return_url)
        return response.status_code

    def order(self, merchant_uid: str) -> Order:
        """The order as the store holds it now."""
        found = NicePay.state(self.app).payments.orders.get(merchant_uid)
        if found is None:
            raise LookupError(f"No order {merchant_uid!r}.")
        return found

    def _page(
        self, order: Order | str, options: t.Mapping[str, t.Any] | None
    ) -> dict[str, str]:
        uid = order if isinstance(order, str) else order.merchant_uid
        self.order(uid)
        with self.app.test_request_context():
            url = NicePay.state(self.app).extension.checkout_url(uid, **(options or {}))
        response = self.app.test_client().get(url)
        data = _CheckoutPage(response.get_data(as_text=True)).data
        if response.status_code != 200 or "data-params" not in data:
            raise RuntimeError(
                f"The checkout page of {uid!r} answered {response.status_code} "
                "with no payment to make (is the order still payable?)."
            )
        return data


def _check_choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}, not {value!r}.")
