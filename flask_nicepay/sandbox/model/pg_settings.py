"""The account's PG settings ("채널"), and how ``channel_key`` and ``pg`` pick one.

A PortOne account holds several PG settings: each names a PG (``pg_provider``), a
MID at that PG, what it serves (the payment window, or the REST API's key-in,
billing-key, schedule and virtual-account payments) and whether it is in test
mode, and has a channel key. A request names one by ``channelKey``
(``channel_key`` on the REST API) or by ``pg`` (``{provider}`` or
``{provider}.{MID}``); a ``pg`` PortOne cannot match falls back to the default
setting (portone-v1.md §6.1, §9.2; PortOne's SDK docs: "해당 코드가 누락되거나
매칭되는 코드가 없는 경우 관리자 콘솔 기본 PG가 호출됩니다"). See
``docs/sandbox/choices.rst`` for what the sources leave open.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from .codes import API_CHANNEL_KEY
from .codes import API_MID
from .codes import TEST_API_CHANNEL_KEY
from .codes import TEST_API_MID
from .codes import TEST_WINDOW_CHANNEL_KEY
from .codes import TEST_WINDOW_MID
from .codes import WINDOW_CHANNEL_KEY
from .codes import WINDOW_MID

#: What a setting serves: the payment window, or the REST API's payments.
KINDS: Final = ("window", "api")
UNKNOWN_CHANNEL_KEY: Final = "등록되지 않은 채널키입니다"


@dataclass(frozen=True)
class PgSetting:
    """One PG setting of the account.

    :param pg_provider: PortOne's PG code, ``nice`` or another (``kakaopay``).
    :param mid: the MID at that PG, reported as a payment's ``pg_id``.
    :param kind: ``window`` (``IMP.request_pay``) or ``api`` (billing keys,
        ``onetime``, ``again``, schedules, ``POST /vbanks``).
    :param test: a test-mode setting: no money moves, and NICE voids its
        payments every night without PortOne hearing of it (§12).
    :param channel_key: the key ``channelKey`` / ``channel_key`` names it by.
    """

    pg_provider: str
    mid: str
    kind: str
    test: bool
    channel_key: str


class UnknownChannelKey(LookupError):
    """A ``channel_key`` no setting of the account has."""


#: The sandbox account's own settings, defaults first: its live ones are, by
#: definition, the sandbox's live money.
BUILT_IN: Final = (
    PgSetting("nice", WINDOW_MID, "window", False, WINDOW_CHANNEL_KEY),
    PgSetting("nice", API_MID, "api", False, API_CHANNEL_KEY),
    PgSetting("nice", TEST_WINDOW_MID, "window", True, TEST_WINDOW_CHANNEL_KEY),
    PgSetting("nice", TEST_API_MID, "api", True, TEST_API_CHANNEL_KEY),
)


class PgSettings:
    """Every PG setting of the account: the built-in four, then those added.

    The first setting of each kind is that kind's default, the one a request
    naming none (or naming one PortOne cannot match) goes through.
    """

    def __init__(self) -> None:
        #: Settings added at run time, oldest first (what a state file shares).
        self.added: tuple[PgSetting, ...] = ()

    def all(self) -> tuple[PgSetting, ...]:
        """Every setting, the built-in ones first."""
        return (*BUILT_IN, *self.added)

    def add(self, setting: PgSetting) -> PgSetting:
        """Add a setting, refusing a channel key the account already has.

        A MID may be set up twice (two channels, one contract); ``pg`` then
        names the first.

        :param setting: the new setting.
        :raises ValueError: for a value PortOne's console would not take (a kind
            it does not know, a code that is not one), or a channel key another
            setting has.
        """
        if setting.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}")
        _check_code(setting.pg_provider, "pg_provider", 16)
        _check_code(setting.mid, "mid", 80)
        _check_code(setting.channel_key, "channel_key", 100)
        if any(s.channel_key == setting.channel_key for s in self.all()):
            raise ValueError(f"channel key {setting.channel_key!r} is taken")
        self.added = (*self.added, setting)
        return setting

    def default(self, kind: str) -> PgSetting:
        """The setting a request of ``kind`` naming none goes through.

        :param kind: ``window`` or ``api``.
        """
        return next(s for s in self.all() if s.kind == kind)

    def by_channel_key(self, channel_key: str) -> PgSetting:
        """The setting a channel key names, whatever its kind.

        :param channel_key: the key.
        :raises UnknownChannelKey: when none has it.
        """
        for setting in self.all():
            if setting.channel_key == channel_key:
                return setting
        raise UnknownChannelKey(channel_key)

    def by_pg(self, pg: str, kind: str) -> PgSetting | None:
        """The setting ``pg`` names, or None when PortOne would not match it.

        ``{provider}.{MID}`` names the setting of that PG with that MID (one of
        ``kind`` first, else of the other kind); ``{provider}`` alone, or with a
        MID the account lacks, names that PG's first setting of ``kind`` (else of
        any kind).

        :param pg: the ``pg`` value.
        :param kind: what the request is: ``window`` or ``api``.
        """
        provider, _, mid = pg.partition(".")
        of_pg = [s for s in self.all() if s.pg_provider == provider]
        ranked = sorted(of_pg, key=lambda s: s.kind != kind)  # stable: kind first
        exact = [s for s in ranked if s.mid == mid]
        return next(iter(exact or ranked), None)

    def select(self, kind: str, channel_key: str | None, pg: str | None) -> PgSetting:
        """The setting a request goes through, as PortOne picks it.

        :param kind: ``window`` or ``api``.
        :param channel_key: ``channelKey`` / ``channel_key``; wins over ``pg``.
        :param pg: the deprecated ``pg``.
        :raises UnknownChannelKey: for a channel key the account lacks.
        """
        if channel_key:
            return self.by_channel_key(channel_key)
        named = self.by_pg(pg, kind) if pg else None
        return named or self.default(kind)

    def find(self, pg_provider: str, mid: str) -> PgSetting | None:
        """The setting of a PG with that MID (a billing key's), or None.

        :param pg_provider: the PG.
        :param mid: the MID.
        """
        return next(
            (s for s in self.all() if (s.pg_provider, s.mid) == (pg_provider, mid)),
            None,
        )


def _check_code(value: str, name: str, max_len: int) -> None:
    """Refuse what a console field would: empty, too long, not plain ASCII.

    A dot is refused too: ``pg`` splits ``{provider}.{MID}`` at the first one.
    """
    plain = value.isascii() and value.replace("-", "").replace("_", "").isalnum()
    if not plain or len(value) > max_len:
        raise ValueError(
            f"{name} must be 1 to {max_len} letters, digits, - or _: {value!r}"
        )
