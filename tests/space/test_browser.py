"""A real Chromium: the citizen logs in (password + TOTP), activates her space with the
letter's code, uploads a PDF, hides it from professionals, downloads everything."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyotp

from esante.core.identifiers import finess_key, rpps_key
from tests.e2e.browser import browser_test, chromium, french_page, log_in
from tests.e2e.conftest import instance, start_server  # noqa: F401
from tests.e2e.server import PASSWORD, Instance, Server
from tests.fhir.conftest import INS_NIR, patient_body
from tests.space.conftest import pdf_bytes

EMAIL = "camille@e2e.esante.fr"
PRO = "dr.roux@e2e.esante.fr"
FINESS = "75000042" + finess_key("75000042")
RPPS = "10000000001"[:10] + rpps_key("1000000000")


def _prepare(inst: Instance, tmp_path: Path) -> tuple[str, str]:
    """Camille's account (TOTP), her record (qualified INS) and her letter's code."""
    inst.cli("user", "create", "--email", EMAIL, "--password", PASSWORD, "--role",
             "citizen", "--scope", "self", "--name", "Camille Martin")
    secret = pyotp.random_base32()
    inst.seed({"totp": {EMAIL: secret}})
    record = tmp_path / "patient.ndjson"
    record.write_text(json.dumps(patient_body(ins=INS_NIR) | {"id": "camille"}) + "\n")
    inst.cli("fhir", "load", str(record))
    out = inst.cli("space", "provision").stdout
    code = re.search(r"code ([A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4})", out).group(1)  # type: ignore[union-attr]
    return secret, code


def activate(page: Any, base: str, code: str, *, then: str = "/espace") -> None:
    """The letter's code and the INS typed on the letter page; lands on ``then``."""
    from playwright.sync_api import expect

    page.goto(f"{base}/espace/courrier")
    page.fill("#ins", INS_NIR)
    page.fill("#code", code)
    page.click("button[value=activate]")
    expect(page).to_have_url(f"{base}{then}")


@browser_test
def test_citizen_activates_uploads_hides_downloads_and_closes(
        instance: Instance, start_server: Callable[..., Server], tmp_path: Path) -> None:  # noqa: F811
    from playwright.sync_api import expect

    secret, code = _prepare(instance, tmp_path)
    document = tmp_path / "ordonnance.pdf"
    document.write_bytes(pdf_bytes("Ordonnance"))
    base = start_server().base_url

    with chromium() as browser:
        page = french_page(browser, accept_downloads=True)
        page.set_default_timeout(10_000)
        log_in(page, base, EMAIL, secret, landing=None)
        page.goto(f"{base}/espace")
        expect(page).to_have_url(f"{base}/espace/courrier")
        page.fill("#ins", INS_NIR)
        page.fill("#code", "AAAA-AAAA-AAAA")
        page.click("button[value=activate]")
        expect(page.locator("#space-error")).to_contain_text("encore 4 essai(s)")
        page.fill("#ins", INS_NIR)
        page.fill("#code", code)
        page.click("button[value=activate]")
        expect(page).to_have_url(f"{base}/espace")
        expect(page.locator("h1")).to_have_text("Mon espace santé")

        page.goto(f"{base}/espace/documents")
        page.set_input_files("#file", str(document))
        page.fill("#title", "Ordonnance du Dr Petit")
        page.select_option("#category", "ordonnance")
        page.click("#upload-form button[type=submit]")
        expect(page.locator("#space-ok")).to_have_text("Document ajouté.")
        row = page.locator("#documents tbody tr").first
        expect(row).to_contain_text("Ordonnance du Dr Petit")
        row.locator("button").click()
        expect(page.locator("#space-ok")).to_contain_text("masqué aux professionnels")
        expect(page.locator("#documents tbody tr").first).to_contain_text("masqué")

        page.goto(f"{base}/espace/cloture")
        with page.expect_download() as download:
            page.click("#download")
        saved = tmp_path / "archive.zip"
        download.value.save_as(saved)
        import zipfile

        with zipfile.ZipFile(saved) as z:
            assert "bundle.json" in z.namelist()
            assert any(n.endswith("-ordonnance.pdf") for n in z.namelist())

        # Closing without confirming changes nothing; confirmed, the space is closed.
        page.goto(f"{base}/espace/cloture")
        expect(page.locator("#exported")).to_be_visible()  # the download is recorded
        page.click("#close-form button[type=submit]")
        expect(page.locator("#space-error")).to_be_visible()
        page.goto(f"{base}/espace")
        expect(page).to_have_url(f"{base}/espace")  # still open
        page.goto(f"{base}/espace/cloture")
        page.click("label[for=confirm]")  # DSFR draws the box on the label
        expect(page.locator("#confirm")).to_be_checked()
        page.click("#close-form button[type=submit]")
        expect(page.locator("#space-ok")).to_contain_text("Votre espace est clôturé")
        page.goto(f"{base}/espace/documents")
        expect(page.locator("#documents")).to_have_count(0)  # no space any more


@browser_test
def test_break_glass_notifies_the_citizen_who_then_blocks_the_professional(
        instance: Instance, start_server: Callable[..., Server], tmp_path: Path) -> None:  # noqa: F811
    from playwright.sync_api import expect

    secret, code = _prepare(instance, tmp_path)
    instance.seed({"regions": True, "establishments": [
        {"finess": FINESS, "name": "CHU de Paris-E2E", "category": "CHU",
         "department": "75", "town": "Paris"}]})
    instance.cli("user", "create", "--email", PRO, "--password", PASSWORD, "--role",
                 "professional", "--scope", f"establishment:{FINESS}", "--name",
                 "Dr Paul Roux", "--rpps", RPPS)
    pro_secret = pyotp.random_base32()
    instance.seed({"totp": {PRO: pro_secret}})
    base = start_server().base_url

    with chromium() as browser:
        citizen = french_page(browser)
        citizen.set_default_timeout(10_000)
        log_in(citizen, base, EMAIL, secret, landing=None)
        activate(citizen, base, code)

        pro = french_page(browser)
        pro.set_default_timeout(10_000)
        log_in(pro, base, PRO, pro_secret, landing=None)
        pro.goto(f"{base}/espace/pro/camille")
        expect(pro.locator("#no-access")).to_be_visible()
        pro.click("#break-glass-form button")
        expect(pro.locator("#space-error")).to_contain_text("motif d'au moins 10 caractères")
        pro.fill("#reason", "Patiente inconsciente admise aux urgences")
        pro.click("#break-glass-form button")
        expect(pro.locator("#space-ok")).to_contain_text("le patient en est informé")
        expect(pro.locator("#why")).to_contain_text("bris de glace")

        # The citizen is told at once, and sees it highlighted in her history.
        citizen.goto(f"{base}/notifications")
        expect(citizen.locator("body")).to_contain_text("Accès d'urgence à votre dossier")
        citizen.goto(f"{base}/espace/historique?urgence=1")
        expect(citizen.locator("#history tbody tr.break-glass").first).to_contain_text(
            "Dr Paul Roux")
        # She blocks him: he sees nothing any more, not even through an emergency.
        citizen.goto(f"{base}/espace/confidentialite")
        citizen.fill("#block-rpps", RPPS)
        citizen.click("#block-form button")
        expect(citizen.locator("#choices")).to_contain_text(f"RPPS {RPPS}")
        pro.goto(f"{base}/espace/pro/camille")
        expect(pro.locator("#no-access")).to_be_visible()
        pro.fill("#reason", "Patiente inconsciente admise aux urgences")
        pro.click("#break-glass-form button")
        expect(pro.locator("#space-error")).to_contain_text("accès refusé")
