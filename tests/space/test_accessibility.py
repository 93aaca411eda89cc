"""Accessibility of the space's pages in a real Chromium: axe-core (the npm package pinned
in package.json, read from node_modules) runs in every page a citizen and a professional
go through — login, second factor, TOTP setup, the letter, every page of the space, each
measurement chart, the professional's side with and without access — and no violation of
impact "serious" or "critical" is allowed. Then the keyboard alone: a citizen uploads a
document and hides it with Tab, Space and Enter, and the focused control is visibly
outlined."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyotp
import pytest

from esante.space.profile import MEASURES
from tests.e2e.browser import browser_test, chromium, french_page, log_in
from tests.e2e.conftest import instance, start_server  # noqa: F401
from tests.e2e.server import PASSWORD, Instance, Server
from tests.fhir.conftest import INS_NIR, patient_body
from tests.space.conftest import pdf_bytes
from tests.space.test_browser import EMAIL, FINESS, PRO, RPPS, _prepare

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")
NEWCOMER = "louise@e2e.esante.fr"


@pytest.fixture(scope="module")
def axe_source() -> str:
    """axe-core's script. ``make install`` (npm ci) puts it in node_modules: its absence is
    a broken installation, not a reason to skip."""
    if not AXE.exists():
        pytest.fail(f"{AXE} absent: run `make install` (npm ci installs axe-core, a dev "
                    "dependency of package.json)")
    return AXE.read_text(encoding="utf-8")


def violations(page: Any, axe: str) -> list[str]:
    """axe-core's serious and critical violations of the page, one line each (rule, impact,
    the CSS targets of its nodes)."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        # Evaluated as a script from the test, not a <script> tag: the CSP is untouched.
        page.evaluate(axe)
    found = page.evaluate(
        """async () => {
             const r = await axe.run(document, {resultTypes: ['violations']});
             return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                            targets: v.nodes.map(n => n.target.join(' '))}));
           }""")
    return [f"{v['id']} ({v['impact']}: {v['help']}) → {', '.join(v['targets'][:5])}"
            for v in found if v["impact"] in BLOCKING or os.environ.get("AXE_ALL")]


class Audit:
    """Visits pages and gathers the blocking violations of each, to report them all."""

    def __init__(self, axe: str) -> None:
        self.axe = axe
        self.seen: list[str] = []
        self.failures: dict[str, list[str]] = {}

    def check(self, page: Any, label: str) -> None:
        page.wait_for_load_state("load")
        self.seen.append(f"{label} ({page.url})")
        found = violations(page, self.axe)
        if found:
            self.failures[f"{label} ({page.url})"] = found

    def visit(self, page: Any, url: str, label: str, status: int = 200) -> None:
        response = page.goto(url)
        assert response is not None and response.status == status, (
            f"{label}: {url} → {response and response.status}")
        self.check(page, label)

    def report(self) -> str:
        return "\n".join(f"{where}:\n  " + "\n  ".join(lines)
                         for where, lines in self.failures.items())


CITIZEN_PAGES = [
    ("/espace", "accueil"), ("/espace/documents", "documents"),
    ("/espace/profil", "profil"), ("/espace/agenda", "agenda"),
    ("/espace/confidentialite", "confidentialité"), ("/espace/historique", "historique"),
    ("/espace/historique?qui=moi&urgence=1&du=2020-01-01", "historique filtré"),
    ("/espace/cloture", "télécharger ou clôturer"), ("/espace/courrier", "courrier, espace actif"),
    ("/notifications", "notifications"),
    *((f"/espace/profil/mesures/{kind}", f"courbe {kind}") for kind in MEASURES)]


def _tour(audit: Audit, page: Any, base: str, variant: str) -> None:
    for url, label in CITIZEN_PAGES:
        audit.visit(page, base + url, label + variant)


@browser_test
def test_every_space_page_passes_axe(
        instance: Instance, start_server: Callable[..., Server], tmp_path: Path,  # noqa: F811
        axe_source: str) -> None:
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
    instance.cli("user", "create", "--email", NEWCOMER, "--password", PASSWORD, "--role",
                 "citizen", "--scope", "self", "--name", "Louise Petit")
    other = tmp_path / "other.ndjson"
    other.write_text(json.dumps(patient_body("Durand", "Paul") | {"id": "paul"}) + "\n")
    instance.cli("fhir", "load", str(other))
    document = tmp_path / "compte-rendu.pdf"
    document.write_bytes(pdf_bytes("Compte rendu"))
    base = start_server().base_url
    audit = Audit(axe_source)

    with chromium() as browser:
        # A citizen without a second factor yet: login, then the TOTP setup the space
        # sends her to.
        newcomer = french_page(browser)
        newcomer.set_default_timeout(10_000)
        audit.visit(newcomer, f"{base}/login", "connexion")
        newcomer.fill("#email", NEWCOMER)
        newcomer.fill("#password", "pas le bon mot de passe")
        newcomer.click("#login-submit")
        audit.check(newcomer, "connexion, mot de passe erroné")
        newcomer.fill("#email", NEWCOMER)
        newcomer.fill("#password", PASSWORD)
        newcomer.click("#login-submit")
        audit.visit(newcomer, f"{base}/espace/courrier", "courrier, sans espace")
        audit.visit(newcomer, f"{base}/account/totp?espace=1", "enregistrer le TOTP")

        citizen = french_page(browser)
        citizen.set_default_timeout(10_000)
        citizen.goto(f"{base}/login")
        citizen.fill("#email", EMAIL)
        citizen.fill("#password", PASSWORD)
        citizen.click("#login-submit")
        expect(citizen.locator("#code")).to_be_visible()
        audit.check(citizen, "second facteur")
        citizen.fill("#code", pyotp.TOTP(secret).now())
        citizen.click("#otp-submit")
        expect(citizen.locator("#header-user")).to_be_visible()

        citizen.goto(f"{base}/espace/courrier")
        citizen.fill("#ins", INS_NIR)
        citizen.fill("#code", "AAAA-AAAA-AAAA")
        citizen.click("button[value=activate]")
        expect(citizen.locator("#space-error")).to_be_visible()
        audit.check(citizen, "courrier, code erroné")
        citizen.fill("#ins", INS_NIR)
        citizen.fill("#code", code)
        citizen.click("button[value=activate]")
        expect(citizen).to_have_url(f"{base}/espace")

        # Something in every page: a document (then hidden), each measure, an entry
        # of the profile, an appointment, a block and a care-team member.
        citizen.goto(f"{base}/espace/documents")
        citizen.set_input_files("#file", str(document))
        citizen.fill("#title", "Compte rendu de consultation")
        citizen.click("#upload-form button[type=submit]")
        expect(citizen.locator("#space-ok")).to_be_visible()
        audit.check(citizen, "documents, après dépôt")
        citizen.locator("#documents tbody tr").first.locator("button").click()
        expect(citizen.locator("#space-ok")).to_contain_text("masqué")
        audit.check(citizen, "documents, un document masqué")
        audit.visit(citizen, f"{base}/espace/documents?categorie=autre",
                    "documents d'une catégorie")
        for kind, value in {"poids": "72,5", "taille": "168", "tension": "125",
                            "glycemie": "0,95", "pouls": "64"}.items():
            citizen.goto(f"{base}/espace/profil")
            citizen.select_option("#kind", kind)
            citizen.fill("#value", value)
            if kind == "tension":
                citizen.fill("#second", "80")
            citizen.click("#measure-form button[type=submit]")
            expect(citizen.locator("#space-ok")).to_be_visible()
            audit.check(citizen, f"courbe {kind}, après saisie")
        citizen.goto(f"{base}/espace/profil")
        citizen.fill("#value", "900")
        citizen.click("#measure-form button[type=submit]")
        expect(citizen.locator("#space-error")).to_be_visible()
        audit.check(citizen, "profil, valeur impossible")
        citizen.fill("#value", "25")
        citizen.click("#measure-form button[type=submit]")
        expect(citizen.locator("#confirm")).to_be_attached()
        audit.check(citizen, "profil, valeur à confirmer")
        citizen.fill("#text-allergies", "Pénicilline")
        citizen.click("#form-allergies button[type=submit]")
        expect(citizen.locator("#space-ok")).to_be_visible()
        citizen.goto(f"{base}/espace/agenda")
        citizen.fill("#day", "2030-01-15")
        citizen.fill("#hour", "09:30")
        citizen.fill("#what", "Consultation de suivi")
        citizen.click("#agenda-form button[type=submit]")
        expect(citizen.locator("#space-ok")).to_be_visible()
        audit.check(citizen, "agenda, après ajout")
        citizen.goto(f"{base}/espace/confidentialite")
        citizen.fill("#care-rpps", RPPS)
        citizen.click("#care-form button[type=submit]")
        expect(citizen.locator("#space-ok")).to_be_visible()
        audit.check(citizen, "confidentialité, équipe déclarée")

        _tour(audit, citizen, base, "")
        # The same pages in the dark theme (DSFR follows the system's) and on a phone.
        for label, options in (("sombre", {"color_scheme": "dark"}),
                               ("téléphone", {"viewport": {"width": 375, "height": 812},
                                              "is_mobile": True, "has_touch": True})):
            other_page = french_page(browser, **options)
            other_page.set_default_timeout(10_000)
            log_in(other_page, base, EMAIL, secret, landing=None)
            expect(other_page.locator("#header-user")).to_be_attached()
            if "color_scheme" in options:  # DSFR's script follows the system's theme
                expect(other_page.locator("html")).to_have_attribute(
                    "data-fr-theme", "dark")
            _tour(audit, other_page, base, f", {label}")
            other_page.context.close()
        citizen.goto(f"{base}/espace/cloture")
        citizen.click("#close-form button[type=submit]")
        expect(citizen.locator("#space-error")).to_be_visible()
        audit.check(citizen, "clôture sans confirmation")

        # The professional: the patient's page, granted by the declared care team; and
        # a record he has no access to, with its break-glass form and its error.
        pro = french_page(browser)
        pro.set_default_timeout(10_000)
        log_in(pro, base, PRO, pro_secret, landing=None)
        expect(pro.locator("#header-user")).to_be_visible()
        audit.visit(pro, f"{base}/espace/pro/camille", "professionnel, accès accordé")
        expect(pro.locator("#why")).to_be_visible()
        audit.visit(pro, f"{base}/espace/pro/paul", "professionnel, sans accès",
                    status=403)
        pro.click("#break-glass-form button")
        expect(pro.locator("#space-error")).to_be_visible()
        audit.check(pro, "professionnel, motif manquant")
        audit.visit(pro, f"{base}/espace/pro/inconnu", "professionnel, dossier inconnu",
                    status=404)

    assert len(audit.seen) >= 30, audit.seen
    assert not audit.failures, (
        f"axe-core: serious/critical violations in {len(audit.failures)} of "
        f"{len(audit.seen)} pages\n{audit.report()}")


def _focus_ring(page: Any) -> dict[str, str]:
    """The outline of the focused element, as computed by the browser."""
    return page.evaluate(  # type: ignore[no-any-return]
        """() => { const s = getComputedStyle(document.activeElement);
                   return {style: s.outlineStyle, width: s.outlineWidth,
                           tag: document.activeElement.tagName,
                           id: document.activeElement.id,
                           text: (document.activeElement.textContent || '').trim()}; }""")


def _tab_to(page: Any, selector: str, limit: int = 120) -> dict[str, str]:
    """Presses Tab until the element matched by selector has the focus (and fails if it
    is never reached): the element is reachable from the keyboard."""
    target = page.locator(selector).first
    for _ in range(limit):
        page.keyboard.press("Tab")
        if target.evaluate("el => el === document.activeElement"):
            ring = _focus_ring(page)
            assert ring["style"] not in ("none", "") and ring["width"] not in ("0px", ""), (
                f"{selector} has the focus but no visible outline: {ring}")
            return ring
    raise AssertionError(f"{selector} never got the focus with Tab")


@browser_test
def test_keyboard_only_upload_and_hide(
        instance: Instance, start_server: Callable[..., Server], tmp_path: Path) -> None:  # noqa: F811
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import expect

    secret, code = _prepare(instance, tmp_path)
    document = tmp_path / "ordonnance.pdf"
    document.write_bytes(pdf_bytes("Ordonnance"))
    base = start_server().base_url

    with chromium() as browser:
        page = french_page(browser)
        page.set_default_timeout(10_000)
        # Login and activation with the keyboard too.
        page.goto(f"{base}/login")
        _tab_to(page, "#email")
        page.keyboard.type(EMAIL)
        _tab_to(page, "#password")
        page.keyboard.type(PASSWORD)
        page.keyboard.press("Enter")
        expect(page.locator("#code")).to_be_visible()
        _tab_to(page, "#code")
        page.keyboard.type(pyotp.TOTP(secret).now())
        page.keyboard.press("Enter")
        expect(page.locator("#header-user")).to_be_visible()
        page.goto(f"{base}/espace/courrier")
        _tab_to(page, "#ins")
        page.keyboard.type(INS_NIR)
        _tab_to(page, "#code")
        page.keyboard.type(code)
        _tab_to(page, "button[value=activate]")
        page.keyboard.press("Enter")
        expect(page).to_have_url(f"{base}/espace")

        # The skip link comes first and leads to the content.
        page.keyboard.press("Tab")
        assert _focus_ring(page)["text"] == "Contenu"
        # The space's menu reaches the documents.
        _tab_to(page, "#space-nav a[href='/espace/documents']")
        page.keyboard.press("Enter")
        expect(page).to_have_url(f"{base}/espace/documents")

        # The file input opens the system's chooser on Space: Playwright answers it.
        _tab_to(page, "#file")
        try:
            with page.expect_file_chooser(timeout=15_000) as chooser:
                page.keyboard.press("Space")
        except PlaywrightTimeout:  # a loaded machine's Chromium lost the key: once more
            with page.expect_file_chooser(timeout=30_000) as chooser:
                page.keyboard.press("Space")
        chooser.value.set_files(str(document))
        _tab_to(page, "#title")
        page.keyboard.type("Ordonnance au clavier")
        _tab_to(page, "#category")
        page.keyboard.press("ArrowDown")  # the second category: ordonnances
        expect(page.locator("#category")).to_have_value("ordonnance")
        _tab_to(page, "#upload-form button[type=submit]")
        page.keyboard.press("Enter")
        expect(page.locator("#space-ok")).to_have_text("Document ajouté.")
        row = page.locator("#documents tbody tr").first
        expect(row).to_contain_text("Ordonnance au clavier")

        _tab_to(page, "#documents tbody tr:first-child button")
        page.keyboard.press("Enter")
        expect(page.locator("#space-ok")).to_contain_text("masqué aux professionnels")
        expect(page.locator("#documents tbody tr").first).to_contain_text("masqué")

