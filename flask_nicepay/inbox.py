"""The inbox: every inbound notification, written before it is processed, and kept.

A webhook, a PC completion and a mobile return are all hints that say "go and look".
Each is recorded here (what arrived, from where, when) and committed before the
reconciler runs, then marked with what came of it. Nothing that reached the server
is lost, and any of it can be replayed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import typing as t

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.engine import Engine
from sqlalchemy.engine import RowMapping

from . import tables
from .db import execute_alone
from .fused import Companion
from .inbound import is_storable
from .portone.redact import redact
from .portone.redact import redact_bytes
from .tables import UTCDateTime

#: Bytes of a body kept in the inbox; the rest is cut and flagged.
MAX_STORED_BODY = 16 * 1024


class Kind(enum.StrEnum):
    """Which door a notification came through."""

    WEBHOOK = "webhook"
    #: The checkout page's ``IMP.request_pay`` callback, posted by the browser.
    PC = "pc"
    #: The browser's return to ``m_redirect_url`` on a phone.
    MOBILE = "mobile"


class Outcome(enum.StrEnum):
    """What processing a notification came to."""

    RECEIVED = "received"
    #: The snapshot changed the order.
    APPLIED = "applied"
    #: The order already reflected the snapshot (a duplicate delivery).
    NOOP = "noop"
    #: The payment failed verification.
    MISMATCH = "mismatch"
    #: A payment for an order that can never take it (cancelled automatically or
    #: held, per policy).
    EXTRA = "extra"
    #: No order with the payment's merchant_uid; kept for an operator.
    UNKNOWN_ORDER = "unknown_order"
    #: The request itself was malformed; answered 4xx.
    INVALID = "invalid"
    #: PortOne could not be reached, or processing failed; replayable.
    ERROR = "error"


#: Outcomes that ``replay --failed`` picks up.
REPLAYABLE = (Outcome.ERROR, Outcome.UNKNOWN_ORDER, Outcome.RECEIVED)


@dataclasses.dataclass(frozen=True, slots=True)
class Hint:
    """What a notification claims: only ever a reason to look the payment up."""

    imp_uid: str | None = None
    merchant_uid: str | None = None
    status: str | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Entry:
    """One row of ``nicepay_inbox``."""

    id: int
    kind: str
    received_at: dt.datetime
    outcome: str
    attempts: int
    body_truncated: bool
    remote_addr: str | None = None
    method: str | None = None
    path: str | None = None
    content_type: str | None = None
    #: The bytes that arrived (card-number shapes masked), cut at the size limit.
    body: bytes | None = None
    hint_imp_uid: str | None = None
    hint_merchant_uid: str | None = None
    hint_status: str | None = None
    imp_uid: str | None = None
    merchant_uid: str | None = None
    dedupe_key: str | None = None
    error: str | None = None
    processed_at: dt.datetime | None = None
    #: Until then a janitor holds the row (see :mod:`flask_nicepay.janitor`).
    claimed_until: dt.datetime | None = None

    @property
    def text(self) -> str:
        """The body decoded as UTF-8, undecodable bytes shown as U+FFFD."""
        return (self.body or b"").decode("utf-8", "replace")

    @property
    def hint(self) -> Hint:
        return Hint(self.hint_imp_uid, self.hint_merchant_uid, self.hint_status)


class Inbox:
    """Records and reads inbound notifications.

    Whatever a caller sent is kept: the body as the bytes that arrived, and every
    text taken from the request made safe for any database by :func:`storable`
    (PostgreSQL refuses NUL in text, and no driver encodes a lone surrogate).

    :param engine: the plugin's database engine.
    :param clock: the current time.
    """

    def __init__(self, engine: Engine, *, clock: t.Callable[[], dt.datetime]) -> None:
        self.engine = engine
        self.clock = clock

    def record(
        self,
        kind: Kind | str,
        *,
        body: bytes | str = b"",
        hint: Hint | None = None,
        remote_addr: str | None = None,
        method: str | None = None,
        path: str | None = None,
        content_type: str | None = None,
        outcome: Outcome = Outcome.RECEIVED,
        error: str | None = None,
        connection: Connection | None = None,
        answered_first: bool = False,
    ) -> int:
        """Write a notification and commit it at once; returns its id.

        :param connection: a connection with no transaction open, to write on
            (the one the notification's processing will use).
        :param answered_first: whether the answer comes before the processing
            (celery mode): then the commit waits for the disk, as no later write does.
        """
        values = self._values(
            kind,
            body=body,
            hint=hint or Hint(),
            remote_addr=remote_addr,
            method=method,
            path=path,
            content_type=content_type,
            outcome=outcome,
            error=error,
        )
        bind = connection or self.engine
        ahead = outcome is Outcome.RECEIVED and not answered_first
        if ahead and bind.dialect.name == "postgresql":
            return int(execute_alone(bind, _INSERT_AHEAD, values).scalar_one())
        result = execute_alone(bind, _INSERT, values)
        return int(result.inserted_primary_key[0])  # type: ignore[index]

    def record_reading_order(
        self, kind: Kind | str, *, hint: Hint, connection: Connection, **request: t.Any
    ) -> tuple[int, dict[str, t.Any] | None]:
        """Record a notification still to be processed, and read its order.

        On PostgreSQL both happen in one statement, one round trip: the order
        named by ``hint.merchant_uid`` is read in the statement that commits the
        row. Elsewhere the row is written as by :meth:`record` and no order is read.

        :param request: what :meth:`record` takes about the request.
        :returns: the row's id, and the order's row when one was read and found.
        """
        if not (hint.merchant_uid and connection.dialect.name == "postgresql"):
            return self.record(kind, hint=hint, connection=connection, **request), None
        values = self._values(
            kind, hint=hint, outcome=Outcome.RECEIVED, error=None, **request
        )
        values["_merchant_uid"] = values["hint_merchant_uid"]
        row = dict(execute_alone(connection, _INSERT_READING, values).mappings().one())
        entry_id = int(row.pop("_entry_id"))
        return entry_id, (None if row["id"] is None else row)

    def _values(
        self,
        kind: Kind | str,
        *,
        body: bytes | str = b"",
        hint: Hint,
        outcome: Outcome,
        error: str | None,
        **request: str | None,
    ) -> dict[str, t.Any]:
        """The row of a notification, every text made storable.

        :param request: ``remote_addr``, ``method``, ``path`` and ``content_type``.
        """
        raw = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
        masked = redact_bytes(raw)
        return {
            "kind": str(kind),
            "received_at": self.clock(),
            "remote_addr": storable(request.get("remote_addr"), 64),
            "method": storable(request.get("method"), 8),
            "path": storable(request.get("path"), 255),
            "content_type": storable(request.get("content_type"), 128),
            "body": masked[:MAX_STORED_BODY],
            "body_truncated": len(masked) > MAX_STORED_BODY,
            "hint_imp_uid": storable(hint.imp_uid, 64),
            "hint_merchant_uid": storable(hint.merchant_uid, 64),
            "hint_status": storable(hint.status, 32),
            "outcome": str(outcome),
            "error": storable(error),
            "attempts": 0,
        }

    def finish(
        self,
        entry_id: int,
        outcome: Outcome,
        *,
        connection: Connection | None = None,
        **found: str | None,
    ) -> None:
        """Record what processing came to (called again by each replay).

        :param connection: the connection to write on: inside its open
            transaction (the one that changed the order) if it has one.
        :param found: what :meth:`outcome_write` takes besides the outcome.
        """
        write = self.outcome_write(entry_id, outcome, **found)
        if connection is not None and connection.in_transaction():
            connection.execute(write.statement, write.params)
        else:
            execute_alone(connection or self.engine, write.statement, write.params)

    def outcome_write(
        self,
        entry_id: int,
        outcome: Outcome,
        *,
        imp_uid: str | None = None,
        merchant_uid: str | None = None,
        dedupe_key: str | None = None,
        error: str | None = None,
    ) -> Companion:
        """The write :meth:`finish` makes, not made: to go with an order's change."""
        params = {
            "_id": entry_id,
            "_outcome": str(outcome),
            "_error": storable(error),
            "_processed_at": self.clock(),
            "_imp_uid": storable(imp_uid),
            "_merchant_uid": storable(merchant_uid),
            "_dedupe_key": storable(dedupe_key),
        }
        return Companion(_FINISH, params)

    def get(self, entry_id: int) -> Entry | None:
        """One notification by id."""
        query = sa.select(tables.inbox).where(tables.inbox.c.id == entry_id)
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        return None if row is None else _entry(row)

    def waiting(self, merchant_uid: str) -> bool:
        """Whether a notification naming the order is still ``received``.

        Read by the order a row's hint names (all a row not yet processed knows
        of it), through an index: a backlog of other orders' rows costs nothing.
        """
        if not is_storable(merchant_uid):  # no row holds what no database can
            return False
        column = tables.inbox.c
        # The literal condition of the partial index, which a bound value would
        # not let the planner match to it.
        query = (
            sa.select(column.id)
            .where(column.hint_merchant_uid == merchant_uid, tables.WAITING)
            .limit(1)
        )
        with self.engine.connect() as conn:
            return conn.execute(query).first() is not None

    def search(
        self,
        *,
        outcomes: t.Iterable[str] | None = None,
        merchant_uid: str | None = None,
        after_id: int = 0,
        limit: int = 1000,
    ) -> list[Entry]:
        """Notifications, oldest first, filtered by outcome or order.

        :param after_id: only notifications with a larger id (to page through).
        """
        column = tables.inbox.c
        query = sa.select(tables.inbox).where(column.id > after_id)
        query = query.order_by(column.id).limit(limit)
        if outcomes is not None:
            query = query.where(column.outcome.in_([str(o) for o in outcomes]))
        if merchant_uid is not None:
            if not is_storable(merchant_uid):  # no row holds what no database can
                return []
            named = column.merchant_uid == merchant_uid
            query = query.where(named | (column.hint_merchant_uid == merchant_uid))
        with self.engine.connect() as conn:
            return [_entry(row) for row in conn.execute(query).mappings()]


_INSERT = sa.insert(tables.inbox)
# A row still to be processed commits without waiting for its WAL to reach the disk
# (set_config(..., true) is SET LOCAL, in the statement's own transaction). The
# write that ends its processing, the outcome, waits as usual, and PostgreSQL
# writes its log in order: an answered notification is on disk like any other
# commit. A crash of the app loses nothing either way; only a crash of the database
# before the answer can lose such a row, and then the sender got no answer and
# sends again. One WAL flush per notification instead of two.
_INSERT_AHEAD = _INSERT.returning(
    tables.inbox.c.id,
    sa.text("set_config('synchronous_commit', 'off', true)"),
)
# What a row holds when recorded: all but what processing and the janitor add.
_LATER = {"id", "imp_uid", "merchant_uid", "dedupe_key", "processed_at"}
_RECORDED = tuple(
    c.name for c in tables.inbox.c if c.name not in _LATER | {"claimed_until"}
)
# The same, reading the notification's order in the statement that records it: a
# first delivery or a duplicate then saves a round trip. The order is read from the
# snapshot taken before the insert; a stale read only costs the compare-and-swap a
# retry, as any read of an order does.
_ENTRY = (
    sa.insert(tables.inbox)
    .values(
        {
            name: sa.bindparam(name, type_=tables.inbox.c[name].type)
            for name in _RECORDED
        }
    )
    .returning(
        tables.inbox.c.id, sa.text("set_config('synchronous_commit', 'off', true)")
    )
    .cte("entry")
)
_INSERT_READING = sa.select(
    _ENTRY.c.id.label("_entry_id"), *tables.orders.c
).select_from(
    _ENTRY.outerjoin(
        tables.orders, tables.orders.c.merchant_uid == sa.bindparam("_merchant_uid")
    )
)
# Built once, as the hot path runs it for every notification. What a snapshot
# said is only ever added: a replay that cannot reach PortOne keeps what was found.
# No parameter is named as a column: one that was would be added to the SET clause
# of every UPDATE in the statement, the order's too when it goes with its change.
_FINISH = (
    sa.update(tables.inbox)
    .where(tables.inbox.c.id == sa.bindparam("_id"))
    .values(
        outcome=sa.bindparam("_outcome"),
        error=sa.bindparam("_error"),
        processed_at=sa.bindparam("_processed_at", type_=UTCDateTime()),
        attempts=tables.inbox.c.attempts + 1,
        **{
            name: sa.func.coalesce(
                sa.bindparam(f"_{name}", type_=tables.inbox.c[name].type),
                tables.inbox.c[name],
            )
            for name in ("imp_uid", "merchant_uid", "dedupe_key")
        },
    )
)


def storable(value: str | None, length: int | None = None) -> str | None:
    """``value`` as text every database keeps, cut to ``length`` characters.

    A lone surrogate becomes its ``\\udxxx`` escape and a NUL becomes ``\\x00``:
    visible, and no longer something PostgreSQL or a driver refuses. Card-number
    shapes are masked. The raw body keeps the original bytes.
    """
    if value is None:
        return None
    text = value.encode("utf-8", "backslashreplace").decode("utf-8")
    text = redact(text.replace("\x00", "\\x00"))
    return text if length is None else text[:length]


def _entry(row: RowMapping) -> Entry:
    return Entry(**dict(row))
