"""What every resource shares: the requestor, and the values PortOne's paths and
parameters are written in."""

from __future__ import annotations

import datetime as dt
import inspect
import json
import typing as t
from decimal import Decimal
from urllib.parse import quote

from ..models import PaymentStatus
from ..requestor import Requestor

F = t.TypeVar("F", bound=t.Callable[..., t.Any])

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


def spelled_out(options: type) -> t.Callable[[F], F]:
    """Show a method's ``**options`` as the keyword-only parameters it takes.

    A call takes the keys of the :class:`~typing.TypedDict` ``options``, each
    defaulting to ``None``, and mypy checks them; :func:`inspect.signature`,
    :func:`help` and the docs list them one by one, as the method was once written.

    :param options: the ``TypedDict`` that types the method's ``**options``.
    """
    hints = t.get_type_hints(options)

    def spell(method: F) -> F:
        signature = inspect.signature(method)
        named = [p for p in signature.parameters.values() if p.kind != p.VAR_KEYWORD]
        named += [
            inspect.Parameter(
                name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=hint
            )
            for name, hint in hints.items()
        ]
        method.__signature__ = signature.replace(parameters=named)  # type: ignore[attr-defined]
        return method

    return spell


def options_body(
    method: str, options: t.Mapping[str, t.Any], allowed: type
) -> dict[str, t.Any]:
    """The body parameters of a call's options: every one ``allowed`` names, in its
    order, ``None`` when not given; ``custom_data`` as JSON text, a buyer's
    details last.

    :param method: the method's name, for the error.
    :param options: the keywords the call was given.
    :param allowed: the ``TypedDict`` of the method's options.
    :raises TypeError: a keyword the method does not take, as Python says it.
    """
    names = allowed.__annotations__
    for name in options.keys() - names.keys():
        raise TypeError(f"{method}() got an unexpected keyword argument {name!r}")
    body = {name: options.get(name) for name in names if name != "buyer"}
    if "custom_data" in body:
        body["custom_data"] = json_text(body["custom_data"])
    buyer = options.get("buyer")
    return body | (buyer.as_params() if buyer else {})
