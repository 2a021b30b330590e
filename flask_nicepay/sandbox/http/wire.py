"""HTTP details shared by the REST and control blueprints.

Request side: JSON and form bodies (with PHP-style ``a[]`` and ``a[0][b]`` keys)
and query strings all become one plain mapping. Response side: PortOne's envelope
``{"code", "message", "response"}`` with ``application/json; charset=UTF-8``.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any
from typing import Final

from flask import Request
from flask import Response
from werkzeug.datastructures import MultiDict

from ..model.sandbox_errors import bad_request
from ..model.values import Params
from ..model.values import json_amount

CONTENT_TYPE: Final = "application/json; charset=UTF-8"
_SEGMENT = re.compile(r"\[([^\[\]]*)\]")


def envelope(
    response: Any, *, status: int = 200, code: int = 0, message: str | None = None
) -> Response:
    """An answer in PortOne's envelope.

    :param response: the payload (None on failure).
    :param status: the HTTP status.
    :param code: PortOne's code, 0 on success.
    :param message: None on success, the reason otherwise.
    """
    body = {"code": code, "message": message, "response": response}
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"), default=_default)
    return Response(text, status=status, content_type=CONTENT_TYPE)


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return json_amount(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def params(request: Request) -> Params:
    """The request's query and body parameters; the body wins on a clash.

    :param request: the Flask request.
    """
    merged = nest(request.args)
    merged.update(_body(request))
    return Params(merged)


def _body(request: Request) -> dict[str, Any]:
    if request.mimetype == "application/json" or (
        not request.mimetype and request.get_data()[:1] in (b"{", b"[")
    ):
        return _json_body(request.get_data())
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return nest(request.form)
    return {}


def _json_body(raw: bytes) -> dict[str, Any]:
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw, parse_float=Decimal)
    except ValueError:
        raise bad_request("요청 본문이 올바른 JSON이 아닙니다.") from None
    if not isinstance(data, dict):
        raise bad_request("요청 본문은 JSON 객체여야 합니다.")
    return data


def nest(pairs: MultiDict[str, str]) -> dict[str, Any]:
    """Turn flat form or query keys into nested values, as PHP does.

    ``a[]=1&a[]=2`` is a list; ``s[0][m]=x`` a list of objects; a plain key sent
    twice is a list too.

    :param pairs: the decoded pairs.
    """
    result: dict[str, Any] = {}
    for key, values in pairs.lists():
        name, _, rest = key.partition("[")
        path = [name, *_SEGMENT.findall("[" + rest)] if rest else [name]
        for value in values:
            _assign(result, path, value)
    for key, values in pairs.lists():
        if "[" not in key and len(values) > 1:
            result[key] = list(values)
    nested: dict[str, Any] = _listify(result)
    return nested


def _assign(node: dict[str, Any], path: list[str], value: str) -> None:
    for index, segment in enumerate(path[:-1]):
        nxt = path[index + 1]
        child = node.get(segment)
        if nxt == "":
            node[segment] = child if isinstance(child, list) else []
            node[segment].append(value)
            return
        if not isinstance(child, dict):
            child = node[segment] = {}
        node = child
    node[path[-1]] = value


def _listify(node: Any) -> Any:
    # Objects whose keys are all indexes (``s[0]``, ``s[1]``) become lists.
    if isinstance(node, list):
        return [_listify(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: _listify(value) for key, value in node.items()}
    if converted and all(key.isdigit() for key in converted):
        return [converted[key] for key in sorted(converted, key=int)]
    return converted
