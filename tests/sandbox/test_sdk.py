"""The browser SDK's HTTP side: open, the window page, complete, tokens, CORS, mounting.

These drive the endpoints with Flask's test client, as ``iamport.js`` and the
window's script would; ``test_sdk_browser.py`` runs the same flows in Chromium.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.test import Client
from werkzeug.test import TestResponse

from flask_nicepay.sandbox import CheckoutRefused
from flask_nicepay.sandbox import Sandbox
from flask_nicepay.sandbox.http.sdk_windows import WindowBook
from flask_nicepay.sandbox.http.sdk_windows import origin_of
from flask_nicepay.sandbox.http.sdk_windows import return_url_of
from flask_nicepay.sandbox.http.sdk_windows import with_query

from .peers import Api

SHOP = "http://shop.test"
DESKTOP = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0 Safari/537.36"
)
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/124.0 Mobile Safari/537.36"
)


def stored(sb: Sandbox, imp_uid: str) -> dict[str, Any]:
    """The payment as the REST API would show it; it must exist."""
    payment = sb.payment(imp_uid)
    assert payment is not None, imp_uid
    return payment


@pytest.fixture
def client(sb: Sandbox) -> FlaskClient:
    return sb.app.test_client()


def open_body(params: dict[str, Any] | None = None, **options: Any) -> dict[str, Any]:
    """What ``IMP.request_pay`` posts, with a PC browser and a callback."""
    return {
        "merchant_code": "imp00000000",
        "params": {"merchant_uid": "o-1", "amount": 15000, **(params or {})},
        "mobile": False,
        "user_agent": DESKTOP,
        "page_url": f"{SHOP}/checkout/o-1",
        "has_callback": True,
        **options,
    }


def answer(response: TestResponse, status: int = 200) -> Any:
    body = response.get_json()
    assert response.status_code == status, body
    assert body["code"] == (0 if status == 200 else -1), body
    return body["response"]


def open_window(
    client: Client, params: dict[str, Any] | None = None, **options: Any
) -> Any:
    response = client.post(
        "/_sandbox/sdk/open",
        json=open_body(params, **options),
        headers={"Origin": SHOP},
    )
    return answer(response)


def token_of(window_url: str) -> str:
    return parse_qs(urlsplit(window_url).query)["t"][0]


def post_complete(
    client: Client, imp_uid: str, token: str | None, outcome: str, **choice: Any
) -> TestResponse:
    """What a button of the window posts."""
    body = {"imp_uid": imp_uid, "token": token, "outcome": outcome, **choice}
    return client.post("/_sandbox/sdk/complete", json=body)


def complete(
    client: Client, opened: Any, outcome: str = "approve", **choice: Any
) -> Any:
    token = token_of(opened["window_url"])
    return answer(post_complete(client, opened["imp_uid"], token, outcome, **choice))


# The script -----------------------------------------------------------------


@pytest.mark.parametrize("path", ["/v1/iamport.js", "/_sandbox/sdk/iamport.js"])
def test_the_script_answers_at_the_cdn_path_and_under_the_sdk(
    client: FlaskClient, path: str
) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    source = response.get_data(as_text=True)
    assert "window.IMP" in source and "request_pay" in source


def test_the_script_never_styles_through_markup(client: FlaskClient) -> None:
    # A page with a strict CSP blocks style attributes and injected markup.
    source = client.get("/v1/iamport.js").get_data(as_text=True)
    for forbidden in ("innerHTML", 'setAttribute("style"', "cssText", "eval("):
        assert forbidden not in source
    assert "http://" not in source.replace("https://cdn.iamport.kr", "")


def test_api_faults_do_not_hit_the_cdn_alias(sb: Sandbox, client: FlaskClient) -> None:
    sb.inject_fault("503", times=5)
    assert client.get("/v1/iamport.js").status_code == 200
    assert client.get("/payments/imp_1").status_code == 503


def test_sdk_url_is_the_cdn_path_under_the_base() -> None:
    assert Sandbox.sdk_url("http://127.0.0.1:8765") == (
        "http://127.0.0.1:8765/v1/iamport.js"
    )
    assert Sandbox.sdk_url("/_nicepay_sandbox/") == "/_nicepay_sandbox/v1/iamport.js"


# Open, window, complete -----------------------------------------------------


def test_pc_card_approval_from_open_to_rsp(sb: Sandbox, client: FlaskClient) -> None:
    opened = open_window(client, {"name": "샌드박스 티셔츠", "buyer_name": "홍길동"})
    assert opened["refused"] is False and opened["channel"] == "pc"
    assert opened["window_url"].startswith("/_sandbox/sdk/window/imp_")
    assert stored(sb, opened["imp_uid"])["status"] == "ready"
    page = client.get(opened["window_url"])
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert "샌드박스 티셔츠" in html and "15,000원" in html and "결제하기" in html

    result = complete(client, opened, card_number="5555-5555-5555-4444")
    rsp = result["rsp"]
    assert rsp["success"] is True and rsp["status"] == "paid"
    assert rsp["imp_uid"] == opened["imp_uid"] and rsp["merchant_uid"] == "o-1"
    assert rsp["paid_amount"] == 15000 and rsp["card_name"] == "삼성카드"
    assert rsp["buyer_name"] == "홍길동" and rsp["pg_provider"] == "nice"
    assert result["redirect_url"] is None and result["channel"] == "pc"
    assert result["redirect_query"]["imp_success"] == "true"
    assert stored(sb, opened["imp_uid"])["status"] == "paid"
    assert stored(sb, opened["imp_uid"])["user_agent"] == DESKTOP


def test_the_card_decides_like_the_api(client: FlaskClient) -> None:
    opened = open_window(client)
    rsp = complete(client, opened, card_number="4000-0000-0000-9995")["rsp"]
    assert rsp["success"] is False and rsp["status"] == "failed"
    assert rsp["error_code"] == "3095"


@pytest.mark.parametrize(
    ("outcome", "status", "error_code"),
    [("decline", "failed", "3095"), ("close", "ready", None)],
)
def test_decline_and_close(
    sb: Sandbox, client: FlaskClient, outcome: str, status: str, error_code: str | None
) -> None:
    opened = open_window(client)
    rsp = complete(client, opened, outcome)["rsp"]
    assert rsp["success"] is False and rsp["error_code"] == error_code
    assert stored(sb, opened["imp_uid"])["status"] == status


def test_installments_are_offered_only_when_asked_and_allowed(
    client: FlaskClient,
) -> None:
    small = open_window(client, {"display": {"card_quota": []}})
    assert 'data-testid="quota-select"' not in client.get(small["window_url"]).text
    big = open_window(
        client,
        {"merchant_uid": "o-big", "amount": 60000, "display": {"card_quota": [3, 2]}},
    )
    html = client.get(big["window_url"]).text
    assert 'data-testid="quota-select"' in html
    assert re.findall(r'<option value="(\d)"', html) == ["0", "2", "3"]
    rsp = complete(client, big, card_quota=3)["rsp"]
    assert rsp["success"] is True and rsp["card_quota"] == 3


def test_a_quota_that_was_not_offered_cannot_be_picked(
    sb: Sandbox, client: FlaskClient
) -> None:
    opened = open_window(client, {"amount": 60000, "display": {"card_quota": [2]}})
    token = token_of(opened["window_url"])
    tampered = post_complete(client, opened["imp_uid"], token, "approve", card_quota=6)
    assert tampered.status_code == 400 and "0, 2" in tampered.get_json()["message"]
    # Nothing happened: the window is still open and pays with what it offers.
    assert stored(sb, opened["imp_uid"])["status"] == "ready"
    rsp = complete(client, opened, card_quota=2)["rsp"]
    assert rsp["success"] is True and rsp["card_quota"] == 2


def test_card_direct_preselects_the_company(client: FlaskClient) -> None:
    opened = open_window(client, {"card": {"direct": {"code": "367", "quota": 0}}})
    html = client.get(opened["window_url"]).text
    assert '<option value="" selected>현대카드' in html
    rsp = complete(client, opened, card_number=None)["rsp"]
    assert rsp["card_name"] == "현대카드"


def test_vbank_window_issues_an_account_in_the_chosen_bank(
    sb: Sandbox, client: FlaskClient
) -> None:
    opened = open_window(client, {"pay_method": "vbank", "vbank_due": "20991231"})
    html = client.get(opened["window_url"]).text
    assert 'data-testid="bank-select"' in html and 'data-testid="issue-vbank"' in html
    assert 'data-testid="approve"' not in html
    assert '<option value="004">KB국민은행 (004)</option>' in html
    rsp = complete(client, opened, vbank_code="004")["rsp"]
    assert rsp["success"] is True and rsp["status"] == "ready"
    assert rsp["vbank_name"] == "KB국민은행" and rsp["vbank_num"]
    assert stored(sb, opened["imp_uid"])["vbank_code"] == "004"


@pytest.mark.parametrize("pay_method", ["trans", "phone", "kakaopay"])
def test_other_methods_offer_approve_decline_close(
    client: FlaskClient, pay_method: str
) -> None:
    opened = open_window(client, {"pay_method": pay_method})
    html = client.get(opened["window_url"]).text
    for testid in ("approve", "decline", "close"):
        assert f'data-testid="{testid}"' in html
    assert "select" not in html
    assert complete(client, opened)["rsp"]["status"] == "paid"


def test_english_labels_with_language_en(client: FlaskClient) -> None:
    opened = open_window(client, {"language": "en"})
    html = client.get(opened["window_url"]).text
    assert '<html lang="en">' in html and ">Pay</button>" in html
    assert "KRW 15,000" in html and "결제하기" not in html


def test_notice_url_reaches_the_webhook(sb: Sandbox, client: FlaskClient) -> None:
    opened = open_window(client, {"notice_url": "http://store.test/portone/webhook"})
    complete(client, opened)
    sb.deliver_webhooks()
    (delivery,) = sb.webhook_log
    assert delivery.url == "http://store.test/portone/webhook"
    assert delivery.body["imp_uid"] == opened["imp_uid"]


def test_a_bad_choice_leaves_the_window_open(client: FlaskClient) -> None:
    opened = open_window(client, {"pay_method": "vbank"})
    token = token_of(opened["window_url"])
    bad = post_complete(client, opened["imp_uid"], token, "approve", vbank_code="999")
    assert bad.get_json()["message"].startswith("가상계좌 발급에 실패하였습니다.")
    unknown = post_complete(client, opened["imp_uid"], token, "pay")
    assert unknown.status_code == 400
    assert complete(client, opened, vbank_code="088")["rsp"]["success"] is True


# Refusals -------------------------------------------------------------------


def refused(
    client: Client, params: dict[str, Any] | None = None, **options: Any
) -> Any:
    opened = open_window(client, params, **options)
    assert opened["refused"] is True
    return opened


def test_prepared_amount_mismatch_reaches_the_callback(
    sb: Sandbox, client: FlaskClient, api: Api
) -> None:
    api.ok(api.post("/payments/prepare", json={"merchant_uid": "o-1", "amount": 9000}))
    result = refused(client)
    rsp = result["rsp"]
    assert rsp["success"] is False and rsp["imp_uid"] is None
    assert rsp["error_code"] == "F1001" and rsp["merchant_uid"] == "o-1"
    assert "사전 등록된 결제금액" in rsp["error_msg"]
    assert result["redirect_url"] is None and sb.payments_count() == 0


def test_an_order_paid_already_is_refused_with_f1002(
    sb: Sandbox, client: FlaskClient
) -> None:
    sb.checkout("o-1", 15000)
    assert refused(client)["rsp"]["error_code"] == "F1002"


def test_init_never_called(client: FlaskClient) -> None:
    rsp = refused(client, merchant_code=None)["rsp"]
    assert rsp["error_code"] == "F400" and "IMP.init" in rsp["error_msg"]


def test_pc_without_a_callback_is_refused(client: FlaskClient) -> None:
    rsp = refused(client, has_callback=False)["rsp"]
    assert rsp["error_code"] == "F400" and "callback" in rsp["error_msg"]


def test_params_that_are_not_an_object(client: FlaskClient) -> None:
    response = client.post("/_sandbox/sdk/open", json={**open_body(), "params": "o-1"})
    rsp = answer(response)["rsp"]
    assert rsp["error_code"] == "F400" and rsp["merchant_uid"] is None


def test_a_string_amount_is_refused_as_the_sdk_does(client: FlaskClient) -> None:
    rsp = refused(client, {"amount": "15000"})["rsp"]
    assert rsp["error_code"] == "F400" and "amount" in rsp["error_msg"]


def test_mobile_refusal_redirects_with_the_query_merged(
    sb: Sandbox, client: FlaskClient
) -> None:
    sb.checkout("o-1", 15000)
    result = refused(
        client,
        {"m_redirect_url": "/orders/return?order=o-1&imp_success=stale"},
        user_agent=IPHONE,
    )
    assert result["channel"] == "mobile"
    url = urlsplit(result["redirect_url"])
    assert (url.scheme, url.netloc, url.path) == ("http", "shop.test", "/orders/return")
    query = parse_qs(url.query)
    assert query["order"] == ["o-1"] and query["merchant_uid"] == ["o-1"]
    assert query["imp_success"] == ["false"] and query["error_code"] == ["F1002"]
    assert "imp_uid" not in query


@pytest.mark.parametrize(
    "m_redirect_url", ["javascript:alert(1)", "data:text/html,x", "ftp://shop.test/r"]
)
def test_a_return_url_the_browser_must_not_follow_is_refused(
    client: FlaskClient, m_redirect_url: str
) -> None:
    result = refused(client, {"m_redirect_url": m_redirect_url}, user_agent=IPHONE)
    assert result["channel"] == "pc" and result["redirect_url"] is None
    assert "m_redirect_url" in result["rsp"]["error_msg"]


# Which flow -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("user_agent", "mobile", "m_redirect_url", "channel"),
    [
        (IPHONE, False, "/return", "mobile"),
        (ANDROID, False, "https://shop.test/return", "mobile"),
        (DESKTOP, True, "/return", "mobile"),  # the page saw an iPad
        (IPHONE, False, None, "pc"),
        (DESKTOP, False, "/return", "pc"),
    ],
)
def test_mobile_needs_a_phone_and_a_return_url(
    sb: Sandbox,
    client: FlaskClient,
    user_agent: str,
    mobile: bool,
    m_redirect_url: str | None,
    channel: str,
) -> None:
    opened = open_window(
        client,
        {"m_redirect_url": m_redirect_url},
        user_agent=user_agent,
        mobile=mobile,
    )
    assert opened["channel"] == channel
    assert stored(sb, opened["imp_uid"])["channel"] == channel


def test_usd_on_a_phone_needs_nice_mobile_v2(client: FlaskClient) -> None:
    params = {"currency": "USD", "amount": 10.5, "m_redirect_url": "/return"}
    rsp = refused(client, params, user_agent=IPHONE)
    assert "niceMobileV2" in rsp["rsp"]["error_msg"]
    opened = open_window(client, {**params, "niceMobileV2": True}, user_agent=IPHONE)
    assert opened["refused"] is False and opened["channel"] == "mobile"
    assert "USD 10.50" in client.get(opened["window_url"]).text


def test_mobile_approval_returns_to_m_redirect_url(
    sb: Sandbox, client: FlaskClient
) -> None:
    opened = open_window(
        client,
        {"m_redirect_url": "https://shop.test/return?x=1#top"},
        user_agent=IPHONE,
    )
    result = complete(client, opened)
    url = urlsplit(result["redirect_url"])
    assert url.fragment == "top"
    assert parse_qs(url.query) == {
        "x": ["1"],
        "imp_uid": [opened["imp_uid"]],
        "merchant_uid": ["o-1"],
        "imp_success": ["true"],
    }


# Tokens ---------------------------------------------------------------------


def test_the_window_needs_its_own_token(client: FlaskClient) -> None:
    first, second = open_window(client), open_window(client, {"merchant_uid": "o-2"})
    wrong = token_of(second["window_url"])
    for token in (None, "", wrong, token_of(first["window_url"]) + "x"):
        query = {} if token is None else {"t": token}
        path = f"/_sandbox/sdk/window/{first['imp_uid']}"
        assert client.get(path, query_string=query).status_code == 403
        done = post_complete(client, first["imp_uid"], token, "approve")
        assert done.status_code == 403
    assert client.get("/_sandbox/sdk/window/imp_000000000000?t=x").status_code == 403


def test_a_token_works_once(sb: Sandbox, client: FlaskClient) -> None:
    opened = open_window(client)
    complete(client, opened, "close")
    assert client.get(opened["window_url"]).status_code == 403
    token = token_of(opened["window_url"])
    assert post_complete(client, opened["imp_uid"], token, "approve").status_code == 403
    assert stored(sb, opened["imp_uid"])["status"] == "ready"


def test_tokens_are_long_and_distinct(client: FlaskClient) -> None:
    tokens = {
        token_of(open_window(client, {"merchant_uid": f"o-{n}"})["window_url"])
        for n in range(20)
    }
    assert len(tokens) == 20 and min(len(t) for t in tokens) >= 32


def test_windows_are_bounded_and_reset(client: FlaskClient) -> None:
    with Sandbox(max_payments=5) as small:
        small_client = small.app.test_client()
        opened = [
            open_window(small_client, {"merchant_uid": f"o-{n}"}) for n in range(12)
        ]
        assert len(small.sdk_windows) == 5 and small.sizes()["sdk_windows"] == 5
        assert small_client.get(opened[0]["window_url"]).status_code == 403
        assert small_client.get(opened[-1]["window_url"]).status_code == 200
        small.reset()
        assert small.sizes()["sdk_windows"] == 0


def test_window_book_refuses_a_zero_cap() -> None:
    with pytest.raises(ValueError):
        WindowBook(0)


# Headers: CORS and framing --------------------------------------------------


@pytest.mark.parametrize("path", ["/_sandbox/sdk/open", "/_sandbox/sdk/complete"])
def test_preflight_allows_any_origin(client: FlaskClient, path: str) -> None:
    response = client.options(
        path,
        headers={
            "Origin": SHOP,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert "Content-Type" in response.headers["Access-Control-Allow-Headers"]


def test_json_answers_allow_any_origin_even_on_errors(client: FlaskClient) -> None:
    ok = client.post("/_sandbox/sdk/open", json=open_body())
    assert ok.headers["Access-Control-Allow-Origin"] == "*"
    bad = client.post("/_sandbox/sdk/complete", json={"imp_uid": "imp_1"})
    assert bad.status_code == 403
    assert bad.headers["Access-Control-Allow-Origin"] == "*"


def test_the_window_may_be_framed_and_keeps_its_token_to_itself(
    client: FlaskClient,
) -> None:
    page = client.get(open_window(client)["window_url"])
    assert "X-Frame-Options" not in page.headers
    csp = page.headers["Content-Security-Policy"]
    assert "frame-ancestors *" in csp and "default-src 'none'" in csp
    assert "unsafe-inline" not in csp
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert page.headers["Cache-Control"] == "no-store"
    assert "Access-Control-Allow-Origin" not in page.headers


def test_the_result_is_posted_to_the_openers_origin_only(client: FlaskClient) -> None:
    html = client.get(open_window(client)["window_url"]).text
    assert f'data-origin="{SHOP}"' in html
    without = client.post("/_sandbox/sdk/open", json=open_body(origin="null"))
    assert 'data-origin="*"' in client.get(answer(without)["window_url"]).text


def test_window_static_files(client: FlaskClient) -> None:
    for name, mimetype in (
        ("window.js", "text/javascript"),
        ("window.css", "text/css"),
    ):
        response = client.get(f"/_sandbox/sdk/static/{name}")
        assert response.status_code == 200 and response.mimetype == mimetype
        response.close()


# Mounted inside a store app -------------------------------------------------


@pytest.fixture
def mounted(sb: Sandbox) -> Iterator[Client]:
    store = Flask("store")
    store.add_url_rule("/", "home", lambda: "store")
    store.wsgi_app = DispatcherMiddleware(  # type: ignore[method-assign]
        store.wsgi_app, {"/_nicepay_sandbox": sb.app}
    )
    yield store.test_client()


def test_mounted_under_a_prefix_every_url_keeps_it(
    sb: Sandbox, mounted: Client
) -> None:
    assert mounted.get("/").text == "store"
    assert mounted.get(Sandbox.sdk_url("/_nicepay_sandbox")).status_code == 200
    opened = answer(
        mounted.post("/_nicepay_sandbox/_sandbox/sdk/open", json=open_body())
    )
    path = urlsplit(opened["window_url"]).path
    assert path == f"/_nicepay_sandbox/_sandbox/sdk/window/{opened['imp_uid']}"
    html = mounted.get(opened["window_url"]).text
    for url in re.findall(r'(?:href|src|data-complete-url)="([^"]+)"', html):
        assert url.startswith("/_nicepay_sandbox/_sandbox/sdk/"), url
        if "static" in url:
            static = mounted.get(url)
            assert static.status_code == 200
            static.close()
    body = {
        "imp_uid": opened["imp_uid"],
        "token": token_of(opened["window_url"]),
        "outcome": "approve",
    }
    done = mounted.post("/_nicepay_sandbox/_sandbox/sdk/complete", json=body)
    assert answer(done)["rsp"]["success"] is True
    assert stored(sb, opened["imp_uid"])["status"] == "paid"


# Pieces ---------------------------------------------------------------------


def test_with_query_replaces_only_its_own_keys() -> None:
    merged = with_query("https://s.test/r?a=1&imp_uid=old&a=2#f", {"imp_uid": "new"})
    assert merged == "https://s.test/r?a=1&a=2&imp_uid=new#f"


def test_return_url_is_resolved_against_the_page() -> None:
    page = "https://shop.test/checkout/1?x=y"
    assert (
        return_url_of({"m_redirect_url": "../done"}, page) == "https://shop.test/done"
    )
    assert return_url_of({"m_redirect_url": ""}, page) is None
    with pytest.raises(CheckoutRefused):
        return_url_of({"m_redirect_url": "/done"}, None)
    with pytest.raises(CheckoutRefused):
        return_url_of({"m_redirect_url": 42}, page)


@pytest.mark.parametrize(
    ("value", "origin"),
    [
        ("http://127.0.0.1:5000", "http://127.0.0.1:5000"),
        ("https://shop.example", "https://shop.example"),
        ("null", None),
        ("http://x.test/path", None),
        ("http://x.test' 'unsafe-inline", None),
        (None, None),
    ],
)
def test_only_real_origins_are_trusted(value: str | None, origin: str | None) -> None:
    assert origin_of(value) == origin
