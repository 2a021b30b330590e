"""Debian's Chromium driven by Playwright, shared by every browser test.

Playwright's own browser download does not work on these machines; Debian's
``chromium`` package does (``.ci/run`` installs it). Without it the browser tests
skip and say why.
"""

from __future__ import annotations

import contextlib
import os
import threading
import typing as t
from pathlib import Path

import pytest
from werkzeug.serving import make_server

CHROMIUM_ENV = "NICEPAY_TEST_CHROMIUM"
#: Background networking off: this machine's closed network refuses it noisily.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
#: A browser context that passes for an iPhone: pass as ``new_context(**PHONE)``.
PHONE: dict[str, t.Any] = {
    "user_agent": IPHONE,
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 3,
    "is_mobile": True,
    "has_touch": True,
}
#: Runs in every frame before its scripts: turns CSP violations into console errors.
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error("csp-violation " + event.violatedDirective + " " + event.blockedURI);
});
"""
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
#: Set to ``css`` for pictures at one pixel per CSS pixel (small enough for the
#: docs, see docs/screens.py); by default a phone's are at its device scale.
SCALE_ENV = "NICEPAY_TEST_SCREENSHOT_SCALE"


def launch() -> t.Iterator[t.Any]:
    """Start Chromium for a fixture; skip when it is not installed."""
    sync_api = pytest.importorskip("playwright.sync_api")
    executable = os.environ.get(CHROMIUM_ENV) or "/usr/bin/chromium"
    if not Path(executable).exists():
        pytest.skip(f"browser tests need Chromium at {executable} (set {CHROMIUM_ENV})")
    manager = sync_api.sync_playwright().start()
    try:
        chromium = manager.chromium.launch(
            executable_path=executable, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()
    finally:
        manager.stop()


class Watched:
    """A browser context and its page, noting every CSP violation of any frame."""

    def __init__(self, context: t.Any, artifacts: str) -> None:
        self.context = context
        self.violations: list[str] = []
        self.artifacts = ARTIFACTS / artifacts
        context.set_default_timeout(15_000)
        context.add_init_script(REPORT_VIOLATIONS)
        context.on("console", self._console)
        self.page = context.new_page()

    def _console(self, message: t.Any) -> None:
        text = message.text
        if "csp-violation" in text or "Content Security Policy" in text:
            self.violations.append(text)

    def screenshot(self, name: str) -> None:
        """Keep a picture of the page as a test artifact."""
        self.artifacts.mkdir(parents=True, exist_ok=True)
        scale = os.environ.get(SCALE_ENV) or "device"
        path = str(self.artifacts / f"{name}.png")
        self.page.screenshot(path=path, full_page=True, scale=scale)


@contextlib.contextmanager
def served(app: t.Any) -> t.Iterator[str]:
    """Serve a WSGI app on a real socket of 127.0.0.1 in a thread; its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
