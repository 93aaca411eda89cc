"""What the browser tests share: Debian's Chromium driven by Playwright (``chromium``), a
page in French (``french_page``), and signing in with password and TOTP (``log_in``)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyotp
import pytest

from tests.e2e.server import PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not (CHROMIUM.exists() and shutil.which(str(CHROMIUM))),
                       reason="/usr/bin/chromium absent (CI installs Debian's chromium)"),
]


def browser_test(fn):  # type: ignore[no-untyped-def]
    """The marks of a Chromium test, for a test in another module."""
    for mark in pytestmark:
        fn = mark(fn)
    return fn


@contextmanager
def chromium() -> Iterator[Any]:
    """Debian's Chromium, headless, closed at the end of the block."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def french_page(browser: Any, **options: Any) -> Any:
    """A page of a new context (its own cookies) in French."""
    return browser.new_context(locale="fr-FR", **options).new_page()


def log_in(page: Any, base: str, email: str, secret: str, *,
           landing: str | None = "/") -> None:
    """Signs in with the password, then the TOTP code of ``secret``; checks the page lands
    on ``landing`` unless None."""
    from playwright.sync_api import expect

    page.goto(f"{base}/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("#login-submit")
    expect(page).to_have_url(re.compile(re.escape(f"{base}/login/otp")))
    page.fill("#code", pyotp.TOTP(secret).now())
    page.click("#otp-submit")
    if landing is not None:
        expect(page).to_have_url(f"{base}{landing}")
