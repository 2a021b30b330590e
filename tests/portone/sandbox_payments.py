"""The sandbox account the PortOne client tests use, and a way to get a paid payment."""

from __future__ import annotations

import typing as t

from flask_nicepay.sandbox import Sandbox

KEY, SECRET = "test_key", "test_secret"


def paid(sandbox: Sandbox, merchant_uid: str, amount: int = 10_000, **kw: t.Any) -> str:
    """A card payment approved through the payment window; returns its imp_uid."""
    payment = sandbox.checkout(merchant_uid=merchant_uid, amount=amount, **kw)
    return str(payment["imp_uid"])
