"""What every pass of the janitor shares: its parts, its report, and its claims.

A claim is a compare-and-swap on a row's ``claimed_until``: the row is taken only
if nobody holds it (``claimed_until`` unset or past), in one ``UPDATE`` whose
``WHERE`` says so. Two janitors that race for a row both run that ``UPDATE``; the
database lets one change the row, and the other's ``WHERE`` no longer matches, so
only one of them asks PortOne about it. A janitor that dies holding a claim holds
it only until it lapses.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import typing as t

import sqlalchemy as sa

from .db import write_transaction
from .janitor_policy import JanitorPolicy
from .notifications import Notifications
from .parts import Part
from .parts import Parts
from .subscriptions import Subscriptions
from .sync import Reconciler


@dataclasses.dataclass
class PassReport:
    """What one pass of the janitor did: counts by name, and what went wrong."""

    #: The pass: ``stale_inbox``, ``failed_inbox``, ``open_orders``, ``vbanks``,
    #: ``refunds`` or ``subscriptions``.
    name: str
    #: How many rows came to what (``claimed``, ``held`` by another janitor,
    #: ``applied``, ``expired``, ``given_up``...).
    counts: dict[str, int] = dataclasses.field(default_factory=dict)
    #: What failed: PortOne unreachable, a notification that failed again.
    errors: list[str] = dataclasses.field(default_factory=list)

    def add(self, name: str, count: int = 1) -> None:
        """Add ``count`` to the count called ``name``."""
        self.counts[name] = self.counts.get(name, 0) + count

    @property
    def ok(self) -> bool:
        """Whether nothing failed."""
        return not self.errors

    def as_dict(self) -> dict[str, t.Any]:
        return {"counts": dict(self.counts), "errors": list(self.errors)}


class JanitorBase(Part):
    """The parts a janitor's passes work with.

    :param parts: the PortOne client, the order store and the clock.
    :param notifications: processes inbox rows again.
    :param reconciler: applies PortOne's truth to orders.
    :param subscriptions: runs the subscriptions' due work.
    :param policy: grace periods, backoff and batch sizes.
    """

    def __init__(
        self,
        parts: Parts,
        *,
        notifications: Notifications,
        reconciler: Reconciler,
        subscriptions: Subscriptions,
        policy: JanitorPolicy | None = None,
    ) -> None:
        super().__init__(parts)
        self.notifications = notifications
        self.reconciler = reconciler
        self.due_work = subscriptions
        self.policy = policy or JanitorPolicy()

    def claim(
        self,
        table: sa.Table,
        ids: t.Iterable[int],
        *,
        until: dt.datetime,
        still: t.Sequence[sa.ColumnElement[bool]] = (),
    ) -> list[int]:
        """Take each of these rows of ``table`` that nobody holds, until ``until``.

        :param still: what made the rows worth taking, checked again in the
            same ``UPDATE``: a row another janitor finished meanwhile (and gave
            back) is not taken again.
        :returns: the ids taken, in order; the others are held by another
            janitor, or done.
        """
        now = self.clock()
        won: list[int] = []
        with write_transaction(self.store.engine) as conn:
            for row_id in sorted(ids):  # one order of locks for every janitor
                taken = conn.execute(
                    sa.update(table)
                    .where(table.c.id == row_id, unclaimed(table, now), *still)
                    .values(claimed_until=until)
                )
                if taken.rowcount == 1:
                    won.append(row_id)
        return won

    def release(
        self, table: sa.Table, ids: t.Iterable[int], *, until: dt.datetime
    ) -> None:
        """Give up the claims taken until ``until`` on these rows, so the next
        pass may take them at once; a claim another janitor took since is kept."""
        wanted = sorted(ids)
        if not wanted:
            return
        with write_transaction(self.store.engine) as conn:
            conn.execute(
                sa.update(table)
                .where(table.c.id.in_(wanted), table.c.claimed_until == until)
                .values(claimed_until=None)
            )


def unclaimed(table: sa.Table, now: dt.datetime) -> sa.ColumnElement[bool]:
    """Rows of ``table`` that no janitor holds at ``now``."""
    column = table.c.claimed_until
    return sa.or_(column.is_(None), column <= now)
