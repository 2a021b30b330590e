"""What every part of the plugin works with, given once.

The reconciler, refunds, billing and orders each need the PortOne client, the
order store and the clock. They take one :class:`Parts` instead of restating the
three in every constructor, and :class:`Part` gives each of them the same names
for them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import typing as t

if t.TYPE_CHECKING:
    from .portone import PortOneClient
    from .store import Store

#: ``notify(event, order, transition, **data)``: sends one event's signal.
Notify = t.Callable[..., None]


@dataclasses.dataclass(frozen=True, slots=True)
class Parts:
    """One application's PortOne client, order store and clock."""

    client: PortOneClient
    store: Store
    clock: t.Callable[[], dt.datetime]


class Part:
    """Built on an application's :class:`Parts`.

    :param parts: the client, store and clock to work with.
    """

    def __init__(self, parts: Parts) -> None:
        self.parts = parts

    @property
    def client(self) -> PortOneClient:
        """The PortOne client."""
        return self.parts.client

    @property
    def store(self) -> Store:
        """The order store."""
        return self.parts.store

    def clock(self) -> dt.datetime:
        """The current time (an aware UTC datetime)."""
        return self.parts.clock()
