"""The built-in pages can be replaced by the store's own templates."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from flask_nicepay import NicePay

from .webshop import checkout_url
from .webshop import new_order


def shop_with_templates(tmp_path: Path) -> Flask:
    folder = tmp_path / "templates" / "nicepay"
    folder.mkdir(parents=True)
    # The store restyles the result page and keeps the others.
    (folder / "result.html").write_text(
        '<p class="shop-result" data-state="{{ order.state.value }}">'
        "{{ order.name }}: {{ t.result_title }}</p>",
        encoding="utf-8",
    )
    app = Flask("shop", root_path=str(tmp_path), instance_path=str(tmp_path / "i"))
    app.config.update(
        TESTING=True,
        SECRET_KEY="templates",
        NICEPAY_SANDBOX=True,
        NICEPAY_SANDBOX_AUTO_DELIVER=False,
        NICEPAY_DATABASE_URI=f"sqlite:///{tmp_path / 'shop.db'}",
    )
    NicePay(app)
    return app


def test_store_template_replaces_the_built_in_one(tmp_path: Path) -> None:
    app = shop_with_templates(tmp_path)
    uid = new_order(app, name="머그컵")
    client = app.test_client()

    result = client.get(f"/nicepay/orders/{uid}")
    assert result.status_code == 200
    body = result.get_data(as_text=True)
    assert body == '<p class="shop-result" data-state="ready">머그컵: 결제 결과</p>'

    # The pages the store did not replace are still the built-in ones.
    page = client.get(checkout_url(app, uid))
    assert page.status_code == 200
    assert 'id="nicepay-checkout"' in page.get_data(as_text=True)
    app.extensions["nicepay"].sandbox.close()
