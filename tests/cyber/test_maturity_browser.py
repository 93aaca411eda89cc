"""A real Chromium: a director answers the maturity questionnaire, sees the radar drawn by
Chart.js (under the app's CSP), then opens the governance page and downloads the board PDF."""

from __future__ import annotations

from collections.abc import Callable

import pyotp
import pytest

from esante.core.identifiers import finess_key
from esante.cyber.maturity.catalogue import catalogue
from tests.e2e.browser import chromium, french_page, log_in, pytestmark  # noqa: F401
from tests.e2e.conftest import instance, start_server  # noqa: F401 - the e2e fixtures
from tests.e2e.server import PASSWORD, Instance, Server
from tests.e2e.test_incident_browser import open_menu

FINESS = "75000044" + finess_key("75000044")
DIRECTOR = "direction@chu-e2e.esante.fr"


@pytest.mark.e2e
def test_questionnaire_radar_and_board_pdf(instance: Instance,  # noqa: F811
                                           start_server: Callable[..., Server]) -> None:  # noqa: F811
    from playwright.sync_api import expect

    instance.seed({"regions": True, "establishments": [
        {"finess": FINESS, "name": "CHU de Paris-E2E", "category": "CHU",
         "department": "75", "town": "Paris"}]})
    instance.cli("user", "create", "--email", DIRECTOR, "--password", PASSWORD,
                 "--role", "director", "--scope", f"establishment:{FINESS}",
                 "--name", "Paul Directeur")
    secret = pyotp.random_base32()
    instance.seed({"totp": {DIRECTOR: secret}})
    base = start_server().base_url

    with chromium() as browser:
        page = french_page(browser, accept_downloads=True)
        page.set_default_timeout(10_000)
        errors: list[str] = []
        page.on("console", lambda m: errors.append(f"{page.url} {m.location} {m.text[:80]}")
                if m.type == "error" else None)
        log_in(page, base, DIRECTOR, secret)
        open_menu(page, "Maturité cyber")
        page.click("text=Remplir le questionnaire")
        for item in catalogue().items:
            answer = "partial" if item.chapter in ("V", "GS") else "done"
            page.click(f"label[for=a-{item.code}-{answer}]")  # DSFR: the label is the target
        page.fill("#e-M37", "Restauration testée en mars")
        page.click("#submit")
        expect(page.locator("#saved")).to_be_visible()
        expect(page.locator("#overall")).to_contain_text("/ 100")
        drawn = page.evaluate(
            "() => { const c = window.Chart && window.Chart.getChart('maturity-radar');"
            " return c ? [c.config.type, c.data.datasets[0].data] : null; }")
        assert drawn is not None, errors
        kind, values = drawn
        assert kind == "radar" and values[4] == 50 and values[0] == 100
        page.click("text=Page de gouvernance")
        expect(page.locator("#advisories")).to_contain_text("aucun avis de sécurité ouvert")
        with page.expect_download() as download:
            page.click("#pdf")
        pdf = download.value.path().read_bytes()
        assert pdf.startswith(b"%PDF-")
        # htmx's own indicator style is refused on every page (not this page's doing).
        mine = [e for e in errors if "Content Security Policy" in e and "htmx" not in e]
        assert not mine, mine
