"""A fresh Flask app per test, made by a factory, like Flask's own test suite.

Each app runs NicePay on its own SQLite file with the embedded sandbox, whose
webhooks wait for ``sandbox.deliver_webhooks()`` and then go through the app's own
webhook route. Tests marked ``@on_both_databases`` run once more on PostgreSQL,
because the two accept different bytes. Helpers drive the buyer's side the way the
checkout page does: read the ``IMP.request_pay`` parameters from the page and hand
them to the sandbox.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import typing as t
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlencode
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from flask_nicepay import NicePay
from flask_nicepay import OrderState
from flask_nicepay import tables
from flask_nicepay import testing
from flask_nicepay.checkout import KST
from flask_nicepay.extension import State
from flask_nicepay.inbox import Entry
from flask_nicepay.portone import Card
from flask_nicepay.sandbox import Sandbox

from ..databases import fresh_postgres_engine
from ..databases import postgres_url

SECRET_KEY = "web-tests-secret-key"

#: The databases a test marked ``@on_both_databases`` runs on.
DATABASES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
on_both_databases = pytest.mark.parametrize("database", DATABASES, indirect=True)


class AppFactory(t.Protocol):
    def __call__(
        self, config: t.Mapping[str, t.Any] | None = None, **hooks: t.Any
    ) -> Flask: ...


def _database_uri(database: str, tmp_path: Path, number: int) -> str:
    """A SQLite file per app; on PostgreSQL, the test database emptied once.

    A fresh PostgreSQL database per test would cost more than the test, so the
    plugin's tables are dropped and made again instead; the apps of one test then
    share them.
    """
    if database == "sqlite":
        return f"sqlite:///{tmp_path / f'shop{number}.db'}"
    if number == 0:
        fresh_postgres_engine().dispose()
    url = postgres_url()
    assert url is not None  # fresh_postgres_engine skipped otherwise
    return url


def build_app(
    directory: Path,
    database: str,
    number: int = 0,
    config: t.Mapping[str, t.Any] | None = None,
    **hooks: t.Any,
) -> Flask:
    """An app with NicePay and its own sandbox, its files in ``directory``."""
    app = Flask(__name__, instance_path=str(directory / f"instance{number}"))
    app.config.update(
        TESTING=True,
        SECRET_KEY=SECRET_KEY,
        NICEPAY_SANDBOX=True,
        NICEPAY_SANDBOX_AUTO_DELIVER=False,
        NICEPAY_DATABASE_URI=_database_uri(database, directory, number),
    )
    app.config.update(config or {})
    NicePay(**hooks).init_app(app)
    # Retries stay on (they are part of the client), but without pauses.
    state(app).payments.client.backoff = 0
    return app


def close_app(app: Flask) -> None:
    if state(app).sandbox is not None:
        state(app).sandbox.close()  # type: ignore[union-attr]
    state(app).payments.engine.dispose()


def state(app: Flask) -> State:
    return t.cast(State, app.extensions["nicepay"])


def new_order(app: Flask, amount: int = 25_000, **fields: t.Any) -> str:
    """Create an order through the extension; returns its merchant_uid."""
    fields.setdefault("name", "티셔츠")
    with app.app_context():
        order = state(app).extension.create_order(amount=amount, **fields)
    return order.merchant_uid


def checkout_url(app: Flask, merchant_uid: str, **options: t.Any) -> str:
    with app.test_request_context():
        return state(app).extension.checkout_url(merchant_uid, **options)


def get_order(app: Flask, merchant_uid: str) -> t.Any:
    order = state(app).payments.orders.get(merchant_uid)
    assert order is not None
    return order


def inbox(app: Flask, **filters: t.Any) -> list[Entry]:
    return state(app).payments.inbox.search(**filters)


# -- the buyer's browser ---------------------------------------------------------


class Page(HTMLParser):
    """The parts of an HTML page the tests look at."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.inline_scripts: list[str] = []
        self.text_parts: list[str] = []
        self._in_script = False
        self.source = text
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_scripts.append(data)
        elif data.strip():
            self.text_parts.append(data.strip())

    @property
    def text(self) -> str:
        return " ".join(self.text_parts)

    def find(self, **attrs: str) -> dict[str, str | None]:
        """The attributes of the one tag having all of ``attrs``."""
        found = [
            a
            for _, a in self.tags
            if all(a.get(k.replace("_", "-")) == v for k, v in attrs.items())
        ]
        assert len(found) == 1, f"{len(found)} tags with {attrs}"
        return found[0]

    def by_testid(self, testid: str) -> str:
        """The text inside the element with ``data-testid`` (simple elements)."""
        marker = f'data-testid="{testid}"'
        assert marker in self.source, f"no {testid} on the page"
        start = self.source.index(">", self.source.index(marker)) + 1
        return self.source[start : self.source.index("<", start)].strip()

    def style_attributes(self) -> list[tuple[str, str | None]]:
        return [(tag, a["style"]) for tag, a in self.tags if "style" in a]

    def event_handlers(self) -> list[tuple[str, str]]:
        return [(tag, k) for tag, a in self.tags for k in a if k.startswith("on")]

    @property
    def request_pay(self) -> dict[str, dict[str, t.Any]]:
        """The request_pay parameters per pay method, as checkout.js reads them."""
        raw = self.find(id="nicepay-checkout")["data-params"]
        assert raw is not None
        return t.cast(dict[str, dict[str, t.Any]], json.loads(raw))


def open_page(client: FlaskClient, url: str) -> Page:
    response = client.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)
    return Page(response.get_data(as_text=True))


def pay_in_window(
    client: FlaskClient,
    sandbox: Sandbox,
    url: str,
    *,
    method: str | None = None,
    outcome: str = "approve",
    channel: str = "pc",
    **finish: t.Any,
) -> tuple[dict[str, t.Any], dict[str, t.Any]]:
    """Open the checkout page, then the payment window with its parameters.

    :returns: the parameters used and PortOne's payment JSON.
    """
    page = open_page(client, url)
    params = page.request_pay[method or page.find(id="nicepay-checkout")["data-method"]]  # type: ignore[index]
    opened = sandbox.open_checkout(params, channel=channel)
    payment = sandbox.complete_checkout(opened["imp_uid"], outcome, **finish)
    return params, payment


def checkout_new_order(
    app: Flask, client: FlaskClient, sandbox: Sandbox, **window: t.Any
) -> tuple[str, dict[str, t.Any], dict[str, t.Any]]:
    """A new order taken through its checkout page and the payment window.

    :param window: what :func:`pay_in_window` takes: method, outcome, channel...
    :returns: the order's merchant_uid, the parameters used and PortOne's payment.
    """
    uid = new_order(app)
    params, payment = pay_in_window(
        client, sandbox, f"/nicepay/checkout/{uid}", **window
    )
    return uid, params, payment


def paid_order(
    app: Flask, amount: int = 25_000, **fields: t.Any
) -> tuple[str, dict[str, t.Any]]:
    """A new order paid as a store's own test pays one, its webhooks delivered.

    :returns: the order's merchant_uid and PortOne's payment.
    """
    uid = new_order(app, amount, **fields)
    payment = testing.pay(uid, app=app)
    assert get_order(app, uid).state is OrderState.PAID
    return uid, payment


def vbank_order(app: Flask, *, deposit: bool = False) -> tuple[str, dict[str, t.Any]]:
    """A new order given a virtual account, then paid into it if ``deposit``.

    :returns: the order's merchant_uid and PortOne's payment as issued.
    """
    uid = new_order(app)
    issued = testing.pay(uid, pay_method="vbank", app=app)
    assert get_order(app, uid).state is OrderState.VBANK_ISSUED
    if deposit:
        testing.deposit(uid, app=app)
        assert get_order(app, uid).state is OrderState.PAID
    return uid, issued


def open_app(
    make_app: AppFactory, config: t.Mapping[str, t.Any]
) -> tuple[Flask, FlaskClient, Sandbox]:
    """An app built with ``config``, a buyer's browser on it, and its sandbox."""
    app = make_app(config)
    return app, app.test_client(), testing.sandbox_of(app)


def portone_down(sandbox: Sandbox, fault: str = "503") -> None:
    """Every payment lookup fails, beyond the client's retries, until cleared."""
    sandbox.inject_fault(fault, path="/payments/*", times=10)


def replay(app: Flask, entry_id: int) -> str:
    """Replay a stored notification; the name of its outcome."""
    return state(app).payments.notifications.replay(entry_id).outcome.value


def completion_body(payment: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """What checkout.js posts to /complete from the PC callback's ``rsp``."""
    rsp = Sandbox.callback_rsp(payment)
    return {
        "imp_uid": rsp["imp_uid"],
        "merchant_uid": rsp["merchant_uid"],
        "error_code": rsp["error_code"],
        "error_msg": rsp["error_msg"],
    }


def complete(client: FlaskClient, payment: t.Mapping[str, t.Any]) -> t.Any:
    """What checkout.js does after the PC callback: post its ``rsp`` to /complete."""
    return client.post("/nicepay/complete", json=completion_body(payment))


def return_url(params: t.Mapping[str, t.Any], payment: t.Mapping[str, t.Any]) -> str:
    """Where the phone lands after the window: ``m_redirect_url`` plus the query."""
    target = urlsplit(params["m_redirect_url"])
    query = urlencode(Sandbox.redirect_query(payment))
    joined = f"{target.query}&{query}" if target.query else query
    return f"{target.path}?{joined}"


def table_rows(database_uri: str) -> dict[str, list[tuple[t.Any, ...]]]:
    """Every row of every table in a database file, read afresh."""
    engine = sa.create_engine(database_uri)
    try:
        with engine.connect() as conn:
            metadata = sa.MetaData()
            metadata.reflect(conn)
            return {
                name: list(conn.execute(sa.select(table)))
                for name, table in metadata.tables.items()
            }
    finally:
        engine.dispose()


# -- live mode, with PortOne played by a sandbox --------------------------------

LIVE_KEY, LIVE_SECRET = "live_rest_key", "live_rest_secret_f00d"
LIVE = {
    "NICEPAY_SANDBOX": None,
    "NICEPAY_IMP_KEY": LIVE_KEY,
    "NICEPAY_IMP_SECRET": LIVE_SECRET,
    "NICEPAY_MERCHANT_CODE": "imp12345678",
    "NICEPAY_CHANNEL_KEY": "channel-key-nice-0001",
    # The sandbox account's live MIDs: its window's, and its API's.
    "NICEPAY_CHANNEL_MIDS": "nictest00m",
    "NICEPAY_API_CHANNEL_KEY": "channel-key-nice-0002",
    "NICEPAY_API_CHANNEL_MIDS": ["nictest04m"],
    "NICEPAY_CREATE_TABLES": True,
}
#: PortOne's first published webhook address.
PORTONE_IP = "52.78.100.19"


class Relay:
    """The live sandbox's webhook sender: posts into an app from a chosen address."""

    def __init__(self) -> None:
        self.app: Flask | None = None
        self.remote_addr = PORTONE_IP

    def __call__(self, delivery: t.Any) -> int:
        assert self.app is not None, "no app is listening"
        response = self.app.test_client().post(
            urlsplit(delivery.url).path,
            data=delivery.data(),
            content_type=delivery.content_type,
            environ_base={"REMOTE_ADDR": self.remote_addr},
        )
        return response.status_code


class LiveFactory(t.Protocol):
    def __call__(
        self, config: t.Mapping[str, t.Any] | None = None, **hooks: t.Any
    ) -> Flask: ...


# -- time: a virtual account past its deadline -----------------------------------


def issue_overdue_vbank(app: Flask, box: Sandbox) -> tuple[str, dict[str, t.Any]]:
    """A virtual account whose deadline has passed by the app's clock."""
    uid = new_order(app)
    params = open_page(app.test_client(), f"/nicepay/checkout/{uid}").request_pay[
        "vbank"
    ]
    past = dt.datetime.now(KST) - dt.timedelta(hours=1)
    opened = box.open_checkout({**params, "vbank_due": past.strftime("%Y%m%d%H%M")})
    issued = box.complete_checkout(opened["imp_uid"], "approve")
    box.deliver_webhooks()
    order = get_order(app, uid)
    assert order.state is OrderState.VBANK_ISSUED
    assert order.vbank_due is not None and order.vbank_due < dt.datetime.now(dt.UTC)
    return uid, issued


# -- a payment for the wrong amount ------------------------------------------------


def tampered_payment(app: Flask, merchant_uid: str, amount: int) -> str:
    """A paid attempt of ``amount`` for an order that asked for another amount.

    The window refuses a tampered amount (it was registered), but PortOne's
    key-in API has no such check, which is how a wrong amount gets in.
    """
    return paid_by_key_in(state(app).payments.client, merchant_uid, amount)


def paid_by_key_in(client: t.Any, merchant_uid: str, amount: int) -> str:
    """A key-in payment of ``amount`` for ``merchant_uid``, whatever the order
    asked for; its imp_uid."""
    payment = client.pay_onetime(
        merchant_uid=merchant_uid,
        amount=amount,
        card=Card("4242-4242-4242-4242", "2030-12", "900101", "12"),
        name="tampered",
    )
    return str(payment.imp_uid)


# -- hostile input: a shop with orders that nothing bad may touch -------------------


class Shop(t.NamedTuple):
    """An app with one paid and one ready order, for bad-input tests to aim at."""

    app: Flask
    paid: str
    paid_imp_uid: str
    ready: str
    ready_imp_uid: str


def open_shop(app: Flask) -> Shop:
    """Seed ``app`` with a paid order and a ready one whose window is open."""
    box = testing.sandbox_of(app)
    paid, payment = paid_order(app)
    ready = new_order(app)
    opened = box.open_checkout({"merchant_uid": ready, "amount": 25_000})
    # Learnt once here, so that a hint naming the open window later is a no-op.
    state(app).payments.reconciler.sync(imp_uid=opened["imp_uid"])
    assert get_order(app, ready).state is OrderState.READY
    return Shop(app, paid, payment["imp_uid"], ready, opened["imp_uid"])


#: The tables an order's money lives in; bad input must leave every row alone.
MONEY_TABLES = (tables.orders, tables.history, tables.refunds)


def money_rows(app: Flask) -> dict[str, list[tuple[t.Any, ...]]]:
    """Every row of the order, history and refund tables, in id order."""
    with state(app).payments.engine.connect() as conn:
        return {
            table.name: list(conn.execute(sa.select(table).order_by(table.c.id)))
            for table in MONEY_TABLES
        }


def last_inbox_id(app: Flask) -> int:
    """The newest inbox row's id (0 for none), to find the rows written after."""
    query = sa.select(sa.func.coalesce(sa.func.max(tables.inbox.c.id), 0))
    with state(app).payments.engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def new_entries(app: Flask, after_id: int) -> list[Entry]:
    """The inbox rows written since ``after_id`` was the newest."""
    return inbox(app, after_id=after_id)


def send_raw(
    app: Flask,
    path: str,
    *,
    method: str,
    body: bytes = b"",
    content_type: str | None = None,
    query: bytes = b"",
) -> t.Any:
    """A request of exactly these bytes, from PortOne's address.

    The body goes in as a stream, so the test client adds nothing (it writes a
    multipart body of its own for an empty one); WSGI carries the query's raw
    bytes as Latin-1 text.
    """
    environ = {
        "REMOTE_ADDR": PORTONE_IP,
        "QUERY_STRING": query.decode("latin-1"),
        "CONTENT_LENGTH": str(len(body)),
    }
    if content_type is not None:
        environ["CONTENT_TYPE"] = content_type
    return app.test_client().open(
        path, method=method, input_stream=io.BytesIO(body), environ_overrides=environ
    )
