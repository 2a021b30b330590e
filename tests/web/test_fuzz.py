"""Random bytes at every route, on SQLite and PostgreSQL: never a 5xx.

Each route gets one app per test (seeded with a paid and a ready order) and a few
hundred generated requests: raw binary, JSON with NUL, lone surrogates, wrong types
and nesting, forms and queries with undecodable bytes, huge bodies, any method and
content type. Every request to a door leaves exactly one inbox row holding the
bytes that came; no request changes an order, its history or its refunds.
"""

from __future__ import annotations

import json
import re
import typing as t
from urllib.parse import quote_from_bytes

import pytest
from flask import Flask
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from .webshop import AppFactory
from .webshop import Shop
from .webshop import last_inbox_id
from .webshop import money_rows
from .webshop import new_entries
from .webshop import on_both_databases
from .webshop import open_shop
from .webshop import send_raw

pytestmark = on_both_databases

#: Small, so that bodies over the limit are cheap to make; below what is stored.
MAX_BODY = 4096
FUZZ = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
METHODS = st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE"])
CONTENT_TYPES = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "application/json",
            "application/x-www-form-urlencoded",
            "application/octet-stream",
            "multipart/form-data",
            "multipart/form-data; boundary=x",
            "text/plain",
            "application/json; charset=latin-1",
            "application/x-www-form-urlencoded; charset=euc-kr",
        ]
    ),
    # Header text: any Latin-1 but line breaks, which no client can send.
    st.text(st.characters(max_codepoint=255, exclude_characters="\r\n"), max_size=40),
)
HOSTILE = ["\x00", "\ud800", "\udfff", "\udc00\ud800", "\ufffe", "\x00" * 40]
FIELDS = ["imp_uid", "merchant_uid", "status", "error_msg", "error_code"]
FIELDS += ["imp_success", "success", "cancellation_id", "o", "e"]


def strings(shop: Shop) -> st.SearchStrategy[str]:
    """Text a caller might send: the shop's real ids, hostile bits, anything."""
    real = [shop.paid, shop.ready, shop.paid_imp_uid, shop.ready_imp_uid]
    pieces = st.sampled_from(real + HOSTILE + ["paid", "ready", "imp_", "np-"])
    anything = st.text(st.characters(codec=None), max_size=30)
    return st.lists(st.one_of(pieces, anything), max_size=3).map("".join)


def json_values(shop: Shop) -> st.SearchStrategy[t.Any]:
    scalars = st.one_of(
        st.none(), st.booleans(), st.integers(), st.floats(), strings(shop)
    )
    return st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4),
            st.dictionaries(st.one_of(st.sampled_from(FIELDS), strings(shop)), inner),
        ),
        max_leaves=12,
    )


def json_objects(shop: Shop) -> st.SearchStrategy[bytes]:
    fields = st.dictionaries(st.sampled_from(FIELDS), json_values(shop), max_size=6)
    bodies = st.one_of(fields, json_values(shop))
    # ensure_ascii writes a lone surrogate as its escape, as JSON allows.
    return bodies.map(lambda value: json.dumps(value).encode("ascii"))


def raw_text(shop: Shop) -> st.SearchStrategy[bytes]:
    """Text as bytes, including encodings that are not UTF-8 at all."""
    encoded = strings(shop).map(lambda s: s.encode("utf-8", "surrogatepass"))
    return st.one_of(encoded, st.binary(max_size=20))


def pairs(shop: Shop, *, escape: bool) -> st.SearchStrategy[bytes]:
    """``name=value&...`` with raw bytes, or every byte percent-encoded."""
    names = st.one_of(st.sampled_from(FIELDS).map(str.encode), raw_text(shop))
    pair = st.tuples(names, raw_text(shop))

    def join(items: list[tuple[bytes, bytes]]) -> bytes:
        quote = quote_from_bytes if escape else (lambda b: b.decode("latin-1"))
        return "&".join(f"{quote(k)}={quote(v)}" for k, v in items).encode("latin-1")

    return st.lists(pair, max_size=5).map(join)


def bodies(shop: Shop) -> st.SearchStrategy[bytes]:
    huge = st.integers(MAX_BODY + 1, 2 * MAX_BODY).map(lambda n: b"\x00" * n)
    big_json = st.integers(1, MAX_BODY - 40).map(
        lambda n: json.dumps({"imp_uid": "imp_" + "\x00" * (n // 6)}).encode()
    )
    return st.one_of(
        st.binary(max_size=600),
        json_objects(shop),
        pairs(shop, escape=True),
        pairs(shop, escape=False),
        huge,
        big_json,
    )


def queries(shop: Shop) -> st.SearchStrategy[bytes]:
    # No raw CR or LF: they end an HTTP request line, so no server passes them on
    # in a query string (werkzeug would echo one into a redirect's Location).
    raw = pairs(shop, escape=False).map(
        lambda query: query.replace(b"\r", b"").replace(b"\n", b"")
    )
    return st.one_of(st.just(b""), pairs(shop, escape=True), raw)


class Request(t.NamedTuple):
    method: str
    body: bytes
    content_type: str | None
    query: bytes


def requests(shop: Shop) -> st.SearchStrategy[Request]:
    return st.builds(Request, METHODS, bodies(shop), CONTENT_TYPES, queries(shop))


def send(app: Flask, path: str, request: Request) -> t.Any:
    method, body, content_type, query = request
    return send_raw(
        app, path, method=method, body=body, content_type=content_type, query=query
    )


#: Wider than any card-number shape, so only bodies that surely hold none are
#: compared byte for byte.
_CARDISH = re.compile(rb"[0-9]{4}")


def assert_kept(sent: bytes, stored: bytes | None) -> None:
    assert stored is not None
    if len(sent) > MAX_BODY:  # refused unread: any of it kept is what came
        assert sent.startswith(stored)
    elif _CARDISH.search(sent) is None:
        assert stored == sent
    else:
        assert len(stored) <= len(sent)


@pytest.fixture
def shop(make_app: AppFactory) -> Shop:
    return open_shop(make_app({"NICEPAY_MAX_BODY": MAX_BODY}))


def fuzz_door(shop: Shop, path: str, kind: str) -> None:
    @FUZZ
    @given(requests(shop))
    def example(request: Request) -> None:
        before, ids = money_rows(shop.app), last_inbox_id(shop.app)
        response = send(shop.app, path, request)
        assert response.status_code < 500, response.get_data(as_text=True)[:300]
        [entry] = new_entries(shop.app, ids)
        assert (entry.kind, entry.method) == (kind, request.method)
        assert_kept(request.body, entry.body)
        assert money_rows(shop.app) == before

    example()


def test_fuzz_webhook(shop: Shop) -> None:
    fuzz_door(shop, "/nicepay/webhook", "webhook")


def test_fuzz_complete(shop: Shop) -> None:
    fuzz_door(shop, "/nicepay/complete", "pc")


def test_fuzz_return(shop: Shop) -> None:
    fuzz_door(shop, "/nicepay/return", "mobile")


PAGES = [
    "/nicepay/checkout/{}",
    "/nicepay/orders/{}/status",
    "/nicepay/orders/{}/confirm",
    "/nicepay/orders/{}",
]


def test_fuzz_pages(shop: Shop) -> None:
    # The path segment percent-encoded, as a browser sends it.
    uid = strings(shop).map(
        lambda s: quote_from_bytes(s.encode("utf-8", "surrogatepass"), safe="")
    )

    @FUZZ
    @given(st.sampled_from(PAGES), uid, requests(shop))
    def example(page: str, merchant_uid: str, request: Request) -> None:
        before, ids = money_rows(shop.app), last_inbox_id(shop.app)
        response = send(shop.app, page.format(merchant_uid), request)
        assert response.status_code < 500, response.get_data(as_text=True)[:300]
        assert new_entries(shop.app, ids) == []
        assert money_rows(shop.app) == before

    example()
