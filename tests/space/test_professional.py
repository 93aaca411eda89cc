"""The professional's side through the pages: why she has access, what a hidden document
or a block removes, break-glass with a reason and the citizen told at once."""

from __future__ import annotations

from sqlalchemy import select

from esante.core.notifications.models import Notification
from tests.core.test_auth import csrf_of, login
from tests.space.conftest import pdf_bytes


def test_professional_view_and_break_glass(client, personas, space, db) -> None:
    auth = personas.auth("citizen")
    shown = client.post("/api/space/documents", headers=auth, data={"title": "Radio"},
                        files={"file": ("r.pdf", pdf_bytes(), "application/pdf")}).json()["fid"]
    hidden = client.post("/api/space/documents", headers=auth, data={"title": "Secret"},
                         files={"file": ("s.pdf", pdf_bytes(), "application/pdf")}).json()["fid"]
    client.post(f"/api/space/documents/{hidden}/hide", json={"hidden": True}, headers=auth)
    assert shown
    login(client, personas, "doctor")
    page = client.get(f"/espace/pro/{space.patient}")
    assert page.status_code == 200
    assert "création du dossier" in page.text and "Radio" in page.text
    assert "Secret" not in page.text
    client.cookies.clear()

    login(client, personas, "other_doctor")
    page = client.get(f"/espace/pro/{space.patient}")
    assert "break-glass-form" in page.text, page.text[-3000:]
    assert page.status_code == 403 and "Radio" not in page.text
    csrf = csrf_of(page.text)
    r = client.post(f"/espace/pro/{space.patient}/urgence",
                    data={"csrf_token": csrf, "reason": "vite"})
    assert "motif d&#39;au moins 10 caractères" in r.text
    r = client.post(f"/espace/pro/{space.patient}/urgence",
                    data={"csrf_token": csrf, "reason": "patiente inconsciente aux urgences"})
    assert r.status_code == 200 and "bris de glace" in r.text and "Radio" in r.text
    notes = db.scalars(select(Notification).where(
        Notification.user_id == personas.users["citizen"].id)).all()
    assert any("inconsciente" in n.body for n in notes)


def test_a_blocked_professional_gets_nothing_even_in_emergency(client, personas, space) -> None:
    client.post("/api/space/privacy/blocks", json={"rpps": personas.users["doctor"].rpps},
                headers=personas.auth("citizen"))
    login(client, personas, "doctor")
    page = client.get(f"/espace/pro/{space.patient}")
    assert page.status_code == 403 and "Camille" not in page.text
    r = client.post(f"/espace/pro/{space.patient}/urgence",
                    data={"csrf_token": csrf_of(page.text),
                          "reason": "patiente inconsciente aux urgences"})
    assert "accès refusé" in r.text and "Camille" not in r.text
