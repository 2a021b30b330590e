"""The buyer's language, and money, times and states written in it.

The language of a buyer page is, in this order:

1. the checkout's own ``language`` (``checkout_url(order, language="en")``),
   remembered in a cookie so the confirming and result pages that follow speak it
   too;
2. the browser's ``Accept-Language``, among :data:`~flask_nicepay.i18n.LANGUAGES`;
3. ``NICEPAY_LANGUAGE``.

The negotiation is the plugin's own, per request, and touches nothing of the
store's app: no locale selector is installed, so a store that runs Flask-Babel
keeps its own. Money and times are written by Babel for the chosen locale: won
without decimals, dollars with cents, times in Korea's zone and labelled ``KST``.
"""

from __future__ import annotations

import datetime as dt
import typing as t
from decimal import Decimal

from babel.dates import format_date
from babel.dates import format_time
from babel.dates import get_datetime_format
from babel.numbers import format_currency
from flask import has_request_context
from flask import request

from .checkout import KST
from .i18n import LANGUAGES
from .i18n import texts
from .receipts import receipt_link
from .state import app_state

#: The cookie that carries a checkout's chosen language to the pages after it.
LANGUAGE_COOKIE = "nicepay_language"
#: How long the chosen language is remembered.
LANGUAGE_COOKIE_AGE = dt.timedelta(hours=12)


def supported(language: object) -> str | None:
    """``language`` if the pages speak it, else ``None``."""
    return language if isinstance(language, str) and language in LANGUAGES else None


def buyer_language(chosen: str | None = None, *, remembered: bool = True) -> str:
    """The language of the current buyer page (see the module's description).

    :param chosen: the checkout's own language, when the page belongs to one.
    :param remembered: whether a language an earlier checkout chose counts; not on
        a checkout page itself, which says its own or leaves it to the browser.
    """
    if not has_request_context():  # an e-mail or a command: no buyer to ask
        return supported(chosen) or app_state().settings.language
    cookie = request.cookies.get(LANGUAGE_COOKIE) if remembered else None
    found = supported(chosen) or supported(cookie)
    best = request.accept_languages.best_match(LANGUAGES)
    return found or best or app_state().settings.language


def format_money(amount: Decimal | int | float, currency: str, language: str) -> str:
    """An amount as a reader of ``language`` writes it, by Babel.

    Won have no minor unit, so they are written without decimals (Korean readers
    see ``25,000원``, others ``₩25,000``); dollars are written with cents.
    """
    value = Decimal(str(amount))
    if currency == "KRW" and language == "ko":
        return format_currency(value, currency, "#,##0원", locale=language)
    return format_currency(value, currency, locale=language)


def format_moment(moment: dt.datetime | None, language: str) -> str:
    """A time in Korea's zone, written for ``language`` and labelled ``KST``.

    Naive times are taken as UTC, as the database keeps them.
    """
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    local = moment.astimezone(KST)
    pattern = get_datetime_format("medium", locale=language)
    day = format_date(local, "medium", locale=language)
    hour = format_time(local, "short", locale=language)
    return str(pattern).replace("{1}", day).replace("{0}", hour) + " KST"


class Display:
    """What a page needs to write things in one language; templates get it as
    ``show``.

    :param language: one of :data:`~flask_nicepay.i18n.LANGUAGES`.
    """

    def __init__(self, language: str) -> None:
        self.language = supported(language) or LANGUAGES[0]
        self.words = texts(self.language)

    def money(self, amount: Decimal | int | float | None, currency: str = "KRW") -> str:
        """:func:`format_money` in this language; empty for no amount."""
        return "" if amount is None else format_money(amount, currency, self.language)

    def moment(self, moment: dt.datetime | None) -> str:
        """:func:`format_moment` in this language."""
        return format_moment(moment, self.language)

    def state(self, state: t.Any) -> str:
        """The short name of an order state.

        :param state: an :class:`~flask_nicepay.machine.OrderState` or its value.
        """
        if state is None:  # the row that created the order came from nothing
            return ""
        value = str(getattr(state, "value", state))
        return self.words.get(f"status_{value}", value)

    def method(self, pay_method: str | None) -> str:
        """The name of a payment method (``card``, ``vbank``...)."""
        if not pay_method:
            return ""
        return self.words.get(pay_method, pay_method)

    def receipt(self, url: str | None) -> str | None:
        """The receipt address if the page may link to it (see
        :func:`~flask_nicepay.receipts.receipt_link`), else ``None``."""
        return receipt_link(url)

    def refund(self, status: str) -> str:
        """The name of a refund's status (``succeeded``, ``pending``...)."""
        return self.words.get(f"refund_{status}", status)
