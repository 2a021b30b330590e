"""Fixtures for the sandbox tests: a sandbox, an authorized client, a webhook sink."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from flask_nicepay.sandbox import Sandbox

from .peers import HOOK_URL
from .peers import Api
from .peers import Store


@pytest.fixture
def store() -> Store:
    return Store()


@pytest.fixture
def sb(store: Store) -> Iterator[Sandbox]:
    sandbox = Sandbox(webhook_url=HOOK_URL, webhook_sender=store.send)
    yield sandbox
    sandbox.close()


@pytest.fixture
def api(sb: Sandbox) -> Api:
    return Api(sb)
