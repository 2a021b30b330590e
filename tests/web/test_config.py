"""The extension object, init_app, modes, and every NICEPAY_* key's validation."""

from __future__ import annotations

import logging
import typing as t
from pathlib import Path

import pytest
import requests
from flask import Flask
from flask import url_for

from flask_nicepay import ConfigurationError
from flask_nicepay import NicePay
from flask_nicepay import OrderState
from flask_nicepay import testing
from flask_nicepay.config import PORTONE_WEBHOOK_IPS
from flask_nicepay.db import make_engine
from flask_nicepay.sandbox import Sandbox
from flask_nicepay.tax import TaxMode

from .webshop import LIVE
from .webshop import AppFactory
from .webshop import LiveFactory
from .webshop import get_order
from .webshop import new_order
from .webshop import open_page
from .webshop import paid_order
from .webshop import pay_in_window
from .webshop import state

# -- the extension object ----------------------------------------------------------


def test_one_extension_for_many_apps_from_a_factory(tmp_path: Path) -> None:
    nicepay = NicePay()

    def create_app(name: str) -> Flask:
        app = Flask(__name__, instance_path=str(tmp_path / name))
        app.config.update(
            NICEPAY_SANDBOX=True,
            NICEPAY_SANDBOX_AUTO_DELIVER=False,
            NICEPAY_DATABASE_URI=f"sqlite:///{tmp_path / name}.db",
        )
        nicepay.init_app(app)
        return app

    first, second = create_app("first"), create_app("second")
    try:
        assert not hasattr(nicepay, "app")
        assert first.extensions["nicepay"].extension is nicepay
        assert second.extensions["nicepay"].extension is nicepay
        assert state(first).sandbox is not state(second).sandbox

        with first.app_context():
            uid = nicepay.create_order(amount=10_000, name="첫 가게").merchant_uid
            assert nicepay.get_order(uid) is not None
        with second.app_context():
            assert nicepay.get_order(uid) is None  # its own database
        assert first.test_client().get(f"/nicepay/orders/{uid}").status_code == 200
        assert second.test_client().get(f"/nicepay/orders/{uid}").status_code == 404
    finally:
        for app in (first, second):
            state(app).sandbox.close()  # type: ignore[union-attr]
            state(app).payments.engine.dispose()


def test_app_given_to_the_constructor(tmp_path: Path) -> None:
    app = Flask(__name__, instance_path=str(tmp_path / "instance"))
    app.config.update(NICEPAY_SANDBOX=True, NICEPAY_SANDBOX_AUTO_DELIVER=False)
    nicepay = NicePay(app)
    try:
        assert app.extensions["nicepay"].extension is nicepay
        # The default database lives in the instance folder.
        assert (tmp_path / "instance" / "nicepay.sqlite3").exists()
        with app.test_request_context():
            assert url_for("nicepay.webhook") == "/nicepay/webhook"
    finally:
        state(app).payments.engine.dispose()


def test_second_init_app_says_what_to_do(app: Flask) -> None:
    with pytest.raises(RuntimeError, match=r"already registered.*use that instance"):
        NicePay().init_app(app)


def test_extension_outside_an_app_context_says_so() -> None:
    with pytest.raises(RuntimeError, match="application context"):
        NicePay().get_order("np-1")
    with pytest.raises(RuntimeError, match=r"nicepay.init_app\(app\)"):
        NicePay.state(Flask(__name__))


def test_config_changed_after_init_app_is_not_seen(app: Flask) -> None:
    app.config["NICEPAY_LANGUAGE"] = "en"
    uid = new_order(app)
    page = app.test_client().get(f"/nicepay/checkout/{uid}").get_data(as_text=True)
    assert '<html lang="ko">' in page


def test_hooks_engine_and_on_transition(make_app: AppFactory, tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    seen: list[tuple[str, str, bool]] = []

    def on_transition(connection: t.Any, transition: t.Any) -> None:
        seen.append(
            (transition.event, transition.to_state.value, connection.in_transaction())
        )

    app = make_app(engine=engine, on_transition=on_transition)
    try:
        assert state(app).payments.engine is engine
        uid, _ = paid_order(app)
        assert get_order(app, uid).state is OrderState.PAID
        assert seen == [("pay", "paid", True)]
    finally:
        engine.dispose()


# -- modes -------------------------------------------------------------------------


def test_no_keys_means_the_sandbox_with_a_loud_warning(
    make_app: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="flask_nicepay"):
        app = make_app({"NICEPAY_SANDBOX": None})
    [record] = [r for r in caplog.records if r.name == "flask_nicepay"]
    assert record.levelno == logging.WARNING
    assert "OFFLINE SANDBOX" in record.getMessage()
    assert "NICEPAY_REQUIRE_LIVE" in record.getMessage()
    settings = state(app).settings
    assert settings.mode.name == "embedded" and settings.mode.implicit
    assert state(app).sandbox is not None


def test_sandbox_chosen_explicitly_is_quiet(
    make_app: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="flask_nicepay"):
        app = make_app({"NICEPAY_SANDBOX": True})
    assert not [r for r in caplog.records if r.name == "flask_nicepay"]
    assert not state(app).settings.mode.implicit


def test_embedded_sandbox_serves_its_sdk_inside_the_app(client: t.Any) -> None:
    response = client.get("/_nicepay_sandbox/v1/iamport.js")
    assert response.status_code == 200
    assert "javascript" in response.content_type
    assert "request_pay" in response.get_data(as_text=True)


@pytest.mark.parametrize("flag", [True, "true", "1", "yes", "on"])
def test_sandbox_flag_from_the_environment(make_app: AppFactory, flag: t.Any) -> None:
    app = make_app({**LIVE, "NICEPAY_SANDBOX": flag})
    assert state(app).settings.mode.name == "embedded"


@pytest.mark.parametrize("flag", [False, "false", "0", "no", "off", 0])
def test_sandbox_flag_off_means_live(make_app: AppFactory, flag: t.Any) -> None:
    app = make_app({**LIVE, "NICEPAY_SANDBOX": flag})
    assert state(app).settings.mode.name == "live"
    assert state(app).sandbox is None


def test_every_switch_reads_text_the_same_way(make_app: AppFactory) -> None:
    app = make_app(
        {
            **LIVE,
            "NICEPAY_REQUIRE_LIVE": "true",
            "NICEPAY_PREPARE": "false",
            "NICEPAY_WEBHOOK_RETRIES": "1",
            "NICEPAY_NICE_MOBILE_V2": "off",
            "NICEPAY_CREATE_TABLES": "no",
        }
    )
    settings = state(app).settings
    assert settings.require_live and settings.webhook_retries
    assert not settings.prepare and not settings.nice_mobile_v2
    assert not settings.create_tables


def test_live_mode_needs_no_sandbox_and_talks_to_portone(make_app: AppFactory) -> None:
    app = make_app({**LIVE, "NICEPAY_CREATE_TABLES": None})
    settings = state(app).settings
    assert settings.mode.name == "live"
    assert state(app).sandbox is None
    assert state(app).payments.client.base_url == "https://api.iamport.kr"
    assert settings.channel_key == "channel-key-nice-0001" and settings.pg is None
    assert [str(n.network_address) for n in settings.webhook_allowlist] == list(
        PORTONE_WEBHOOK_IPS
    )
    assert "imp_secret" not in repr(settings) and LIVE[
        "NICEPAY_IMP_SECRET"
    ] not in repr(settings)
    # Live apps do not create tables behind the operator's back.
    assert not settings.create_tables
    # The sandbox is not mounted.
    assert app.test_client().get("/_nicepay_sandbox/v1/iamport.js").status_code == 404


def test_deprecated_pg_instead_of_a_channel_key(make_app: AppFactory) -> None:
    app = make_app({**LIVE, "NICEPAY_CHANNEL_KEY": None, "NICEPAY_PG": "nice"})
    assert state(app).settings.pg == "nice"
    assert state(app).settings.channel_key is None


def test_require_live_refuses_to_start_without_keys(make_app: AppFactory) -> None:
    for config in (
        {"NICEPAY_SANDBOX": None, "NICEPAY_REQUIRE_LIVE": True},
        {"NICEPAY_SANDBOX": True, "NICEPAY_REQUIRE_LIVE": True},
        {**LIVE, "NICEPAY_SANDBOX": True, "NICEPAY_REQUIRE_LIVE": True},
    ):
        with pytest.raises(ConfigurationError, match="NICEPAY_REQUIRE_LIVE"):
            make_app(config)


def test_require_live_with_keys_starts(make_live_app: LiveFactory) -> None:
    app = make_live_app({"NICEPAY_REQUIRE_LIVE": True})
    assert state(app).settings.mode.name == "live"


def test_failed_init_app_leaves_the_app_clean(tmp_path: Path) -> None:
    app = Flask(__name__, instance_path=str(tmp_path / "instance"))
    app.config.update(NICEPAY_LANGUAGE="fr", NICEPAY_SANDBOX=True)
    with pytest.raises(ConfigurationError):
        NicePay(app)
    assert "nicepay" not in app.extensions
    assert "nicepay" not in app.blueprints
    # Fixed, the same app starts.
    app.config.update(NICEPAY_LANGUAGE="en", NICEPAY_SANDBOX_AUTO_DELIVER=False)
    NicePay(app)
    state(app).payments.engine.dispose()


# -- the standalone sandbox, over a real socket ----------------------------------


def test_sandbox_url_selects_the_standalone_sandbox(
    make_app: AppFactory, standalone: tuple[Sandbox, str]
) -> None:
    box, url = standalone
    app = make_app({"NICEPAY_SANDBOX": None, "NICEPAY_SANDBOX_URL": url})
    settings = state(app).settings
    assert settings.mode.name == "standalone"
    assert state(app).sandbox is None
    assert state(app).payments.client.base_url == url

    uid = new_order(app, 30_000)  # prepared at the server, over HTTP
    assert box.state()["prepared"][0]["merchant_uid"] == uid
    page = open_page(app.test_client(), f"/nicepay/checkout/{uid}")
    scripts = [a.get("src") for tag, a in page.tags if tag == "script"]
    assert f"{url}/v1/iamport.js" in scripts
    assert requests.get(f"{url}/v1/iamport.js", timeout=5).status_code == 200

    params = page.request_pay["card"]
    payment = box.checkout(uid, params["amount"], name=params["name"])
    with app.app_context():
        synced = state(app).extension.sync(imp_uid=payment["imp_uid"])
    assert synced.order is not None and synced.order.state is OrderState.PAID


def test_sandbox_url_with_keys_is_still_the_sandbox(
    make_app: AppFactory, standalone: tuple[Sandbox, str]
) -> None:
    _, url = standalone
    # Keys left in the environment must not turn a sandbox run into "live" while
    # the client quietly talks to the sandbox.
    app = make_app({**LIVE, "NICEPAY_SANDBOX_URL": url})
    assert state(app).settings.mode.name == "standalone"
    assert state(app).payments.client.base_url == url
    with pytest.raises(ConfigurationError, match="NICEPAY_REQUIRE_LIVE"):
        make_app({**LIVE, "NICEPAY_SANDBOX_URL": url, "NICEPAY_REQUIRE_LIVE": True})
    with pytest.raises(ConfigurationError, match="NICEPAY_SANDBOX_URL"):
        make_app({**LIVE, "NICEPAY_SANDBOX_URL": url, "NICEPAY_SANDBOX": False})


def test_url_prefix_moves_every_route(make_app: AppFactory) -> None:
    app = make_app({"NICEPAY_URL_PREFIX": "shop/pay/"})
    with app.test_request_context():
        assert url_for("nicepay.webhook") == "/shop/pay/webhook"
    uid = new_order(app)
    client = app.test_client()
    assert client.get(f"/nicepay/checkout/{uid}").status_code == 404
    box = testing.sandbox_of(app)
    params, _ = pay_in_window(client, box, f"/shop/pay/checkout/{uid}")
    assert params["notice_url"] == "http://localhost/shop/pay/webhook"
    [delivery] = box.deliver_webhooks()
    assert delivery.status == 200
    assert get_order(app, uid).state is OrderState.PAID


# -- every key is checked, and the message names it ---------------------------------

LIVE_BUT = {key: value for key, value in LIVE.items() if key != "NICEPAY_CREATE_TABLES"}


def _without(key: str) -> dict[str, t.Any]:
    return {**LIVE_BUT, key: None}


BAD_CONFIG = [
    (_without("NICEPAY_IMP_SECRET"), "NICEPAY_IMP_SECRET"),
    (_without("NICEPAY_IMP_KEY"), "NICEPAY_IMP_KEY"),
    (_without("NICEPAY_MERCHANT_CODE"), "NICEPAY_MERCHANT_CODE"),
    (_without("NICEPAY_CHANNEL_KEY"), "NICEPAY_CHANNEL_KEY"),
    ({"NICEPAY_SANDBOX": False}, "NICEPAY_IMP_KEY"),
    ({"NICEPAY_TIMEOUT": "soon"}, "NICEPAY_TIMEOUT"),
    ({"NICEPAY_TIMEOUT": -1}, "NICEPAY_TIMEOUT"),
    ({"NICEPAY_TIMEOUT": (3,)}, "NICEPAY_TIMEOUT"),
    ({"NICEPAY_TIMEOUT": True}, "NICEPAY_TIMEOUT"),
    ({"NICEPAY_TIMEOUT": float("inf")}, "NICEPAY_TIMEOUT"),
    ({"NICEPAY_URL_PREFIX": ""}, "NICEPAY_URL_PREFIX"),
    ({"NICEPAY_URL_PREFIX": "/"}, "NICEPAY_URL_PREFIX"),
    ({"NICEPAY_URL_PREFIX": "/pay/<int:x>"}, "NICEPAY_URL_PREFIX"),
    ({"NICEPAY_URL_PREFIX": "/pay ment"}, "NICEPAY_URL_PREFIX"),
    ({"NICEPAY_URL_PREFIX": "https://evil.example"}, "NICEPAY_URL_PREFIX"),
    ({"NICEPAY_URL_PREFIX": "/pay?x=1"}, "NICEPAY_URL_PREFIX"),
    ({"NICEPAY_PUBLIC_URL": "shop.example.com"}, "NICEPAY_PUBLIC_URL"),
    (
        {**LIVE_BUT, "NICEPAY_PUBLIC_URL": "http://shop.example.com"},
        "NICEPAY_PUBLIC_URL",
    ),
    ({"NICEPAY_API_BASE_URL": "ftp://api.iamport.kr"}, "NICEPAY_API_BASE_URL"),
    ({"NICEPAY_SANDBOX_URL": "127.0.0.1:8765"}, "NICEPAY_SANDBOX_URL"),
    ({"NICEPAY_WEBHOOK_ALLOWLIST": "not-an-address"}, "NICEPAY_WEBHOOK_ALLOWLIST"),
    ({"NICEPAY_WEBHOOK_ALLOWLIST": ["52.78.100.19", "x"]}, "NICEPAY_WEBHOOK_ALLOWLIST"),
    ({"NICEPAY_WEBHOOK_ALLOWLIST": True}, "NICEPAY_WEBHOOK_ALLOWLIST"),
    ({"NICEPAY_WEBHOOK_ALLOWLIST": 52}, "NICEPAY_WEBHOOK_ALLOWLIST"),
    ({"NICEPAY_SUCCESS_URL": "https://evil.example/done"}, "NICEPAY_SUCCESS_URL"),
    ({"NICEPAY_SUCCESS_URL": "//evil.example/done"}, "NICEPAY_SUCCESS_URL"),
    ({"NICEPAY_SUCCESS_URL": "/\\evil.example"}, "NICEPAY_SUCCESS_URL"),
    ({"NICEPAY_SUCCESS_URL": "/\t/evil.example"}, "NICEPAY_SUCCESS_URL"),
    ({"NICEPAY_SUCCESS_URL": " //evil.example"}, "NICEPAY_SUCCESS_URL"),
    ({"NICEPAY_SUCCESS_URL": "orders/done"}, "NICEPAY_SUCCESS_URL"),
    ({"NICEPAY_SUCCESS_URL": "/orders/{id}"}, "NICEPAY_SUCCESS_URL"),
    ({"NICEPAY_SUCCESS_URL": "/orders/{}"}, "NICEPAY_SUCCESS_URL"),
    ({"NICEPAY_FAILURE_URL": "javascript:alert(1)"}, "NICEPAY_FAILURE_URL"),
    ({"NICEPAY_FAILURE_URL": "/orders/{merchant_uid"}, "NICEPAY_FAILURE_URL"),
    ({"NICEPAY_LANGUAGE": "fr"}, "NICEPAY_LANGUAGE"),
    ({"NICEPAY_ON_MISMATCH": "ignore"}, "NICEPAY_ON_MISMATCH"),
    ({"NICEPAY_TAX_MODE": "지정금액"}, "NICEPAY_TAX_MODE"),
    ({"NICEPAY_TAX_MODE": None}, "NICEPAY_TAX_MODE"),
    ({"NICEPAY_TRUSTED_PROXIES": -1}, "NICEPAY_TRUSTED_PROXIES"),
    ({"NICEPAY_TRUSTED_PROXIES": "1"}, "NICEPAY_TRUSTED_PROXIES"),
    ({"NICEPAY_MAX_BODY": 10}, "NICEPAY_MAX_BODY"),
    ({"NICEPAY_VBANK_DUE_DAYS": 0}, "NICEPAY_VBANK_DUE_DAYS"),
    ({"NICEPAY_MERCHANT_UID_PREFIX": "bad prefix!"}, "NICEPAY_MERCHANT_UID_PREFIX"),
    ({"NICEPAY_PG_PROVIDERS": []}, "NICEPAY_PG_PROVIDERS"),
    ({"NICEPAY_SANDBOX": "maybe"}, "NICEPAY_SANDBOX"),
    ({"NICEPAY_REQUIRE_LIVE": "ture"}, "NICEPAY_REQUIRE_LIVE"),
    ({"NICEPAY_PREPARE": "nope"}, "NICEPAY_PREPARE"),
    ({"NICEPAY_CREATE_TABLES": 2}, "NICEPAY_CREATE_TABLES"),
    ({"NICEPAY_WEBHOOK_RETRIES": [True]}, "NICEPAY_WEBHOOK_RETRIES"),
    ({"NICEPAY_NICE_MOBILE_V2": "si"}, "NICEPAY_NICE_MOBILE_V2"),
    ({"NICEPAY_DATABASE_URI": "not a database"}, "NICEPAY_DATABASE_URI"),
    (
        {**LIVE_BUT, "NICEPAY_SDK_URL": "http://cdn.example/iamport.js"},
        "NICEPAY_SDK_URL",
    ),
    ({**LIVE_BUT, "NICEPAY_SDK_URL": "//cdn.example/iamport.js"}, "NICEPAY_SDK_URL"),
    ({"NICEPAY_PUBLIC_URL": "https://shop.example.com/?x=1"}, "NICEPAY_PUBLIC_URL"),
    ({"NICEPAY_PUBLIC_URL": "https:///no-host"}, "NICEPAY_PUBLIC_URL"),
]


@pytest.mark.parametrize(
    ("config", "key"),
    BAD_CONFIG,
    ids=[f"{k}-{i}" for i, (_, k) in enumerate(BAD_CONFIG)],
)
def test_bad_setting_is_refused_by_name(
    make_app: AppFactory, config: dict[str, t.Any], key: str
) -> None:
    with pytest.raises(ConfigurationError, match=key):
        make_app(config)


def test_tax_mode_reaches_every_cancel(make_app: AppFactory) -> None:
    plain = make_app({})
    assert plain.extensions["nicepay"].settings.tax_mode is TaxMode.AUTO
    fixed = make_app({"NICEPAY_TAX_MODE": "fixed"})
    state = fixed.extensions["nicepay"]
    assert state.settings.tax_mode is TaxMode.FIXED
    assert state.payments.reconciler.cancels.tax_mode is TaxMode.FIXED
    assert state.payments.refunds.cancels is state.payments.reconciler.cancels


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("NICEPAY_SUCCESS_URL", "/orders/{merchant_uid}/thanks"),
        ("NICEPAY_SUCCESS_URL", "/thanks?order={merchant_uid}"),
        ("NICEPAY_FAILURE_URL", "/cart"),
        ("NICEPAY_TIMEOUT", 5),
        ("NICEPAY_TIMEOUT", [2, 10.5]),
        ("NICEPAY_WEBHOOK_ALLOWLIST", "10.0.0.0/8, 52.78.100.19"),
        ("NICEPAY_WEBHOOK_ALLOWLIST", False),
        ("NICEPAY_PUBLIC_URL", "https://shop.example.com/"),
    ],
)
def test_good_settings_start(make_app: AppFactory, key: str, value: t.Any) -> None:
    make_app({key: value})


# -- the live channels by purpose --------------------------------------------------


def test_each_purpose_has_its_channel_and_live_mids(make_app: AppFactory) -> None:
    app = make_app(
        {
            **LIVE,
            "NICEPAY_CHANNEL_MIDS": "nicepay01m, nicepay02m",
            "NICEPAY_API_CHANNEL_KEY": "channel-key-billing",
            "NICEPAY_API_CHANNEL_MIDS": ["nictest04m"],
            "NICEPAY_USD_CHANNEL_MIDS": "niceusd01m",
        }
    )
    channels = state(app).settings.channels
    assert channels.window.selector() == {"channel_key": "channel-key-nice-0001"}
    assert channels.window.mids == {"nicepay01m", "nicepay02m"}
    assert channels.api.selector() == {"channel_key": "channel-key-billing"}
    assert channels.api.mids == {"nictest04m"}
    assert channels.usd is not None and channels.usd.mids == {"niceusd01m"}
    # A USD channel with MIDs but no key is named by its MID, as PortOne selects.
    assert channels.for_window("USD").selector() == {"pg": "nice.niceusd01m"}
    assert channels.for_window("KRW") is channels.window
    assert channels.unconfigured() == []


def test_api_payments_are_named_by_their_mid_without_their_own_key(
    make_app: AppFactory,
) -> None:
    app = make_app({**LIVE, "NICEPAY_API_CHANNEL_KEY": None})
    api = state(app).settings.channels.api
    assert api.selector() == {"pg": "nice.nictest04m"} and api.mids == {"nictest04m"}


def test_a_store_with_one_channel_key_keeps_working_and_is_told(
    make_app: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    one_key = {
        **LIVE,
        "NICEPAY_CHANNEL_MIDS": None,
        "NICEPAY_API_CHANNEL_KEY": None,
        "NICEPAY_API_CHANNEL_MIDS": None,
    }
    with caplog.at_level(logging.WARNING, logger="flask_nicepay"):
        app = make_app(one_key)
    channels = state(app).settings.channels
    # API payments go through the window's channel, as before there were purposes.
    assert channels.api.selector() == {"channel_key": "channel-key-nice-0001"}
    assert [c.purpose for c in channels.unconfigured()] == ["window", "api"]
    warned = [r.getMessage() for r in caplog.records if "live MIDs" in r.getMessage()]
    assert len(warned) == 2 and "the window channel's live MIDs" in warned[0]


def test_the_sandbox_account_s_live_mids_are_the_default(app: Flask) -> None:
    channels = state(app).settings.channels
    assert channels.window.mids == {"nictest00m"} and channels.api.mids == {
        "nictest04m"
    }
    assert channels.window.selector() == {"pg": "nice"}


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("NICEPAY_CHANNEL_MIDS", ["nice 01"]),
        ("NICEPAY_API_CHANNEL_MIDS", 42),
        ("NICEPAY_USD_CHANNEL_MIDS", ["x" * 81]),
        ("NICEPAY_CHANNEL_MIDS", ["ok01m", ""]),
    ],
)
def test_a_mid_that_cannot_be_one_names_its_key(
    make_app: AppFactory, key: str, value: t.Any
) -> None:
    with pytest.raises(ConfigurationError, match=key):
        make_app({**LIVE, key: value})
