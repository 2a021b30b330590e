"""Payment windows in the state file: opened by one process, finished by any other.

The file keys each window by the SHA-256 of its token: the token itself, and
anything the buyer typed, never reach it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from flask_nicepay.sandbox import Sandbox

from .test_sdk import complete
from .test_sdk import open_body
from .test_sdk import open_window
from .test_sdk import post_complete
from .test_sdk import token_of

PEER = """
import json, os, pathlib, sys, time
from flask_nicepay.sandbox import Sandbox
path, action, body = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
with Sandbox(state_file=path) as sb:
    client = sb.app.test_client()
    if action == "go":  # every peer ready, then all post at once
        barrier = pathlib.Path(path).parent.parent / "barrier"
        (barrier / str(os.getpid())).touch()
        while not (barrier.parent / "go").exists():
            time.sleep(0.001)
    route = "/_sandbox/sdk/" + ("open" if action == "open" else "complete")
    answer = client.post(route, json=body, headers={"Origin": "http://shop.test"})
    print(json.dumps([answer.status_code, answer.get_json()["response"]]))
"""


@pytest.fixture
def state_file(tmp_path: Path) -> Path:
    return tmp_path / "instance" / "sandbox.sqlite3"


def _peer(state_file: Path, action: str, body: dict[str, Any]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", PEER, str(state_file), action, json.dumps(body)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _answer(peer: subprocess.Popen[str]) -> tuple[int, Any]:
    out, err = peer.communicate(timeout=60)
    assert peer.returncode == 0, err
    status, response = json.loads(out)
    return status, response


def test_a_window_opened_in_one_process_is_finished_in_another(
    state_file: Path,
) -> None:
    with Sandbox(state_file=state_file) as here:
        body = open_body({"merchant_uid": "shared-w1", "amount": 12_000})
        status, opened = _answer(_peer(state_file, "open", body))
        assert status == 200 and opened["refused"] is False
        client = here.app.test_client()
        assert client.get(opened["window_url"]).status_code == 200
        done = complete(client, opened, card_number="4111111111111111")
        assert done["rsp"]["success"] is True
        paid = here.payment(opened["imp_uid"])
        assert paid is not None and paid["status"] == "paid"
        assert len(here.sdk_windows) == 0  # finished: gone from the file
        assert (
            post_complete(
                client, opened["imp_uid"], token_of(opened["window_url"]), "approve"
            ).status_code
            == 403
        )


def test_a_window_finished_from_two_processes_at_once_finishes_once(
    state_file: Path,
) -> None:
    with Sandbox(state_file=state_file) as here:
        opened = open_window(here.app.test_client(), {"merchant_uid": "shared-w2"})
        token = token_of(opened["window_url"])
        barrier = state_file.parent.parent / "barrier"
        barrier.mkdir()
        body = {"imp_uid": opened["imp_uid"], "token": token, "outcome": "approve"}
        peers = [_peer(state_file, "go", body) for _ in range(4)]
        deadline = time.monotonic() + 60
        while len(list(barrier.iterdir())) < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
        (barrier.parent / "go").touch()
        answers = [_answer(peer) for peer in peers]
        assert sorted(status for status, _ in answers) == [200, 403, 403, 403]
        paid = here.payment(opened["imp_uid"])
        assert paid is not None and paid["status"] == "paid"
        assert len(paid["cancel_history"]) == 0 and here.payments_count() == 1


def test_the_file_holds_no_token_and_keeps_the_bound(state_file: Path) -> None:
    with Sandbox(state_file=state_file, max_payments=3) as here:
        client = here.app.test_client()
        opened = [
            open_window(client, {"merchant_uid": f"shared-w3-{n}"}) for n in range(5)
        ]
        tokens = [token_of(window["window_url"]) for window in opened]
        complete(client, opened[-1], card_number="4111111111111111")
        with Sandbox(state_file=state_file, max_payments=3) as there:
            assert len(there.sdk_windows) == 2  # three kept, one finished
            there_client = there.app.test_client()
            assert there_client.get(opened[0]["window_url"]).status_code == 403
            assert there_client.get(opened[-2]["window_url"]).status_code == 200
        stored = b"".join(p.read_bytes() for p in state_file.parent.iterdir())
        assert stored and not any(token.encode() in stored for token in tokens)
        assert b"4111111111111111" not in stored
        here.reset()
        assert len(here.sdk_windows) == 0
