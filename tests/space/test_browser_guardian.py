"""A real Chromium: a parent opens her child's space from the selector, sees the
delegation, adds and opens a document there; a citizen without TOTP opens her space with
a code e-mailed through a real SMTP server."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Callable
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pyotp
from aiosmtpd.controller import Controller

from tests.e2e.browser import browser_test, chromium, french_page, log_in
from tests.e2e.conftest import instance, start_server  # noqa: F401
from tests.e2e.server import PASSWORD, Instance, Server
from tests.fhir.conftest import INS_NIR, patient_body
from tests.space.conftest import pdf_bytes
from tests.space.test_browser import EMAIL, activate

MINOR_INS = "190017512345655"


def _code_of(out: str) -> str:
    return re.search(r"code ([A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4})", out).group(1)  # type: ignore[union-attr]


@browser_test
def test_guardian_opens_the_child_space_sees_the_delegation_and_a_document(
        instance: Instance, start_server: Callable[..., Server], tmp_path: Path) -> None:  # noqa: F811
    from playwright.sync_api import expect

    instance.cli("user", "create", "--email", EMAIL, "--password", PASSWORD, "--role",
                 "citizen", "--scope", "self", "--name", "Camille Martin")
    secret = pyotp.random_base32()
    instance.seed({"totp": {EMAIL: secret}})
    records = tmp_path / "patients.ndjson"
    records.write_text("\n".join(json.dumps(body) for body in (
        patient_body(ins=INS_NIR) | {"id": "camille"},
        patient_body("Petit", "Léa", ins=MINOR_INS, birth="2015-06-01") | {"id": "lea"},
    )) + "\n")
    instance.cli("fhir", "load", str(records))
    own_code = _code_of(instance.cli("space", "provision").stdout)
    instance.cli("space", "guardian", "add", "--patient", "lea", "--user", EMAIL,
                 "--proof", "livret de famille", "--since", "2015-06-01")
    document = tmp_path / "carnet.pdf"
    document.write_bytes(pdf_bytes("Carnet de vaccination"))
    base = start_server().base_url

    with chromium() as browser:
        context = browser.new_context(locale="fr-FR")
        page = context.new_page()
        page.set_default_timeout(10_000)
        log_in(page, base, EMAIL, secret, landing=None)
        activate(page, base, own_code)
        expect(page.locator("#space-owner")).to_have_text("Camille Martin")

        # The selector: "Moi" or Léa.
        page.select_option("#espace", label="Léa Petit")
        page.click("#space-switch button[type=submit]")
        expect(page.locator("h1")).to_have_text("Espace santé de Léa Petit")
        expect(page.locator("#space-whose")).to_contain_text("tuteur légal")

        page.click("#space-nav >> text=Tuteurs")
        row = page.locator("#delegation tbody tr").first
        expect(row).to_contain_text("Camille Martin (vous)")
        expect(row).to_contain_text("livret de famille")
        expect(row).to_contain_text("01/06/2015")

        page.click("#space-nav >> text=Documents")
        expect(page.locator("#space-owner")).to_have_text("Léa Petit")
        page.set_input_files("#file", str(document))
        page.fill("#title", "Carnet de vaccination")
        page.select_option("#category", "vaccination")
        page.click("#upload-form button[type=submit]")
        expect(page.locator("#space-ok")).to_have_text("Document ajouté.")
        link = page.locator("#documents tbody tr").first.locator("a")
        expect(link).to_have_text("Carnet de vaccination")
        with context.expect_page() as opened:
            link.click()
        tab = opened.value
        tab.wait_for_load_state()
        assert re.search(r"/espace/documents/[^/]+$", tab.url)
        href = link.get_attribute("href")
        got = page.request.get(f"{base}{href}")
        assert got.status == 200 and got.headers["content-type"] == "application/pdf"
        assert got.body().startswith(b"%PDF-")

        # Back to her own space: the document is not there.
        page.goto(f"{base}/espace/documents")
        page.select_option("#espace", label="Moi")
        page.click("#space-switch button[type=submit]")
        expect(page.locator("h1")).to_have_text("Mon espace santé")
        page.goto(f"{base}/espace/documents")
        expect(page.locator("#documents tbody")).to_contain_text("Aucun document.")


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]  # noqa: N802
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


@browser_test
def test_citizen_opens_her_space_with_an_e_mailed_code(
        instance: Instance, start_server: Callable[..., Server], tmp_path: Path) -> None:  # noqa: F811
    from playwright.sync_api import expect

    instance.cli("user", "create", "--email", EMAIL, "--password", PASSWORD, "--role",
                 "citizen", "--scope", "self", "--name", "Camille Martin")
    record = tmp_path / "patient.ndjson"
    record.write_text(json.dumps(patient_body(ins=INS_NIR) | {"id": "camille"}) + "\n")
    instance.cli("fhir", "load", str(record))
    code = _code_of(instance.cli("space", "provision").stdout)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inbox = _Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=port)
    smtp.start()
    instance.env.update({"ESANTE_SMTP_HOST": "127.0.0.1", "ESANTE_SMTP_PORT": str(port),
                         "ESANTE_SMTP_STARTTLS": "false"})
    base = start_server().base_url

    try:
        with chromium() as browser:
            page = french_page(browser)
            page.set_default_timeout(10_000)
            page.goto(f"{base}/login")
            page.fill("#email", EMAIL)
            page.fill("#password", PASSWORD)
            page.click("#login-submit")  # no TOTP: signed in with the password alone
            activate(page, base, code, then="/espace/second-facteur")
            page.click("#mail-send button")
            expect(page.locator("#space-ok")).to_contain_text("code à 6 chiffres")
            assert len(inbox.messages) == 1
            mail = inbox.messages[0]
            assert mail["To"] == EMAIL
            sent = re.search(r"\b(\d{6})\b", mail.get_content()).group(1)  # type: ignore[union-attr]
            page.fill("#mail-code", "000000" if sent != "000000" else "111111")
            page.click("#mail-verify button")
            expect(page.locator("#space-error")).to_contain_text("encore 4 essai(s)")
            page.fill("#mail-code", sent)
            page.click("#mail-verify button")
            expect(page).to_have_url(f"{base}/espace")
            expect(page.locator("h1")).to_have_text("Mon espace santé")
            page.goto(f"{base}/espace/documents")
            expect(page.locator("h1")).to_have_text("Mes documents")
    finally:
        smtp.stop()
