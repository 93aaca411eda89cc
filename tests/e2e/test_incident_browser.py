"""A real Chromium: a security officer declares an incident from an empty form; the
national cell's analyst acknowledges it; the officer sees the acknowledgement."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pyotp
import pytest

from esante.core.identifiers import finess_key
from esante.cyber.incidents.rules import PARIS
from tests.e2e.browser import chromium, french_page, log_in, pytestmark  # noqa: F401
from tests.e2e.server import PASSWORD, Instance, Server

FINESS = "75000043" + finess_key("75000043")
RSSI = "rssi@chu-e2e.esante.fr"
ANALYST = "analyste@cert-e2e.esante.fr"


def open_menu(page, link: str) -> None:  # type: ignore[no-untyped-def]
    """Open the Cybervigilance menu of the header and follow one of its links, once the
    DSFR's script has bound the menu's button (as a person does, after the page loads)."""
    from playwright.sync_api import expect

    page.wait_for_selector("#nav-cyber[data-fr-js-collapse-button]", state="attached")
    page.click("#nav-cyber")
    expect(page.locator("#nav-cyber")).to_have_attribute("aria-expanded", "true")
    page.click(f"#menu-cyber >> text={link}")


@pytest.mark.e2e
def test_declare_then_the_cell_acknowledges(instance: Instance,
                                            start_server: Callable[..., Server]) -> None:
    from playwright.sync_api import expect

    instance.seed({"regions": True, "establishments": [
        {"finess": FINESS, "name": "CHU de Paris-E2E", "category": "CHU",
         "department": "75", "town": "Paris"}]})
    instance.cli("user", "create", "--email", RSSI, "--password", PASSWORD,
                 "--role", "security_officer", "--scope", f"establishment:{FINESS}",
                 "--name", "Hugo RSSI")
    instance.cli("user", "create", "--email", ANALYST, "--password", PASSWORD,
                 "--role", "cyber_analyst", "--name", "Nora Analyste")
    secrets = {RSSI: pyotp.random_base32(), ANALYST: pyotp.random_base32()}
    instance.seed({"totp": secrets})
    base = start_server().base_url
    detected = (datetime.now(UTC) - timedelta(hours=1)).astimezone(PARIS)

    with chromium() as browser:
        officer = french_page(browser)
        officer.set_default_timeout(10_000)
        log_in(officer, base, RSSI, secrets[RSSI])
        open_menu(officer, "Incidents")
        officer.click("#declare")
        expect(officer.locator("h1")).to_have_text("Déclarer un incident de sécurité")
        officer.fill("#title", "Rançongiciel sur le PACS")
        officer.fill("#detected_at", detected.strftime("%Y-%m-%dT%H:%M"))
        # The draft is saved as typed (htmx, on each change).
        expect(officer.locator("#autosave")).to_contain_text("Brouillon enregistré")
        officer.fill("#description", "Images inaccessibles, note de rançon.")
        officer.click("label[for=cat-care_safety]")  # DSFR: the label is the target
        officer.click("label[for=cat-operations]")  # DSFR: the label is the target
        officer.click("label[for=mal-yes]")  # DSFR: the label is the target
        officer.click("label[for=degraded_mode]")  # DSFR: the label is the target
        officer.fill("#measures_taken", "Réseau d'imagerie isolé.")
        officer.click("#submit")
        expect(officer.locator("#status")).to_have_text("Déclaré")
        heading = officer.locator("h1").inner_text()
        reference = re.search(r"INC-\d{4}-\d{5}", heading).group(0)  # type: ignore[union-attr]

        analyst = french_page(browser)
        analyst.set_default_timeout(10_000)
        log_in(analyst, base, ANALYST, secrets[ANALYST])
        analyst.goto(f"{base}/cyber/incidents")
        analyst.click(f"text={reference}")
        analyst.click("#acknowledge")
        expect(analyst.locator("#status")).to_have_text("Pris en compte")

        officer.reload()
        expect(officer.locator("#status")).to_have_text("Pris en compte")
        expect(officer.locator("#timeline")).to_contain_text("Nora Analyste")
