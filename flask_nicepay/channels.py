"""The store's live PG settings, one per purpose, and which one an order pays through.

A PortOne account can hold several PG settings ("channels"), each with its own NICE
merchant id (MID): the payment window's, the one NICE sets up for non-authenticated
billing and key-in payments, a USD one, and often a test-mode one left from the
integration. The browser names the setting (``channelKey``, or ``pg`` as
``nice.{MID}``), and a buyer controls every parameter the browser sends: a buyer who
names the test MID pays without moving any money, and PortOne keeps answering
``paid`` after NICE cancels the test transaction that night. So a payment proves it
is the store's own live money only by the ``pg_id`` PortOne reports, checked against
the MIDs configured here for the purpose the order was paid through.

No Flask here: :mod:`flask_nicepay.config` builds :class:`Channels` from the
``NICEPAY_*CHANNEL*`` keys, and :mod:`flask_nicepay.verify` checks payments with it.
"""

from __future__ import annotations

import dataclasses
import typing as t

if t.TYPE_CHECKING:
    from .store import Order

#: The window's purposes and the API's: what an order's ``origin`` was paid through.
WINDOW, API, USD = "window", "api", "usd"
#: Orders paid in the payment window; every other origin pays through the API.
WINDOW_ORIGINS = frozenset({"checkout"})


@dataclasses.dataclass(frozen=True, slots=True)
class Channel:
    """One purpose's PG setting: how requests name it, and its live MIDs.

    :param purpose: ``window``, ``api`` or ``usd``.
    :param channel_key: the setting's channel key, sent as ``channelKey`` or
        ``channel_key``; or None to name it with ``pg``.
    :param pg: what ``pg`` says when there is no channel key.
    :param mids: the setting's live MIDs; a payment through any other is not the
        store's live money. Empty means not configured: nothing is checked.
    """

    purpose: str
    channel_key: str | None = None
    pg: str | None = "nice"
    mids: frozenset[str] = frozenset()

    def selector(self) -> dict[str, str]:
        """What a request names this setting with: its channel key, else ``pg``."""
        if self.channel_key:
            return {"channel_key": self.channel_key}
        return {"pg": self.pg} if self.pg else {}


@dataclasses.dataclass(frozen=True, slots=True)
class Channels:
    """The store's PG settings by purpose.

    :param window: the hosted payment window's (KRW, and USD without ``usd``).
    :param api: key-in, billing-key and scheduled payments'.
    :param usd: the window's for USD orders, when NICE gave the store one.
    """

    window: Channel = Channel(WINDOW)
    api: Channel = Channel(API)
    usd: Channel | None = None

    def for_window(self, currency: str) -> Channel:
        """The setting a checkout in ``currency`` opens the window with."""
        if currency == "USD" and self.usd is not None:
            return self.usd
        return self.window

    def of(self, order: Order) -> Channel:
        """The setting an order was meant to be paid through."""
        if order.origin in WINDOW_ORIGINS:
            return self.for_window(order.currency)
        return self.api

    def every(self) -> list[Channel]:
        """Each purpose's setting: the window's, the API's, then the USD one."""
        return [self.window, self.api, *([self.usd] if self.usd else [])]

    def configured(self) -> list[Channel]:
        """The settings whose live MIDs are configured, so checked."""
        return [channel for channel in self.every() if channel.mids]

    def unconfigured(self) -> list[Channel]:
        """The settings whose MIDs are not configured, so not checked."""
        return [channel for channel in self.every() if not channel.mids]
