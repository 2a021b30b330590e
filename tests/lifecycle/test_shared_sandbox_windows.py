"""Payment windows through two gunicorn workers on one embedded sandbox.

The windows are opened from this process's embedded sandbox; their buttons are then
pressed several times at once through the two workers, which know the windows only
through the shared state file. Each window finishes once, and each order is paid once.
"""

from __future__ import annotations

import concurrent.futures
import random
import typing as t
from pathlib import Path

import pytest
import requests

from flask_nicepay.state import SANDBOX_MOUNT

from .test_shared_sandbox_workers import _gunicorn
from .test_shared_sandbox_workers import assert_paid_once
from .test_shared_sandbox_workers import database_uri  # noqa: F401 - a fixture
from .test_shared_sandbox_workers import race_shop

pytest.importorskip("gunicorn")

ORDERS, PRESSES = 4, 3
COMPLETE = SANDBOX_MOUNT + "/_sandbox/sdk/complete"


def test_windows_opened_here_finish_once_through_two_workers(
    tmp_path: Path,
    database_uri: str,  # noqa: F811 - the fixture imported above
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app, env = race_shop(tmp_path, database_uri, monkeypatch)
    windows = _opened_here(app)
    with _gunicorn(tmp_path, env) as url:
        presses = _press(url, windows)
        stores = [
            requests.post(url + "/nicepay/complete", json=ids, timeout=30)
            for ids in ({k: w[k] for k in ("imp_uid", "merchant_uid")} for w in windows)
        ]
    assert sorted(presses) == [200] * ORDERS + [403] * (ORDERS * (PRESSES - 1))
    assert {answer.status_code for answer in stores} == {200}
    assert_paid_once(app, [window["merchant_uid"] for window in windows])
    stored = b"".join(p.read_bytes() for p in (tmp_path / "instance").rglob("*sqlite*"))
    assert stored and not any(w["token"].encode() in stored for w in windows)
    app.extensions["nicepay"].payments.engine.dispose()


def _opened_here(app: t.Any) -> list[dict[str, str]]:
    nicepay = app.extensions["nicepay"]
    client = nicepay.sandbox.app.test_client()
    windows = []
    with app.app_context():
        for n in range(ORDERS):
            order = nicepay.extension.create_order(amount=20_000 + n, name="window")
            body = {
                "merchant_code": "imp00000000",
                "params": {"merchant_uid": order.merchant_uid, "amount": 20_000 + n},
                "has_callback": True,
            }
            opened = client.post("/_sandbox/sdk/open", json=body).get_json()
            window = opened["response"]
            assert window["refused"] is False, window
            token = window["window_url"].split("t=", 1)[1]
            windows.append(
                {
                    "imp_uid": window["imp_uid"],
                    "merchant_uid": order.merchant_uid,
                    "token": token,
                }
            )
    return windows


def _press(url: str, windows: list[dict[str, str]]) -> list[int]:
    hits = [
        {"imp_uid": w["imp_uid"], "token": w["token"], "outcome": "approve"}
        for w in windows
        for _ in range(PRESSES)
    ]
    random.Random(11).shuffle(hits)

    def one(body: dict[str, str]) -> int:
        return requests.post(url + COMPLETE, json=body, timeout=30).status_code

    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        return list(pool.map(one, hits))
