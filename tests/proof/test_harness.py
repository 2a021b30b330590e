"""The proof scripts run end to end in ``--quick`` mode, and their checks pass.

Each script (``bench/race.py``, ``storm.py``, ``crash.py``, ``fuzz.py``) runs as
its own process on the PostgreSQL the tests use, with gunicorn and the
standalone sandbox over HTTP as in a full run. Only what they print is checked:
the exit status, and the line of each invariant they report as holding.
"""

from __future__ import annotations

import re

import pytest

from .test_bench import run_bench

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def assert_passed(out: str, name: str, *held: str) -> None:
    """Every ``held`` pattern is an ``ok:`` line, and the verdict is a pass."""
    assert "CHECK FAILED" not in out, out
    for pattern in held:
        assert re.search(rf"^ok: {pattern}$", out, re.MULTILINE), (pattern, out)
    assert out.strip().splitlines()[-1] == f"{name}: every check passed", out


def test_race_one_transition_signal_and_receipt_per_order() -> None:
    out = run_bench("race.py")
    assert_passed(
        out,
        "race",
        r"0 answers of 5xx",
        r"order states \{'paid': 40\}",
        r"pay history rows per order \{1: 40\} \(want 1 for all 40\)",
        r"receipt rows per order \{1: 40\} \(want 1 for all 40\)",
        r"signal rows per order \{1: 40\} \(want 1 for all 40\)",
    )


def test_storm_ends_equal_to_portone_with_no_double_refund() -> None:
    out = run_bench("storm.py")
    for when in ("after the reconcile", "after late webhooks"):
        assert_passed(
            out,
            "storm",
            rf"{when}: 0 orders differ from PortOne \[\]",
            rf"{when}: 0 orders whose succeeded refunds != PortOne's cancel_amount",
            rf"{when}: 0 orders refunded above the paid amount",
            rf"{when}: pay history rows per order \{{1: 30\}}",
        )
    assert re.search(r"^api faults injected: .*timeout=\d+", out, re.MULTILINE), out
    assert re.search(r"^refund attempts: .*refunded=\d+", out, re.MULTILINE), out


def test_crash_loses_nothing_and_heals_once() -> None:
    out = run_bench("crash.py")
    assert_passed(
        out,
        "crash",
        r"(\d+) of \1 requests answered 2xx/3xx have their inbox row",
        r"[1-9]\d* requests lost their worker mid-request \(want > 0\)",
        r"after the heal: order states \{'paid': 60\}",
        r"after the heal: pay history rows per order \{1: 60\}",
        r"after the heal: pay receipts per order \{1: 60\}",
    )


def test_fuzz_no_5xx_every_door_request_kept_nothing_changed() -> None:
    out = run_bench("fuzz.py")
    assert_passed(
        out,
        "fuzz",
        r"0 requests without an answer",
        r"0 answers of 5xx",
        r"inbox grew by (\d+) for \1 door requests that reached the app",
        r"seeded orders, history and refunds unchanged",
    )
    for route in ("webhook", "complete", "return", "checkout", "status", "confirm"):
        assert re.search(rf"^{route}\s+(\d+g?=\d+ ?)+$", out, re.MULTILINE), out
