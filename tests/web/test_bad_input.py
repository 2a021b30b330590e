"""Hostile bytes at every route: a clear 4xx, kept in the inbox, no order touched.

Each case runs on SQLite and PostgreSQL, because the two refuse different things
(PostgreSQL text cannot hold NUL; no driver encodes a lone surrogate). The doors
(webhook, completion, mobile return) must record what arrived, byte for byte up
to the stored limit; the pages must answer 4xx, never 500.
"""

from __future__ import annotations

import json
import typing as t

import pytest
from flask import Flask

from flask_nicepay.inbox import MAX_STORED_BODY

from .webshop import DATABASES
from .webshop import Shop
from .webshop import build_app
from .webshop import close_app
from .webshop import last_inbox_id
from .webshop import money_rows
from .webshop import new_entries
from .webshop import open_shop
from .webshop import send_raw

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
PATHS = {"webhook": "/nicepay/webhook", "pc": "/nicepay/complete"}
PATHS["mobile"] = "/nicepay/return"
#: Four times what the inbox keeps, so that a body can be cut without a 413.
MAX_BODY = 4 * MAX_STORED_BODY


class Case(t.NamedTuple):
    """One hostile request to a door, and the status it must be answered with."""

    name: str
    door: str
    method: str = "POST"
    body: bytes = b""
    content_type: str | None = None
    query: bytes = b""
    status: int = 400
    #: What the inbox keeps when that is not the body itself (a masked card).
    kept: bytes | None = None


def js(value: t.Any) -> bytes:
    """JSON text as bytes; strings may hold NUL or a lone surrogate, escaped."""
    return json.dumps(value).encode("ascii")


def _post_cases(door: str, uid_field: str) -> list[Case]:
    """Cases the two POST doors share; ``uid_field`` is the one each requires."""
    raw = json.dumps
    return [
        Case(
            "NUL in an octet-stream",
            door,
            body=b"imp_\x00\xff\x00",
            status=415,
            content_type="application/octet-stream",
        ),
        Case(
            "random binary",
            door,
            body=bytes(range(256)),
            status=415,
            content_type="application/octet-stream",
        ),
        Case(
            "NUL in a form value",
            door,
            body=f"{uid_field}=np\x00x".encode(),
            content_type=FORM,
        ),
        Case(
            "encoded NUL in a form value",
            door,
            body=f"{uid_field}=np%00x".encode(),
            content_type=FORM,
        ),
        Case("NUL in a form name", door, body=b"\x00=1", content_type=FORM),
        Case(
            "NUL in a JSON string",
            door,
            body=js({uid_field: "np-1\x00"}),
            content_type=JSON,
        ),
        Case("NUL in a JSON key", door, body=js({"\x00": "\x00"}), content_type=JSON),
        Case(
            "raw NUL inside JSON",
            door,
            body=b'{"imp_uid": "a\x00b"}',
            content_type=JSON,
        ),
        Case(
            "invalid UTF-8 in JSON",
            door,
            body=b'{"imp_uid": "\xff\xfe\xc3"}',
            content_type=JSON,
        ),
        # A form whose bytes cannot be decoded has no fields: refused as no form.
        Case(
            "invalid UTF-8 in a form",
            door,
            body=b"imp_uid=\xff\xfe&x=\xc3",
            content_type=FORM,
            status=415,
        ),
        Case(
            "encoded invalid UTF-8 in a form",
            door,
            body=b"imp_uid=%ff%fe%c3",
            content_type=FORM,
        ),
        Case(
            "invalid UTF-8 in the query",
            door,
            query=b"imp_uid=%ff%c3\xff",
            body=js({"imp_uid": 1}),
            content_type=JSON,
        ),
        Case(
            "NUL in the query",
            door,
            query=b"imp_uid=%00&\x00=%00",
            body=js({uid_field: "np\x00"}),
            content_type=JSON,
        ),
        Case(
            "lone surrogate in JSON",
            door,
            content_type=JSON,
            body=raw({"imp_uid": "\ud800", uid_field: "\udfff"}).encode(),
        ),
        Case(
            "lone surrogate in a form",
            door,
            content_type=FORM,
            body="imp_uid=\ud800".encode("utf-8", "surrogatepass"),
            status=415,
        ),
        Case(
            "surrogate pair halves apart",
            door,
            content_type=JSON,
            body=b'{"imp_uid": "\\udc00\\ud800", "merchant_uid": "\\ud83d"}',
        ),
        Case("nested JSON", door, body=b"[" * 4000 + b"]" * 4000, content_type=JSON),
        Case(
            "deeply nested JSON object",
            door,
            content_type=JSON,
            body=b'{"a":' * 1300 + b"1" + b"}" * 1300,
        ),
        Case(
            "huge value under the limit",
            door,
            content_type=JSON,
            body=js({"imp_uid": "imp_" + "a" * (MAX_BODY - 100)}),
        ),
        Case(
            "huge body over the limit",
            door,
            content_type=JSON,
            body=js({"imp_uid": "imp_" + "a" * MAX_BODY}),
            status=413,
        ),
        Case(
            "huge form over the limit",
            door,
            content_type=FORM,
            body=b"imp_uid=" + b"\x00" * (MAX_BODY + 1),
            status=413,
        ),
        Case(
            "imp_uid a number",
            door,
            body=js({"imp_uid": 12, uid_field: "np-1"}),
            content_type=JSON,
        ),
        Case(
            "imp_uid a list",
            door,
            body=js({"imp_uid": ["imp_1"], uid_field: 1}),
            content_type=JSON,
        ),
        Case(
            "imp_uid an object",
            door,
            content_type=JSON,
            body=js({"imp_uid": {"$ne": None}, uid_field: "np-1"}),
        ),
        Case(
            "merchant_uid null",
            door,
            body=js({"merchant_uid": None, "imp_uid": 5}),
            content_type=JSON,
        ),
        Case(
            "merchant_uid a bool",
            door,
            body=js({"merchant_uid": True}),
            content_type=JSON,
        ),
        Case("JSON number", door, body=b"12", content_type=JSON),
        Case("JSON true", door, body=b"true", content_type=JSON),
        Case("missing fields", door, body=b"{}", content_type=JSON),
        Case("empty form", door, body=b"", content_type=FORM),
        Case("form body sent as JSON", door, body=b"imp_uid=imp_1", content_type=JSON),
        Case(
            "JSON body sent as a form",
            door,
            body=js({"imp_uid": "imp_1"}),
            content_type=FORM,
        ),
        Case(
            "text/plain",
            door,
            body=b"imp_uid=imp_1",
            content_type="text/plain",
            status=415,
        ),
        Case(
            "multipart without a boundary",
            door,
            body=b"--x\r\n\x00",
            content_type="multipart/form-data",
            status=415,
        ),
        Case(
            "multipart with a broken part",
            door,
            content_type=("multipart/form-data; boundary=b"),
            body=b'--b\r\nContent-Disposition: form-data; name="\x00"\r\n\r\n\xff',
            status=415,
        ),
        Case(
            "a charset nobody knows",
            door,
            body=js({"imp_uid": "imp_1"}),
            content_type="application/json; charset=x-\x00-none",
        ),
        Case(
            "NUL in the content type",
            door,
            body=b"imp_uid=imp_1",
            content_type="text/\x00plain",
            status=415,
        ),
        Case(
            "card number in a bad body",
            door,
            content_type="text/plain",
            body=b"card=4242424242424242\x00\xff",
            status=415,
            kept=b"card=************4242\x00\xff",
        ),
    ] + [
        Case(
            f"method {method}",
            door,
            method=method,
            body=b"\x00\xff",
            content_type=FORM,
            status=405,
        )
        for method in ("GET", "PUT", "PATCH", "DELETE")
    ]


def _return_cases() -> list[Case]:
    door = "mobile"
    get = "GET"
    return [
        Case("NUL in merchant_uid", door, get, query=b"merchant_uid=np%00x"),
        Case("raw NUL in the query", door, get, query=b"merchant_uid=np\x00x"),
        Case("NUL in a free value", door, get, query=b"merchant_uid=%00&error_msg=%00"),
        Case("NUL in a name", door, get, query=b"%00=%00"),
        Case("invalid UTF-8 in merchant_uid", door, get, query=b"merchant_uid=%ff%c3"),
        Case("raw invalid UTF-8 in the query", door, get, query=b"merchant_uid=\xff"),
        Case("encoded surrogate", door, get, query=b"merchant_uid=%ed%a0%80"),
        Case(
            "imp_uid wrong shape",
            door,
            get,
            query=b"merchant_uid=np-1&imp_uid=imp_%00%ff",
        ),
        Case("huge value", door, get, query=b"merchant_uid=" + b"n" * 20_000),
        Case(
            "huge error_msg",
            door,
            get,
            query=b"merchant_uid=np-1&error_msg=" + b"%00" * 5_000,
        ),
        Case("missing merchant_uid", door, get, query=b"imp_uid=imp_123456789012"),
        Case("nothing at all", door, get),
        Case(
            "NUL body on a GET",
            door,
            get,
            body=b"\x00\xff" * 100,
            content_type="application/octet-stream",
        ),
        Case(
            "JSON body on a GET",
            door,
            get,
            body=js({"merchant_uid": "np\x00"}),
            content_type=JSON,
        ),
        # The body of a GET is not read; the missing merchant_uid is the error.
        Case(
            "huge body on a GET",
            door,
            get,
            body=b"\x00" * (MAX_BODY + 1),
            content_type="application/octet-stream",
        ),
    ] + [
        Case(
            f"method {method}",
            door,
            method,
            body=b"merchant_uid=np\x00",
            content_type=FORM,
            status=405,
        )
        for method in ("POST", "PUT", "PATCH", "DELETE")
    ]


CASES = (
    _post_cases("webhook", "imp_uid")
    + _post_cases("pc", "merchant_uid")
    + _return_cases()
)


@pytest.fixture(scope="module", params=DATABASES)
def shop(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> t.Iterator[Shop]:
    """One shop per database for the whole module: bad input changes no order,
    and each test looks only at the inbox rows its own request wrote."""
    directory = tmp_path_factory.mktemp("bad-input")
    app = build_app(directory, request.param, config={"NICEPAY_MAX_BODY": MAX_BODY})
    yield open_shop(app)
    close_app(app)


def send(app: Flask, case: Case) -> t.Any:
    """Send ``case`` as the raw bytes it holds, from PortOne's address."""
    return send_raw(
        app,
        PATHS[case.door],
        method=case.method,
        body=case.body,
        content_type=case.content_type,
        query=case.query,
    )


def assert_kept(case: Case, stored: bytes | None, truncated: bool) -> None:
    """The inbox holds the bytes that arrived, up to the stored limit."""
    assert stored is not None
    if len(case.body) > MAX_BODY:  # refused unread: any of it kept is what came
        assert case.body.startswith(stored)
        return
    kept = case.body if case.kept is None else case.kept
    assert truncated is (len(kept) > MAX_STORED_BODY)
    assert stored == kept[:MAX_STORED_BODY]


@pytest.mark.parametrize("case", CASES, ids=[f"{c.door}: {c.name}" for c in CASES])
def test_hostile_request_is_a_4xx_recorded_and_changes_no_order(
    shop: Shop, case: Case
) -> None:
    before, ids = money_rows(shop.app), last_inbox_id(shop.app)

    response = send(shop.app, case)

    assert response.status_code == case.status, response.get_data(as_text=True)
    [entry] = new_entries(shop.app, ids)
    assert (entry.kind, entry.outcome, entry.method) == (
        case.door,
        "invalid",
        case.method,
    )
    assert entry.error
    assert_kept(case, entry.body, entry.body_truncated)
    assert money_rows(shop.app) == before


UNKNOWN = [
    Case(
        "unknown imp_uid",
        "webhook",
        body=js({"imp_uid": "imp_000000000000"}),
        content_type=JSON,
        query=b"x=%00",
    ),
    Case(
        "unknown imp_uid with NUL elsewhere",
        "webhook",
        content_type=JSON,
        body=js({"imp_uid": "imp_000000000000", "cancellation_id": "\x00\ud800"}),
    ),
    Case(
        "unknown imp_uid in a form",
        "webhook",
        content_type=FORM,
        body=b"imp_uid=imp_000000000000&status=paid&x=%00%ff",
    ),
    Case(
        "unknown merchant_uid",
        "pc",
        content_type=JSON,
        status=404,
        body=js({"imp_uid": None, "merchant_uid": "np-nobody", "error_msg": "\x00"}),
    ),
    Case(
        "unknown merchant_uid in a form",
        "pc",
        content_type=FORM,
        status=404,
        body=b"merchant_uid=np-nobody&error_code=%00&error_msg=%ff%ed%a0%80",
    ),
    Case(
        "unknown merchant_uid",
        "mobile",
        "GET",
        status=404,
        query=b"merchant_uid=np-nobody&error_msg=%00%ff&imp_success=%00",
    ),
]


@pytest.mark.parametrize("case", UNKNOWN, ids=[f"{c.door}: {c.name}" for c in UNKNOWN])
def test_unknown_ids_with_hostile_extras_are_4xx_and_recorded(
    shop: Shop, case: Case
) -> None:
    before, ids = money_rows(shop.app), last_inbox_id(shop.app)

    response = send(shop.app, case)

    assert response.status_code == case.status, response.get_data(as_text=True)
    [entry] = new_entries(shop.app, ids)
    assert (entry.kind, entry.outcome) == (case.door, "invalid")
    assert_kept(case, entry.body, entry.body_truncated)
    assert money_rows(shop.app) == before


def test_a_body_past_the_stored_limit_is_cut_and_flagged(shop: Shop) -> None:
    body = b"\x00\xff" * MAX_STORED_BODY + b"tail"
    case = Case("long", "webhook", body=body, content_type="text/plain", status=415)
    ids = last_inbox_id(shop.app)
    assert send(shop.app, case).status_code == 415
    [entry] = new_entries(shop.app, ids)
    assert entry.body == body[:MAX_STORED_BODY] and entry.body_truncated


def test_hostile_text_is_kept_readably_in_every_column(shop: Shop) -> None:
    case = Case(
        "everywhere",
        "webhook",
        body=b"imp_uid=imp_1%00",
        content_type="application/x-www-form-urlencoded; x=\x00",
        query=b"a=%00%ff&b=\xed\xa0\x80",
    )
    ids = last_inbox_id(shop.app)
    assert send(shop.app, case).status_code == 400
    [entry] = new_entries(shop.app, ids)
    texts = [entry.path, entry.content_type, entry.error, entry.remote_addr]
    assert all(text is not None and "\x00" not in text for text in texts)
    assert entry.path is not None and entry.path.startswith("/nicepay/webhook?a=")


# -- the pages: no inbox, but a 4xx for anything odd -----------------------------

PAGES = [
    "/nicepay/checkout/{}",
    "/nicepay/orders/{}/status",
    "/nicepay/orders/{}/confirm",
    "/nicepay/orders/{}",
]
ODD_UIDS = ["np%00x", "%00", "np%ff", "%ed%a0%80", "n" * 5000, "np-nobody", "%25"]


@pytest.mark.parametrize("uid", ODD_UIDS)
@pytest.mark.parametrize("page", PAGES)
def test_pages_of_odd_merchant_uids_are_404(shop: Shop, page: str, uid: str) -> None:
    before = money_rows(shop.app)
    response = shop.app.test_client().get(page.format(uid))
    assert response.status_code == 404, response.get_data(as_text=True)[:500]
    assert money_rows(shop.app) == before


ODD_QUERIES = [
    b"o=%00",
    b"o=\x00\xff",
    b"e=%00&o=%ff",
    b"o=" + b"x" * 10_000,
    b"o=eyJ9.x.y&e=eyJ9.x.y",
    b"e=%ed%a0%80",
]


@pytest.mark.parametrize("query", ODD_QUERIES)
def test_checkout_page_with_odd_options_is_4xx(shop: Shop, query: bytes) -> None:
    before = money_rows(shop.app)
    for uid in (shop.ready, shop.paid):
        response = send_raw(
            shop.app, f"/nicepay/checkout/{uid}", method="GET", query=query
        )
        assert response.status_code < 500, response.get_data(as_text=True)[:500]
    assert money_rows(shop.app) == before


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize("page", PAGES)
def test_pages_refuse_other_methods(shop: Shop, page: str, method: str) -> None:
    before = money_rows(shop.app)
    response = shop.app.test_client().open(
        page.format(shop.ready), method=method, data=b"\x00\xff"
    )
    assert response.status_code == 405
    assert money_rows(shop.app) == before
