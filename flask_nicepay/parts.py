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


R = t.TypeVar("R")


class Shortcut(t.Generic[R]):
    """A method of a facade that is one of its parts' methods.

    The signature and the documentation are written once, on the part:
    ``refund = Shortcut("refunds", Refunds.refund)`` in a class makes
    ``facade.refund(...)`` mean ``facade.refunds.refund(...)``
    (:class:`~flask_facade.NicePay` has a few).
    """

    def __init__(self, part: str, method: t.Callable[..., R]) -> None:
        self.part, self.name = part, method.__name__
        self.__doc__ = method.__doc__
        self.__wrapped__ = method

    @t.overload
    def __get__(self, facade: None, owner: type) -> Shortcut[R]: ...
    @t.overload
    def __get__(self, facade: t.Any, owner: type) -> t.Callable[..., R]: ...
    def __get__(self, facade: t.Any, owner: type) -> Shortcut[R] | t.Callable[..., R]:
        if facade is None:
            return self
        method = getattr(getattr(facade, self.part), self.name)
        return t.cast(t.Callable[..., R], method)

    def __call__(self, facade: t.Any, /, *args: t.Any, **kwargs: t.Any) -> R:
        # NicePay.refund(nicepay, ...), as with any method; the signature shown
        # (inspect.signature follows __wrapped__) is the part's.
        method = getattr(getattr(facade, self.part), self.name)
        return t.cast(R, method(*args, **kwargs))
