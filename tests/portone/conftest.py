"""Fixtures for the PortOne client tests: a sandbox and a client authorized on it."""

from __future__ import annotations

import typing as t

import pytest

from flask_nicepay.portone import PortOneClient
from flask_nicepay.sandbox import Sandbox

from .sandbox_payments import KEY
from .sandbox_payments import SECRET


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
