"""A real Chromium on a real server: a doctor finds a colleague in the directory from the
compose form (htmx look-up), sends a message with a PDF and asks for a read receipt; the
colleague reads it in her inbox, an image and the PDF previewed in the page, puts it in the
trash and takes it back; the doctor then sees the read receipt."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pyotp

from esante.core.identifiers import finess_key
from tests.e2e.browser import browser_test, chromium, french_page, log_in
from tests.e2e.conftest import instance, start_server  # noqa: F401 - the fixtures
from tests.e2e.server import PASSWORD, Instance, Server
from tests.messaging.test_pages import PNG

FINESS = "75000042" + finess_key("75000042")
DOCTOR, COLLEAGUE = "dr.lemaire@e2e.esante.fr", "dr.roux@e2e.esante.fr"


@browser_test
def test_compose_with_directory_lookup_read_and_receipt(
        instance: Instance, start_server: Callable[..., Server],  # noqa: F811
        tmp_path: Path) -> None:
    from playwright.sync_api import expect

    instance.seed({"regions": True, "establishments": [
        {"finess": FINESS, "name": "CHU de Paris-E2E", "category": "CHU",
         "department": "75", "town": "Paris"}]})
    secrets = {}
    for email, name in ((DOCTOR, "Dr Jeanne Lemaire"), (COLLEAGUE, "Dr Paul Roux")):
        instance.cli("user", "create", "--email", email, "--password", PASSWORD, "--role",
                     "professional", "--scope", f"establishment:{FINESS}", "--name", name)
        secrets[email] = pyotp.random_base32()
    instance.cli("user", "create", "--email", "admin@e2e.esante.fr", "--password", PASSWORD,
                 "--role", "admin")
    instance.seed({"totp": secrets})
    instance.cli("messaging", "mailbox-create", "jeanne.lemaire", "--owner", DOCTOR, "--name",
                 "Dr Jeanne Lemaire", "--as", "admin@e2e.esante.fr")
    instance.cli("messaging", "mailbox-create", "paul.roux", "--owner", COLLEAGUE, "--name",
                 "Dr Paul Roux", "--profession", "Cardiologue", "--town", "Paris",
                 "--as", "admin@e2e.esante.fr")
    pdf = tmp_path / "compte-rendu.pdf"
    pdf.write_bytes(b"%PDF-1.4 compte rendu")
    png = tmp_path / "ecg.png"
    png.write_bytes(PNG)
    base = start_server().base_url

    with chromium() as browser:
        page = french_page(browser)
        console: list[str] = []
        page.on("console", lambda m: console.append(m.text))
        page.set_default_timeout(10_000)
        log_in(page, base, DOCTOR, secrets[DOCTOR])
        page.goto(f"{base}/messagerie/nouveau")
        page.locator("#lookup").press_sequentially("Roux")
        page.locator("#directory-rows button", has_text="Dr Paul Roux").click()
        expect(page.locator("#to")).to_have_value("paul.roux@mss.esante.localhost")
        page.fill("#subject", "Avis cardiologique")
        page.fill("#text", "Merci de voir ce patient.")
        page.set_input_files("#pieces", [str(pdf), str(png)])
        page.check("#mdn", force=True)
        page.click("#send")
        expect(page.locator(".fr-alert--success")).to_have_text("Message envoyé.")
        page.click("#logout")

        log_in(page, base, COLLEAGUE, secrets[COLLEAGUE])
        page.goto(f"{base}/messagerie")
        page.click("text=Avis cardiologique")
        expect(page.locator("#body")).to_contain_text("Merci de voir ce patient.")
        expect(page.locator("#attachments")).to_contain_text("compte-rendu.pdf")
        # The previews, under the page's CSP: the image drawn, the PDF served inline.
        image = page.locator("#preview-1 img")
        expect(image).to_be_visible()
        page.wait_for_function("document.querySelector('#preview-1 img').complete")
        assert image.evaluate("img => img.naturalWidth") == 1
        frame = page.locator("#preview-0 iframe")
        expect(frame).to_have_attribute("src", re.compile(r"/pieces/0/apercu$"))
        served = page.request.get(base + str(frame.get_attribute("src")))
        assert served.headers["content-type"] == "application/pdf"
        assert served.headers["content-disposition"].startswith("inline")
        assert not [m for m in console if "Content Security Policy" in m]
        # To the trash and back.
        page.click("#delete")
        expect(page.locator("#deleted-notice")).to_contain_text("placé dans la corbeille")
        expect(page.locator("#messages")).not_to_contain_text("Avis cardiologique")
        page.click("#folder-trash")
        page.click("text=Avis cardiologique")
        expect(page.locator("#deleted")).to_contain_text("dans la corbeille depuis le")
        page.click("#restore")
        expect(page.locator("#delete")).to_be_visible()
        page.click("#logout")

        log_in(page, base, DOCTOR, secrets[DOCTOR])
        page.goto(f"{base}/messagerie")
        expect(page.locator("#messages")).to_contain_text("accusé de lecture")
