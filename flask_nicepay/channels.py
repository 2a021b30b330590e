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
import re
import typing as t

from .config_checks import ConfigurationError

#: The window's purposes and the API's: what an order's ``origin`` was paid through.
WINDOW, API, USD = "window", "api", "usd"
#: Orders paid in the payment window; every other origin pays through the API.
WINDOW_ORIGINS = frozenset({"checkout"})

#: Logged at start-up for each purpose whose live MIDs are not configured.
UNCHECKED_CHANNEL_WARNING = (
    "flask-nicepay: the %s channel's live MIDs are not configured, so its payments "
    "are not checked to be the store's live money (a test-mode MID of the account "
    "would pay an order). `flask nicepay doctor` says which key to set."
)


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

    def through(self, channel: str | None, currency: str) -> Channel:
        """The setting a payment PortOne reports on ``channel`` must have used.

        ``api`` payments are made with the REST API's secret, so only by the
        store's server; a buyer can only open the window (``pc``, ``mobile``).

        :param channel: the payment's ``channel`` as PortOne reports it.
        :param currency: the payment's order's currency.
        """
        return self.api if channel == "api" else self.for_window(currency)

    def every(self) -> list[Channel]:
        """Each purpose's setting: the window's, the API's, then the USD one."""
        return [self.window, self.api, *([self.usd] if self.usd else [])]

    def configured(self) -> list[Channel]:
        """The settings whose live MIDs are configured, so checked."""
        return [channel for channel in self.every() if channel.mids]

    def unconfigured(self) -> list[Channel]:
        """The settings whose MIDs are not configured, so not checked."""
        return [channel for channel in self.every() if not channel.mids]


def read(config: t.Mapping[str, t.Any], *, sandbox: bool) -> Channels:
    """The live PG settings by purpose, from the ``NICEPAY_*CHANNEL*`` keys.

    :param config: the app's configuration, defaults filled in.
    :param sandbox: the app runs on the sandbox.
    :raises ConfigurationError: a MID that cannot be one, naming its key.

    API payments go through ``NICEPAY_API_CHANNEL_KEY``; without it, through the
    ``pg`` that names the first API MID, and only then (as before there were
    purposes) through the window's channel. On the sandbox the sandbox account's
    own live MIDs are the defaults, so the check is on wherever it runs.
    """
    window_mids = _mids(config, "NICEPAY_CHANNEL_MIDS")
    api_mids = _mids(config, "NICEPAY_API_CHANNEL_MIDS")
    if sandbox:  # the sandbox is imported only by apps that run on it
        from .sandbox.model import codes

        window_mids = window_mids or frozenset({codes.WINDOW_MID})
        api_mids = api_mids or frozenset({codes.API_MID})
    window_key = config["NICEPAY_CHANNEL_KEY"] or None
    window_pg = config["NICEPAY_PG"] or (None if window_key else "nice")
    window = Channel(WINDOW, window_key, window_pg, window_mids)
    api_key = config["NICEPAY_API_CHANNEL_KEY"] or None
    if api_key or api_mids:
        api = Channel(API, api_key, _pg_of(api_mids, window_pg), api_mids)
    else:
        api = Channel(API, window_key, window_pg)  # the window's: not checked
    usd = None
    usd_key = config["NICEPAY_USD_CHANNEL_KEY"] or None
    usd_mids = _mids(config, "NICEPAY_USD_CHANNEL_MIDS")
    if usd_key or usd_mids:
        usd = Channel(USD, usd_key, _pg_of(usd_mids, window_pg), usd_mids)
    return Channels(window, api, usd)


def _pg_of(mids: frozenset[str], fallback: str | None) -> str | None:
    """``pg`` naming a purpose's setting by its MID, as PortOne selects one."""
    return f"nice.{min(mids)}" if mids else fallback


def _mids(config: t.Mapping[str, t.Any], key: str) -> frozenset[str]:
    value = config[key]
    if value is None or value == "":
        return frozenset()
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, list | tuple | set | frozenset) or not all(
        isinstance(v, str) and _MID.fullmatch(v) for v in value
    ):
        raise ConfigurationError(
            f"{key} is the channel's NICE merchant ids (MIDs), such as "
            f"'nicepay01m' or a list of them, as the PortOne console shows them "
            f"under the channel; not {value!r}."
        )
    return frozenset(value)


_MID = re.compile(r"[A-Za-z0-9_-]{1,80}")
