"""A real Chromium: the citizen logs in (password + TOTP), activates her space with the
letter's code, uploads a PDF, hides it from professionals, downloads everything."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pyotp

from tests.e2e.conftest import instance, start_server  # noqa: F401
from tests.e2e.server import PASSWORD, Instance, Server
from tests.e2e.test_browser_login import CHROMIUM, CHROMIUM_ARGS, browser_test
from tests.fhir.conftest import INS_NIR, patient_body
from tests.space.conftest import pdf_bytes

EMAIL = "camille@e2e.esante.fr"


@browser_test
def test_citizen_activates_uploads_hides_and_downloads(
        instance: Instance, start_server: Callable[..., Server], tmp_path: Path) -> None:  # noqa: F811
    from playwright.sync_api import expect, sync_playwright

    instance.cli("user", "create", "--email", EMAIL, "--password", PASSWORD, "--role",
                 "citizen", "--scope", "self", "--name", "Camille Martin")
    secret = pyotp.random_base32()
    instance.seed({"totp": {EMAIL: secret}})
    record = tmp_path / "patient.ndjson"
    record.write_text(json.dumps(patient_body(ins=INS_NIR) | {"id": "camille"}) + "\n")
    instance.cli("fhir", "load", str(record))
    out = instance.cli("space", "provision").stdout
    code = re.search(r"code ([A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4})", out).group(1)  # type: ignore[union-attr]
    document = tmp_path / "ordonnance.pdf"
    document.write_bytes(pdf_bytes("Ordonnance"))
    base = start_server().base_url

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(locale="fr-FR", accept_downloads=True).new_page()
            page.set_default_timeout(10_000)
            page.goto(f"{base}/login")
            page.fill("#email", EMAIL)
            page.fill("#password", PASSWORD)
            page.click("#login-submit")
            page.fill("#code", pyotp.TOTP(secret).now())
            page.click("#otp-submit")
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
        finally:
            browser.close()
