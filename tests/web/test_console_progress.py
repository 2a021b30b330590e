"""The console's record is written before each call, and reconcile runs in batches
whose counts an operator sees advance, and can stop."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import threading
import typing as t
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from flask import Flask

from flask_nicepay import OrderState
from flask_nicepay.console import Console
from flask_nicepay.console_journal import Journal
from flask_nicepay.sandbox import Sandbox

from .consoleshop import Operator
from .consoleshop import actions
from .consoleshop import console_app
from .consoleshop import named_operator
from .dying_operator import DIED
from .test_console_orders import KST
from .test_console_orders import seed
from .webshop import AppFactory
from .webshop import checkout_new_order
from .webshop import get_order
from .webshop import on_both_databases
from .webshop import state

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def app(make_app: AppFactory) -> Flask:
    return console_app(make_app)


def _path(location: str) -> str:
    return location.removeprefix("/nicepay/console")


def _run_counts(operator: Operator, run_path: str) -> dict[str, str]:
    page = operator.page(run_path)
    names = ("done", "total", "changed", "not_at_portone", "errors", "batches")
    counts = {name: page.by_testid(f"run-{name}") for name in names}
    counts["status"] = str(page.find(data_testid="run-status")["data-outcome"])
    return counts


def _next(operator: Operator, run_path: str) -> t.Any:
    """Post the run page's next-batch form, as its script or the operator does."""
    page = operator.page(run_path)
    after = page.find(name="after")  # only while the run is running
    run_id = run_path.split("/")[2].split("?")[0]
    return operator.post(f"/reconcile/{run_id}/next", {"after": str(after["value"])})


@on_both_databases
def test_reconcile_goes_batch_by_batch_and_counts_advance(
    app: Flask, sandbox: Sandbox
) -> None:
    seed(app, 230)  # open orders PortOne has never heard of
    lost, _, _ = checkout_new_order(app, app.test_client(), sandbox)  # paid there
    seed(app, 5, start=300, state="paid")  # not open: not looked at
    operator = Operator(app)

    started = operator.post("/reconcile")
    assert started.status_code == 303
    run_path = _path(started.location)
    assert run_path.endswith("?go=1")  # the page's script may post the next batch
    assert 'data-advance="300"' in operator.get(run_path).get_data(as_text=True)
    seen = [_run_counts(operator, run_path)]
    while seen[-1]["status"] == "started":
        answer = _next(operator, run_path)
        assert answer.status_code == 303 and _path(answer.location) == run_path
        seen.append(_run_counts(operator, run_path))

    assert [c["done"] for c in seen] == ["0", "100", "200", "231"]
    assert {c["total"] for c in seen} == {"231"}
    assert seen[-1] | {"status": "succeeded"} == seen[-1]
    assert (seen[-1]["changed"], seen[-1]["not_at_portone"]) == ("1", "230")
    assert get_order(app, lost).state is OrderState.PAID
    finished = operator.get(run_path).get_data(as_text=True)
    assert "data-advance" not in finished and 'data-testid="stop"' not in finished
    rows = actions(app)
    batches = [r for r in rows if r["action"] == "reconcile_batch"]
    assert [json.loads(r["detail"])["orders"] for r in batches] == [100, 100, 31]
    assert {(r["outcome"], r["run_id"]) for r in batches} == {
        ("succeeded", rows[0]["id"])
    }
    assert all(r["finished_at"] is not None for r in rows)


def test_a_batch_posted_twice_is_counted_once(app: Flask) -> None:
    seed(app, 150)
    operator = Operator(app)
    run_path = _path(operator.post("/reconcile").location)
    run_id = run_path.split("/")[2].split("?")[0]
    assert operator.post(f"/reconcile/{run_id}/next", {"after": "0"}).status_code == 303
    again = operator.post(f"/reconcile/{run_id}/next", {"after": "0"})  # a 2nd tab
    assert again.status_code == 303 and "go=1" not in again.location
    assert _run_counts(operator, run_path)["done"] == "100"
    assert len([r for r in actions(app) if r["action"] == "reconcile_batch"]) == 1
    assert operator.post(f"/reconcile/{run_id}/next", {"after": "x"}).status_code == 400
    assert operator.post("/reconcile/999/next", {"after": "0"}).status_code == 404


@on_both_databases
def test_an_operator_stops_a_run_and_the_stop_is_recorded(app: Flask) -> None:
    seed(app, 150)
    operator = Operator(app)
    run_path = _path(operator.post("/reconcile").location)
    run_id = int(run_path.split("/")[2].split("?")[0])
    _next(operator, run_path)

    stopped = operator.post(f"/reconcile/{run_id}/stop")

    assert stopped.status_code == 303
    counts = _run_counts(operator, run_path)
    assert (counts["status"], counts["done"]) == ("stopped", "100")
    assert (
        operator.post(f"/reconcile/{run_id}/next", {"after": "100"}).status_code == 303
    )
    assert _run_counts(operator, run_path)["done"] == "100"  # nothing more ran
    stop = [r for r in actions(app) if r["action"] == "reconcile_stop"]
    assert [(r["run_id"], r["outcome"], r["actor"]) for r in stop] == [
        (run_id, "succeeded", "kim")
    ]


def test_a_failing_batch_is_recorded_and_the_page_waits(
    app: Flask, sandbox: Sandbox
) -> None:
    seed(app, 120)
    operator = Operator(app)
    run_path = _path(operator.post("/reconcile").location)
    sandbox.inject_fault("503", path="/payments*", times=50)
    answer = _next(operator, run_path)
    sandbox.clear_faults()

    page = operator.get(_path(answer.location)).get_data(as_text=True)
    assert "data-advance" not in page  # the operator decides: continue or stop
    [batch] = [r for r in actions(app) if r["action"] == "reconcile_batch"]
    assert (
        batch["outcome"] == "failed" and "lookup of 100 orders failed" in batch["error"]
    )
    assert _run_counts(operator, run_path)["errors"] == "1"
    while _run_counts(operator, run_path)["status"] == "started":
        _next(operator, run_path)
    assert _run_counts(operator, run_path)["status"] == "failed"


@on_both_databases
def test_an_action_whose_process_dies_mid_call_stays_started(
    app: Flask, sandbox: Sandbox, database: str
) -> None:
    uid, _, _ = checkout_new_order(app, app.test_client(), sandbox)
    died = subprocess.run(
        [sys.executable, "-m", "tests.web.dying_operator", app.instance_path,
         app.config["NICEPAY_DATABASE_URI"], uid],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert died.returncode == DIED, died.stderr

    [row] = actions(app)
    assert (row["actor"], row["action"], row["target"]) == ("park", "sync", uid)
    assert (row["outcome"], row["finished_at"]) == ("started", None)
    assert get_order(app, uid).state is OrderState.READY  # its write never committed
    listed = Operator(app).page("/actions?outcome=started")
    assert listed.by_testid("unfinished-mark")
    assert listed.find(data_testid="action-row")["data-action-id"] == str(row["id"])
    assert Operator(app).page(f"/orders/{uid}").find(data_kind="action")


@on_both_databases
def test_batches_posted_at_once_move_the_run_once(app: Flask) -> None:
    seed(app, 150)
    operators = [Operator(app) for _ in range(4)]
    run_path = _path(operators[0].post("/reconcile").location)
    run_id = run_path.split("/")[2].split("?")[0]
    for operator in operators:
        operator.token()
    barrier = threading.Barrier(len(operators))

    def post(operator: Operator) -> int:
        barrier.wait()
        return operator.post(f"/reconcile/{run_id}/next", {"after": "0"}).status_code

    with ThreadPoolExecutor(len(operators)) as pool:
        assert set(pool.map(post, operators)) == {303}
    counts = _run_counts(operators[0], run_path)
    assert (counts["done"], counts["batches"]) == ("100", "1")


@on_both_databases
def test_a_slow_stale_batch_does_not_move_the_run_back(
    app: Flask, sandbox: Sandbox
) -> None:
    seed(app, 150)
    slow, quick = Operator(app, "slow"), Operator(app, "quick")
    run_path = _path(slow.post("/reconcile").location)
    run_id = run_path.split("/")[2].split("?")[0]
    quick.token()

    def meanwhile() -> None:
        # While the slow batch waits for PortOne, the quick tab does both batches.
        assert (
            quick.post(f"/reconcile/{run_id}/next", {"after": "0"}).status_code == 303
        )
        _next(quick, run_path)

    sandbox.before_next_request(meanwhile, path="/payments*")
    assert slow.post(f"/reconcile/{run_id}/next", {"after": "0"}).status_code == 303

    counts = _run_counts(quick, run_path)
    assert (counts["status"], counts["done"], counts["batches"]) == (
        "succeeded",
        "150",
        "2",
    )
    batches = [r for r in actions(app) if r["action"] == "reconcile_batch"]
    assert [(r["actor"], r["outcome"]) for r in batches] == [
        ("slow", "succeeded"),
        ("quick", "succeeded"),
        ("quick", "succeeded"),
    ]


@on_both_databases
def test_the_actions_page_lists_newest_first_by_outcome(app: Flask) -> None:
    payments = state(app).payments
    journal = Journal(payments.engine, payments.clock)
    made = [journal.begin("kim", "sync", f"np-{n}") for n in range(70)]
    for n, action_id in enumerate(made):
        if n % 7:
            journal.finish(action_id, "failed" if n % 2 else "succeeded", error="x")
    operator = Operator(app)

    def listed(path: str) -> list[int]:
        seen: list[int] = []
        next_path: str | None = path
        while next_path:
            page = operator.page(next_path)
            seen += [int(str(a["data-action-id"])) for _, a in page.tags
                     if a.get("data-testid") == "action-row"]  # fmt: skip
            links = [a["href"] for _, a in page.tags
                     if a.get("data-testid") == "next-page"]  # fmt: skip
            next_path = _path(str(links[0])) if links else None
        return seen

    assert listed("/actions") == made[::-1]
    assert listed("/actions?outcome=started") == made[63::-7]
    assert listed("/actions?outcome=started&outcome=succeeded") == [
        i for n, i in reversed(list(enumerate(made))) if n % 7 == 0 or n % 2 == 0
    ]
    for query in ("outcome=bogus", "before=x"):
        assert operator.get(f"/actions?{query}").status_code == 400


def test_an_action_that_raises_is_recorded_failed_with_its_error_redacted(
    make_app: AppFactory,
) -> None:
    def hook(*_: t.Any, **__: t.Any) -> None:
        raise RuntimeError("store hook broke on card 4242424242424242")

    app = make_app(on_transition=hook)
    Console(app, guard=named_operator)
    sandbox = state(app).sandbox
    assert sandbox is not None
    uid, _, _ = checkout_new_order(app, app.test_client(), sandbox)

    with pytest.raises(RuntimeError, match="store hook broke"):
        Operator(app).post(f"/orders/{uid}/sync")

    [row] = actions(app)
    assert (row["action"], row["outcome"]) == ("sync", "failed")
    assert row["error"].startswith("RuntimeError: store hook broke on card")
    assert "4242424242424242" not in row["error"] and row["error"].endswith("4242")
    assert row["finished_at"] is not None


@on_both_databases
def test_reconcile_since_goes_through_every_order_changed_since_in_any_state(
    app: Flask, sandbox: Sandbox
) -> None:
    """The console's "changed since" run is the CLI's ``--since``: every order
    changed since then, paid ones too, and only those."""
    seed(app, 30)  # open, but last changed long before
    uid, _, payment = checkout_new_order(app, app.test_client(), sandbox)
    sandbox.console_cancel(payment["imp_uid"], reason="환불")  # the store was not told
    operator = Operator(app)
    an_hour_ago = dt.datetime.now(KST) - dt.timedelta(hours=1)
    since = an_hour_ago.strftime("%Y-%m-%dT%H:%M")  # as a datetime-local field sends

    assert 'data-testid="reconcile-since"' in operator.get("/").get_data(True)
    started = operator.post("/reconcile", {"since": since})
    run_path = _path(started.location)
    shown = operator.page(run_path).by_testid("run-since")
    assert since.replace("T", " ") in shown and shown.endswith("KST")
    assert _run_counts(operator, run_path)["total"] == "1"
    _next(operator, run_path)

    counts = _run_counts(operator, run_path)
    assert (counts["done"], counts["changed"], counts["status"]) == (
        "1",
        "1",
        "succeeded",
    )
    assert get_order(app, uid).state is OrderState.CANCELLED
    [run] = [r for r in actions(app) if r["action"] == "reconcile"]
    assert str(run["target"]).startswith("orders changed since ")


@pytest.mark.parametrize("since", ["yesterday", "2026-13-40T99:00", "\x00", "9" * 500])
def test_reconcile_since_that_is_no_time_is_refused_and_starts_nothing(
    app: Flask, since: str
) -> None:
    operator = Operator(app)
    refused = operator.post("/reconcile", {"since": since})
    assert refused.status_code == 400
    assert "2026-12-02T09:30" in refused.get_data(as_text=True)
    assert [r for r in actions(app) if r["action"] == "reconcile"] == []
