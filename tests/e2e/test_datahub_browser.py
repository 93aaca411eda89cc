"""A real Chromium: the hub's reviewer launches the extract of an approved project from its
page; the project page then shows the run with its risk report, which opens as a page with
links to its JSON and PDF; the timeline records the extract."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
import pyotp
import pytest

from esante.datahub.demo import RESEARCHER, REVIEWER
from tests.e2e.browser import chromium, french_page, log_in, pytestmark  # noqa: F401
from tests.e2e.server import PASSWORD, Instance, Server


@pytest.mark.e2e
def test_reviewer_launches_an_extract_and_reads_its_report(
        instance: Instance, start_server: Callable[..., Server]) -> None:
    from playwright.sync_api import expect

    instance.env["ESANTE_DATAHUB_TTP_SECRET_FILE"] = str(instance.data_dir / "ttp" / "master.key")
    instance.cli("datahub", "ttp-init")
    instance.cli("user", "create", "--email", RESEARCHER, "--password", PASSWORD,
                 "--role", "researcher", "--name", "Sofia Chevalier")
    instance.cli("user", "create", "--email", REVIEWER, "--password", PASSWORD,
                 "--role", "datahub_reviewer", "--name", "Marc Évaluateur")
    secret = pyotp.random_base32()
    instance.seed({"totp": {REVIEWER: secret}, "datahub": True})
    base = start_server().base_url

    with chromium() as browser:
        page = french_page(browser)
        page.set_default_timeout(15_000)
        log_in(page, base, REVIEWER, secret)
        page.goto(f"{base}/donnees-de-sante/projets?statut=approved")
        page.click("text=Consommation d'antalgiques opioïdes en ville")
        expect(page.locator("#project-status")).to_have_text("Autorisé")
        page.select_option("#engine", "duckdb")
        page.click("#extract-launch")  # a small extract: it runs in the request
        row = page.locator("#extracts tbody tr").first
        expect(row).to_contain_text("Terminée", timeout=180_000)
        expect(row).to_contain_text("synth_people : k = ")
        expect(page.locator("#timeline")).to_contain_text("Extraction")
        expect(page.locator("#timeline")).to_contain_text("Marc Évaluateur")
        row.locator("a.report-page").click()
        expect(page.locator("#risk-report h2")).to_contain_text("Rapport de risque")
        expect(page.locator("#risk-report")).to_contain_text("Individualisation")
        json_href = page.get_attribute("a:has-text('Rapport JSON')", "href")
        pdf_href = page.get_attribute("a:has-text('Rapport PDF')", "href")
        assert json_href and pdf_href and re.search(r"/extractions/\d+/rapport\.json$",
                                                    json_href)
        cookies = {c["name"]: c["value"] for c in page.context.cookies()}
        data = httpx.get(base + json_href, cookies=cookies).json()
        assert all(t["k_reached"] >= 10 for t in data["tables"])
        pdf = httpx.get(base + pdf_href, cookies=cookies)
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
