"""Refresh the screenshots in the docs from the browser tests.

The browser tests (``tests/browser/``) save a picture of every page they end on
in ``test-artifacts/``. This runs the tests that take the pictures the docs show,
at one pixel per CSS pixel, and copies that curated set into
``docs/_static/screens/``, refusing any picture over :data:`LIMIT` bytes::

    NICEPAY_TEST_CHROMIUM=/usr/bin/chromium python docs/screens.py

``--no-run`` only copies what the last run left in ``test-artifacts/``. When
``optipng`` is installed, each copy is squeezed with it as well.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
SCREENS = ROOT / "docs" / "_static" / "screens"
#: No picture in the docs is bigger than this.
LIMIT = 150_000

#: Each picture in the docs, from the artifact a browser test saves.
CURATED = {
    "checkout-desktop.png": "store/pc-checkout-window.png",
    "checkout-phone.png": "store/korean-phone-checkout.png",
    "result-paid-phone.png": "store/korean-phone-paid.png",
    "vbank-issued.png": "store/vbank-issued.png",
    "card-registration.png": "store/card-register-buyer.png",
    "console-order-story.png": "console/order-story.png",
}
#: The tests that take them.
TESTS = [
    "tests/browser/test_store_browser.py::test_pc_card_payment_ends_on_a_paid_order_page",
    "tests/browser/test_store_browser.py::test_virtual_account_issued_then_deposited",
    "tests/browser/test_store_browser.py::test_a_card_is_registered_on_the_hosted_page",
    "tests/browser/test_phone_browser.py",
    "tests/browser/test_console_browser.py",
]


def run_tests() -> None:
    """Run the browser tests with pictures at CSS scale."""
    env = {**os.environ, "NICEPAY_TEST_SCREENSHOT_SCALE": "css"}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *TESTS]
    subprocess.run(command, cwd=ROOT, env=env, check=True)


def copy_curated() -> list[str]:
    """Copy the curated pictures into the docs; the problems found."""
    SCREENS.mkdir(parents=True, exist_ok=True)
    squeeze = shutil.which("optipng")
    problems = []
    for name, artifact in CURATED.items():
        source, target = ARTIFACTS / artifact, SCREENS / name
        if not source.exists():
            problems.append(f"{artifact} is missing: did its test run?")
            continue
        shutil.copyfile(source, target)
        if squeeze:
            subprocess.run([squeeze, "-quiet", "-o2", str(target)], check=True)
        size = target.stat().st_size
        if size > LIMIT:
            problems.append(f"{name} is {size:,} bytes, over {LIMIT:,}")
        print(f"{name}: {size:,} bytes")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--no-run", action="store_true", help="only copy the last run's pictures"
    )
    args = parser.parse_args(argv)
    if not args.no_run:
        run_tests()
    problems = copy_curated()
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
