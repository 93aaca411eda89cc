"""A real Chromium logs a professional in (password, then TOTP) against a real server
process, reads the header, logs out; then a wrong password gets a French error."""

from __future__ import annotations

import re
from collections.abc import Callable

import pyotp

from esante.core.identifiers import finess_key
from tests.e2e.browser import chromium
from tests.e2e.browser import pytestmark as browser_marks
from tests.e2e.server import PASSWORD, Instance, Server

pytestmark = browser_marks

FINESS = "75000042" + finess_key("75000042")
EMAIL = "dr.lemaire@e2e.esante.fr"
NAME = "Dr Jeanne Lemaire"


def test_professional_logs_in_with_totp_and_out(
        instance: Instance, start_server: Callable[..., Server]) -> None:
    from playwright.sync_api import expect

    instance.seed({"regions": True, "establishments": [
        {"finess": FINESS, "name": "CHU de Paris-E2E", "category": "CHU",
         "department": "75", "town": "Paris"}]})
    instance.cli("user", "create", "--email", EMAIL, "--password", PASSWORD,
                 "--role", "professional", "--scope", f"establishment:{FINESS}",
                 "--name", NAME)
    secret = pyotp.random_base32()
    instance.seed({"totp": {EMAIL: secret}})
    server = start_server()
    base = server.base_url

    with chromium() as browser:
        context = browser.new_context(locale="fr-FR")
        page = context.new_page()
        page.set_default_timeout(10_000)

        # Anonymous: the home page sends to the login form.
        page.goto(f"{base}/")
        expect(page).to_have_url(f"{base}/login")
        expect(page.locator("h1")).to_have_text("Connexion à esante")

        page.fill("#email", EMAIL)
        page.fill("#password", PASSWORD)
        page.click("#login-submit")

        # The password alone is not enough: the second-factor page.
        expect(page).to_have_url(re.compile(re.escape(f"{base}/login/otp")))
        expect(page.locator("h1")).to_have_text("Second facteur")
        expect(page.locator("#header-user")).to_have_count(0)  # not logged in yet
        # The session cookie went back through the redirect: Chromium keeps a Secure
        # cookie on http://127.0.0.1 (a secure context), so no cookie_secure=false.
        cookie = next(c for c in context.cookies() if c["name"] == "esante_session")
        assert cookie["secure"] and cookie["httpOnly"] and cookie["sameSite"] == "Lax"

        page.fill("#code", pyotp.TOTP(secret).now())
        page.click("#otp-submit")

        expect(page).to_have_url(f"{base}/")
        # The header names the user, and the role with its scope.
        role = f"Professionnel de santé ({FINESS})"
        expect(page.locator("#header-user")).to_contain_text(NAME)
        expect(page.locator("#header-scope")).to_have_text(role)
        expect(page.locator("#welcome")).to_have_text(f"Bonjour {NAME}")
        expect(page.locator("#scope")).to_have_text(role)
        expect(page.locator("text=CHU de Paris-E2E")).to_be_visible()

        page.click("#logout")
        expect(page).to_have_url(f"{base}/login?bye=1")
        expect(page.locator(".fr-alert--success")).to_have_text("Vous êtes déconnecté.")
        expect(page.locator("#header-user")).to_have_count(0)
        # The session is gone on the server too: home sends back to the login form.
        page.goto(f"{base}/")
        expect(page).to_have_url(f"{base}/login")

        # A wrong password: a French error, the address kept, still on the login form.
        page.fill("#email", EMAIL)
        page.fill("#password", "pas-le-bon-mot-de-passe")
        with page.expect_response(f"{base}/login") as answer:
            page.click("#login-submit")
        assert answer.value.status == 401
        expect(page.locator("#login-error")).to_have_text(
            "identifiant ou mot de passe incorrect")
        expect(page.locator("#email")).to_have_value(EMAIL)
        expect(page.locator("#header-user")).to_have_count(0)
