"""One account in a state file: every sandbox (and process) on it sees one PortOne."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Callable
from collections.abc import Iterator
from pathlib import Path

import pytest

from flask_nicepay.sandbox import Sandbox
from flask_nicepay.sandbox import WebhookDelivery

from .peers import HOOK_URL
from .peers import Api
from .peers import refusal


@pytest.fixture
def state_file(tmp_path: Path) -> Path:
    return tmp_path / "instance" / "sandbox.sqlite3"


@pytest.fixture
def pair(state_file: Path) -> Iterator[tuple[Sandbox, Sandbox]]:
    with (
        Sandbox(state_file=state_file, webhook_url=HOOK_URL) as one,
        Sandbox(state_file=state_file, webhook_url=HOOK_URL) as two,
    ):
        yield one, two


def test_a_payment_made_on_one_is_known_to_the_other(
    pair: tuple[Sandbox, Sandbox],
) -> None:
    one, two = pair
    paid = one.checkout("shared-1", 12_000)
    seen = two.payment(paid["imp_uid"])
    assert seen is not None and seen["status"] == "paid"
    two.console_cancel(paid["imp_uid"], 2_000)
    again = one.payment(paid["imp_uid"])
    assert again is not None and again["cancel_amount"] == 2_000
    assert one.payments_count() == two.payments_count() == 1


def test_the_clock_and_a_reset_are_shared(pair: tuple[Sandbox, Sandbox]) -> None:
    one, two = pair
    one.checkout("shared-2", 1_000)
    before = two.moment()
    one.advance_clock(86_400)
    assert (two.moment() - before).total_seconds() >= 86_400
    assert two.state()["clock_offset"] >= 86_400
    two.reset()
    assert one.payments_count() == 0
    assert one.moment().timestamp() - before.timestamp() < 3_600


def test_bounds_hold_in_every_process_and_in_the_file(state_file: Path) -> None:
    with (
        Sandbox(state_file=state_file, max_payments=3) as one,
        Sandbox(state_file=state_file, max_payments=3) as two,
    ):
        made = [(one, two)[n % 2].checkout(f"bound-{n}", 1_000) for n in range(8)]
        assert one.sizes()["payments"] == two.sizes()["payments"] == 3
        assert one.sizes()["merchant_index"] == two.sizes()["merchant_index"] == 3
        kept = {p["imp_uid"] for p in made[-3:]}
        assert {p["imp_uid"] for p in one.state()["payments"]} == kept
        assert {p["imp_uid"] for p in two.state()["payments"]} == kept
    with sqlite3.connect(state_file) as conn:
        live = conn.execute(
            "SELECT count(*) FROM sandbox_records WHERE body IS NOT NULL"
        ).fetchone()[0]
    assert live == 3


def test_another_process_sees_the_payments(state_file: Path) -> None:
    with Sandbox(state_file=state_file) as here:
        paid = here.checkout("shared-3", 5_000)
        here.advance_clock(3_600)
        script = textwrap.dedent(
            f"""
            from flask_nicepay.sandbox import Sandbox
            with Sandbox(state_file={str(state_file)!r}) as there:
                print(there.payment({paid["imp_uid"]!r})["status"])
                print(there.state()["clock_offset"])
                there.console_cancel({paid["imp_uid"]!r})
            """
        )
        done = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.split() == ["paid", "3600.0"]
        after = here.payment(paid["imp_uid"])
        assert after is not None and after["status"] == "cancelled"


def test_a_webhook_goes_once_from_the_process_that_caused_it(
    state_file: Path,
) -> None:
    sent: list[tuple[str, WebhookDelivery]] = []

    def sender(name: str) -> Callable[[WebhookDelivery], int]:
        def send(delivery: WebhookDelivery) -> int:
            sent.append((name, delivery))
            return 200

        return send

    with (
        Sandbox(state_file=state_file, webhook_sender=sender("one")) as one,
        Sandbox(state_file=state_file, webhook_sender=sender("two")) as two,
    ):
        one.checkout("shared-4", 3_000, notice_url=HOOK_URL)
        assert two.deliver_webhooks() == []
        assert [d.ok for d in one.deliver_webhooks()] == [True]
        assert one.deliver_webhooks() == two.deliver_webhooks() == []
    assert [name for name, _ in sent] == ["one"]


@pytest.mark.parametrize("given", [(), ("--imp-secret", "hunter2-operator-secret")])
def test_the_start_banner_never_shows_the_secret(given: tuple[str, ...]) -> None:
    command = [sys.executable, "-m", "flask_nicepay.sandbox", "--port", "0", *given]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        banner = [process.stdout.readline() for _ in range(2)]
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()
    assert banner[0].startswith("PortOne V1 sandbox at http://127.0.0.1:")
    assert banner[1].startswith("imp_key=sandbox_key imp_secret=(")
    secret = given[1] if given else "sandbox_secret"
    assert secret not in "".join(banner)


def test_a_file_left_by_another_owner_starts_empty(state_file: Path) -> None:
    with Sandbox(state_file=state_file, state_owner="shop.db") as first:
        paid = first.checkout("owned-1", 1_000)
        first.advance_clock(600)
        with Sandbox(state_file=state_file, state_owner="shop.db") as same:
            assert same.payment(paid["imp_uid"]) is not None
    with Sandbox(state_file=state_file, state_owner="fresh.db") as other:
        assert other.payments_count() == 0
        assert other.payment(paid["imp_uid"]) is None
        assert other.state()["clock_offset"] == 0


def test_the_tax_mode_is_one_setting_for_every_sandbox_on_the_file(
    pair: tuple[Sandbox, Sandbox],
) -> None:
    one, two = pair
    paid = one.checkout("shared-tax", 11_000, vat_amount=1_000)
    one.set_tax_mode("fixed")
    assert two.tax_mode == "fixed"
    cancel = {"imp_uid": paid["imp_uid"], "amount": 5_500, "vat_amount": 500}
    refused = refusal(Api(two).post("/payments/cancel", json=cancel))
    assert "[1617]" in refused[2]
    one.reset()
    assert two.tax_mode == "fixed"  # a setting, as the console keeps it
