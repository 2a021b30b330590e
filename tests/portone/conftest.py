from __future__ import annotations

import typing as t

import pytest

from flask_nicepay.portone import PortOneClient
from flask_nicepay.sandbox import Sandbox

KEY, SECRET = "test_key", "test_secret"


@pytest.fixture
def sandbox() -> Sandbox:
    return Sandbox(imp_key=KEY, imp_secret=SECRET)


@pytest.fixture
def client(sandbox: Sandbox) -> t.Iterator[PortOneClient]:
    session = sandbox.session()
    with PortOneClient(
        KEY, SECRET, base_url=sandbox.base_url, session=session, backoff=0
    ) as portone:
        yield portone
    session.close()


def paid(sandbox: Sandbox, merchant_uid: str, amount: int = 10_000, **kw: t.Any) -> str:
    """A card payment approved through the payment window; returns its imp_uid."""
    payment = sandbox.checkout(merchant_uid=merchant_uid, amount=amount, **kw)
    return str(payment["imp_uid"])
