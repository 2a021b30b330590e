"""One facade: NicePay exposes the parts, its shortcuts are theirs, old names warn."""

from __future__ import annotations

import inspect
import typing as t
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from flask_nicepay import NicePay
from flask_nicepay import OrderState
from flask_nicepay import Payments
from flask_nicepay import PortOneClient
from flask_nicepay.db import make_engine
from flask_nicepay.inbox import Inbox
from flask_nicepay.orders import Orders
from flask_nicepay.parts import Part
from flask_nicepay.refunds import Refunds
from flask_nicepay.sandbox import Sandbox
from flask_nicepay.service import MOVED
from flask_nicepay.service import PaymentService
from flask_nicepay.store import Store
from flask_nicepay.store import utcnow
from flask_nicepay.sync import Reconciler

from .webshop import PORTONE_IP
from .webshop import AppFactory
from .webshop import new_order
from .webshop import pay_in_window

SHORTCUTS = {
    "create_order": (Orders, "create"),
    "get_order": (Orders, "get"),
    "sync": (Reconciler, "sync"),
    "refund": (Refunds, "refund"),
    "cancel": (Refunds, "cancel"),
    "reconcile": (Reconciler, "reconcile"),
    "expire_vbanks": (Reconciler, "expire_vbanks"),
}


def test_the_parts_are_the_current_apps(app: Flask, nicepay: NicePay) -> None:
    with app.app_context():
        payments = nicepay.payments
        assert nicepay.orders is payments.orders
        assert nicepay.notifications is payments.notifications
        assert nicepay.reconciler is payments.reconciler
        assert nicepay.refunds is payments.refunds
        assert nicepay.billing is payments.billing
        assert nicepay.client is payments.client
        # One set of parts, shared: no part holds a client or store of its own.
        for part in (payments.orders, payments.reconciler, payments.refunds):
            assert isinstance(part, Part) and part.parts is payments.parts
        assert payments.billing.parts is payments.parts


@pytest.mark.parametrize("name", sorted(SHORTCUTS))
def test_a_shortcut_is_the_parts_method_with_its_signature(
    app: Flask, nicepay: NicePay, name: str
) -> None:
    part_class, method = SHORTCUTS[name]
    original = getattr(part_class, method)
    assert inspect.signature(getattr(NicePay, name)) == inspect.signature(original)
    assert getattr(NicePay, name).__doc__ == original.__doc__
    with app.app_context():
        bound = getattr(nicepay, name)
        assert bound.__func__ is original
        assert isinstance(bound.__self__, part_class)


def test_shortcuts_act_on_the_current_app(
    app: Flask, client: FlaskClient, sandbox: Sandbox, nicepay: NicePay
) -> None:
    with app.app_context():
        order = nicepay.create_order(amount=12_000, name="Socks")
        assert nicepay.get_order(order.merchant_uid) == order
    pay_in_window(client, sandbox, f"/nicepay/checkout/{order.merchant_uid}")
    with app.app_context():
        assert nicepay.sync(merchant_uid=order.merchant_uid).order.state is (
            OrderState.PAID
        )
        assert nicepay.cancel(order.merchant_uid).order.state is OrderState.CANCELLED
        # Called through the class, as a method can be.
        found = NicePay.get_order(nicepay, order.merchant_uid)
        assert found is not None and found.state is OrderState.CANCELLED


def test_every_former_name_leads_to_a_method(app: Flask, nicepay: NicePay) -> None:
    with app.app_context():
        payments = nicepay.payments
    for old, new in MOVED.items():
        part, method = new.split(".")
        assert callable(getattr(getattr(payments, part), method)), old


def test_former_names_still_work_and_warn(app: Flask, nicepay: NicePay) -> None:
    uid = new_order(app)
    with app.app_context():
        with pytest.warns(DeprecationWarning, match=r"NicePay\.service"):
            service = nicepay.service
        with pytest.warns(DeprecationWarning, match=r"Payments\.orders\.get"):
            found = service.get_order(uid)
        assert found == nicepay.get_order(uid)
        assert service.engine is nicepay.payments.engine  # not moved: no warning
    with pytest.warns(DeprecationWarning, match=r"State\.service"):
        assert app.extensions["nicepay"].service.engine is not None


def test_building_the_former_service_warns_and_works(tmp_path: Path) -> None:
    box = Sandbox(imp_key="k", imp_secret="s")
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        with pytest.warns(DeprecationWarning, match="PaymentService is deprecated"):
            service = PaymentService(
                client=PortOneClient(
                    "k", "s", base_url=box.base_url, session=box.session()
                ),
                engine=engine,
                sender=object(),
            )
        service.create_all()
        with pytest.warns(DeprecationWarning, match=r"orders\.create"):
            order = service.create_order(amount=5_000, name="Tea")
        assert isinstance(service._payments, Payments)
        assert service._payments.orders.get(order.merchant_uid) == order
    finally:
        engine.dispose()
        box.close()


class CountingInbox(Inbox):
    """An inbox of the store's own, counting what it records."""

    recorded: int = 0

    def record_reading_order(self, *args: t.Any, **kwargs: t.Any) -> t.Any:
        type(self).recorded += 1
        return super().record_reading_order(*args, **kwargs)


def test_a_store_and_an_inbox_can_be_injected(
    tmp_path: Path, make_app: AppFactory
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'own.db'}")
    store, inbox = Store(engine), CountingInbox(engine, clock=utcnow)
    app = make_app(engine=engine, store=store, inbox=inbox)
    client, box = app.test_client(), app.extensions["nicepay"].sandbox
    nicepay = app.extensions["nicepay"].extension
    with app.app_context():
        assert nicepay.payments.store is store
        assert nicepay.payments.inbox is inbox
        assert nicepay.notifications.inbox is inbox
    uid = new_order(app)
    _, payment = pay_in_window(client, box, f"/nicepay/checkout/{uid}")
    before = CountingInbox.recorded
    answer = client.post(
        "/nicepay/webhook",
        json={"imp_uid": payment["imp_uid"], "merchant_uid": uid, "status": "paid"},
        environ_base={"REMOTE_ADDR": PORTONE_IP},
    )
    assert answer.status_code == 200
    assert CountingInbox.recorded == before + 1
    assert store.get(uid).state is OrderState.PAID  # type: ignore[union-attr]
    engine.dispose()
