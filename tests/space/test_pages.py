"""The space's pages, as the citizen uses them: the letter, then the second factor, then
her documents (upload, open, hide), her privacy choices, her access history and closure."""

from __future__ import annotations

import pyotp

from esante.core.accounts.models import User
from tests.core.test_auth import csrf_of, post_otp, post_password
from tests.fhir.conftest import INS_NIR
from tests.space.conftest import pdf_bytes, second_factor


def _login(client, personas, db, secret: str | None = None):  # type: ignore[no-untyped-def]
    r = post_password(client, "citizen@test.esante.fr")
    if secret:
        r = post_otp(client, pyotp.TOTP(secret).now())
    assert r.status_code == 303, r.text


def test_letter_then_second_factor_then_documents(client, personas, letter, db) -> None:
    _login(client, personas, db)
    page = client.get("/espace", follow_redirects=False)
    assert page.headers["location"] == "/espace/courrier"
    form = client.get("/espace/courrier")
    csrf = csrf_of(form.text)
    bad = client.post("/espace/courrier", data={"csrf_token": csrf, "ins": INS_NIR,
                                                "code": "AAAA-AAAA-AAAA", "action": "activate"})
    assert "INS ou code d&#39;activation incorrect (encore 4 essai(s))" in bad.text
    r = client.post("/espace/courrier", data={"csrf_token": csrf, "ins": INS_NIR,
                                              "code": letter.code, "action": "activate"},
                    follow_redirects=False)
    assert r.headers["location"] == "/espace/second-facteur"
    # Without a second factor the space stays shut: she picks TOTP or an e-mailed code.
    assert client.get("/espace", follow_redirects=False).headers["location"] \
        == "/espace/second-facteur"
    choice = client.get("/espace/second-facteur")
    assert 'href="/account/totp?espace=1"' in choice.text and "code par courriel" in choice.text
    secret = second_factor(db, personas)
    client.cookies.clear()
    _login(client, personas, db, secret)
    home = client.get("/espace")
    assert home.status_code == 200 and "Mon espace santé" in home.text
    assert "Applications connectées" in home.text
    from esante.messaging.mailboxes import citizen_address

    assert citizen_address(INS_NIR) in home.text  # her mailbox opened with the space
    csrf = csrf_of(home.text)
    up = client.post("/espace/documents", data={"csrf_token": csrf, "category": "biologie",
                                                "title": "Bilan sanguin", "when": "2026-11-03"},
                     files={"file": ("bilan.pdf", pdf_bytes(), "application/pdf")},
                     follow_redirects=False)
    assert up.headers["location"] == "/espace/documents?ok=upload"
    listing = client.get("/espace/documents?categorie=biologie")
    assert "Bilan sanguin" in listing.text and "Biologie" in listing.text
    bad = client.post("/espace/documents", data={"csrf_token": csrf},
                      files={"file": ("x.pdf", b"hello", "application/pdf")})
    assert "seuls les PDF, JPEG et PNG" in bad.text
    history = client.get("/espace/historique")
    assert history.status_code == 200 and "ajout" in history.text
    csv = client.get("/espace/historique.csv")
    assert csv.headers["content-type"].startswith("text/csv")
    closing = client.post("/espace/cloture", data={"csrf_token": csrf}, follow_redirects=True)
    assert "confirmez la clôture" in closing.text
    assert db.get(User, personas.users["citizen"].id) is not None
