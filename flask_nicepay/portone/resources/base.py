"""What every resource shares: the requestor, and the values PortOne's paths and
parameters are written in."""

from __future__ import annotations

import datetime as dt
import json
import typing as t
from decimal import Decimal
from urllib.parse import quote

from ..models import PaymentStatus
from ..requestor import Requestor

Money = int | Decimal
Moment = dt.datetime | int
#: ``custom_data``: text as it is, or a mapping sent as JSON text.
CustomData = str | t.Mapping[str, t.Any] | None


class Resource:
    """One group of PortOne endpoints, calling them through a shared requestor.

    :param requestor: sends the calls and reads the answers.
    """

    def __init__(self, requestor: Requestor) -> None:
        self._requestor = requestor

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"


def unix(moment: Moment | None) -> int | None:
    """A moment as UNIX seconds, as PortOne takes it.

    :param moment: an aware datetime, UNIX seconds, or ``None``.
    :raises ValueError: a naive datetime, which names no fixed moment.
    """
    if moment is None or isinstance(moment, int):
        return moment
    if moment.tzinfo is None:
        raise ValueError("Pass aware datetimes; a naive one has no fixed moment.")
    return int(moment.timestamp())


def seg(value: str) -> str:
    """An id quoted as one path segment.

    :param value: the id.
    :raises ValueError: an empty id, which would call another endpoint.
    """
    if not value:
        raise ValueError("An id in the path cannot be empty.")
    return quote(value, safe="")


def status_seg(status: PaymentStatus | str | None) -> str:
    """The optional trailing ``/{status}`` of the find endpoints.

    :param status: the status, or ``None`` for any.
    """
    return "" if status is None else "/" + seg(str(status))


def json_text(value: CustomData) -> str | None:
    """``custom_data`` as the JSON text PortOne stores and returns.

    :param value: text as it is, or a mapping to serialise.
    """
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)
