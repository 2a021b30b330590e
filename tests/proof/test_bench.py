"""The benchmark scripts run end to end, and their correctness checks pass.

Each script runs in ``--quick`` mode as its own process, on the PostgreSQL the
tests use, with gunicorn and the standalone sandbox as in a full run. Only what
they print is checked, never how fast: the machine is shared and noisy.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ..databases import postgres_url

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

BENCH = Path(__file__).resolve().parents[2] / "bench"
NUMBER = r"\d+(?:\.\d+)?"


def run_bench(script: str) -> str:
    """Run ``bench/<script> --quick`` and return what it printed."""
    url = postgres_url()
    if url is None:
        pytest.skip(
            "the benchmarks need PostgreSQL: set NICEPAY_TEST_POSTGRES_URL "
            "(e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)"
        )
    done = subprocess.run(
        [sys.executable, str(BENCH / script), "--quick", "--postgres-url", url],
        capture_output=True,
        text=True,
        timeout=240,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_webhook_bench_prints_every_contender_and_passes_its_checks() -> None:
    out = run_bench("webhook.py")
    for who in ("plugin", "handwritten", "floor"):
        for kind in ("first", "duplicate"):
            row = rf"^{who}\s+{kind}\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}$"
            assert re.search(row, out, re.MULTILINE), out
    assert "CHECK FAILED" not in out
    assert "correctness: ok" in out
    *_, against_hand, floor, own = out.strip().splitlines()
    assert re.fullmatch(
        rf"ratio plugin/handwritten: first deliveries {NUMBER} \(target >= 0.75\), "
        rf"duplicates {NUMBER} \(target >= 0.9\)",
        against_hand,
    ), out
    assert re.fullmatch(
        r"ratio floor/handwritten \(the most the design allows here\): "
        rf"first deliveries {NUMBER}, duplicates {NUMBER}",
        floor,
    ), out
    assert re.fullmatch(
        r"ratio plugin/floor \(the plugin's own cost\): "
        rf"first deliveries {NUMBER}, duplicates {NUMBER}",
        own,
    ), out


def test_memory_bench_samples_one_worker_and_passes_its_checks() -> None:
    out = run_bench("memory.py")
    samples = re.findall(r"^\s*(\d+)\s+(\d+)$", out, re.MULTILINE)
    assert [int(n) for n, _ in samples] == [50, 100, 150, 200], out
    assert all(int(kib) > 0 for _, kib in samples), out
    assert re.search(r"^growth from 50 to 200 webhooks: [+-]\d+ KiB", out, re.M), out
    assert "CHECK FAILED" not in out
    assert "correctness: ok" in out


def test_intake_cpu_bench_prints_every_app_and_passes_its_checks() -> None:
    out = run_bench("intake_cpu.py")
    for who in ("trivial", "recorded", "celery", "handwritten"):
        assert re.search(rf"^{who}\s+{NUMBER}\s+{NUMBER}$", out, re.MULTILINE), out
    assert re.search(
        rf"^recording the row adds -?{NUMBER} ms, the hand-off -?{NUMBER} ms$",
        out,
        re.M,
    )
    assert re.search(rf"^CPU ratio handwritten/celery intake: {NUMBER}$", out, re.M)
    assert "CHECK FAILED" not in out
    assert "correctness: ok" in out
