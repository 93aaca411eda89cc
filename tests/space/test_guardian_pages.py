"""Guardians through the pages: a parent switches /espace to her child's space (the page
says whose space it is), sees the delegation, manages the child's documents, every
opening audited as the guardian acting for the child; a guardian of child A never
reaches child B; an ended guardianship gives nothing. At 18 the space is the holder's:
her former guardians see nothing, unless she grants one of them read access, from which
she can hide documents (Consents enforced by the FHIR access layer)."""

from __future__ import annotations

from datetime import date
from unittest import mock

import pytest
from sqlalchemy import func, select

from esante.core.accounts import service as accounts
from esante.core.accounts.models import User
from esante.core.audit import Actor, AuditEvent
from esante.core.policy import Principal
from esante.space import guardians, service
from esante.space.models import Space
from tests.core.test_auth import csrf_of, post_otp, post_password
from tests.factories import PASSWORD, _password_hash
from tests.fhir.conftest import observation_body
from tests.space.conftest import pdf_bytes, second_factor

INS_A = "190017512345655"
INS_B = "290037512345637"
BORN = "2015-06-01"


def _citizen(db, personas, name: str) -> User:  # type: ignore[no-untyped-def]
    """Another citizen account, with a token and a TOTP, known to the personas."""
    actor = Actor.system("tests")
    with mock.patch.object(accounts, "check_policy", return_value=None), \
            mock.patch.object(accounts, "hash_password", return_value=_password_hash()):
        user = accounts.create_user(db, actor=actor, email=f"{name}@test.esante.fr",
                                    password=PASSWORD, display_name=name.title())
    accounts.grant_role(db, actor=actor, user=user, role="citizen", scope_kind="self",
                        scope_ref="")
    _, raw = accounts.create_token(db, actor=actor, user=user, scopes=["read", "write"])
    personas.users[name], personas.tokens[name] = user, raw
    return user


def _login(client, personas, db, name: str) -> None:  # type: ignore[no-untyped-def]
    """Password then TOTP (a fresh secret: the fixtures may have replaced it)."""
    personas.totp[name] = second_factor(db, personas, name)
    client.cookies.clear()
    r = post_password(client, f"{name}@test.esante.fr")
    r = post_otp(client, personas.otp(name))
    assert r.status_code == 303, r.text


@pytest.fixture
def minors(make_patient, db, personas):  # type: ignore[no-untyped-def]
    """Léa (child A, the citizen is her guardian) and Tom (child B, not hers)."""
    a = make_patient(holder=None, family="Petit", given="Léa", ins=INS_A, birth=BORN)
    b = make_patient(holder=None, family="Durand", given="Tom", ins=INS_B, birth="2016-02-02")
    codes = {}
    for pid in (a, b):
        _space, codes[pid] = service.provision(db, patient_fid=pid, actor=Actor.system("tests"))
    guardians.add(db, patient_fid=a, email=personas.users["citizen"].email,
                  proof="livret de famille", since=date(2015, 6, 1), actor=Actor.system("t"))
    return a, b, codes


def _audits(db, action: str, patient: str) -> int:  # type: ignore[no-untyped-def]
    return int(db.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == action, AuditEvent.patient_ref == f"Patient/{patient}")) or 0)


def _switch(client, to: str):  # type: ignore[no-untyped-def]
    page = client.get("/espace/courrier")
    return client.post("/espace/changer", data={"csrf_token": csrf_of(page.text), "espace": to},
                       follow_redirects=False)


def test_guardian_switches_to_the_child_space_and_manages_it(
        client, personas, fhir, minors, space, db) -> None:  # type: ignore[no-untyped-def]
    a, _b, _codes = minors
    second = _citizen(db, personas, "papa")
    guardians.add(db, patient_fid=a, email=second.email, proof="jugement du 3 mars 2020",
                  since=date(2020, 3, 3), actor=Actor.system("t"))
    r = fhir("doctor", "POST", "/Observation", observation_body(a))
    assert r.status_code == 201
    _login(client, personas, db, "citizen")

    home = client.get("/espace")
    assert home.status_code == 200
    assert 'id="space-owner">Citizen<' in home.text  # her own space, named
    assert '<option value="' + a + '">Léa Petit</option>' in home.text  # the selector
    assert "Tom" not in home.text  # child B is not hers

    before = _audits(db, "space.guardian-access", a)
    r = _switch(client, a)
    assert r.status_code == 303 and r.headers["location"] == "/espace"
    home = client.get("/espace")
    assert "<h1>Espace santé de Léa Petit</h1>" in home.text
    assert "vous agissez en tant que parent ou tuteur légal" in home.text
    assert "Ma messagerie sécurisée" not in home.text  # hers, not the child's
    csrf = csrf_of(home.text)

    # Her documents: upload lands in the child's record, then opens.
    up = client.post("/espace/documents", data={"csrf_token": csrf, "category": "vaccination",
                                                "title": "Carnet de vaccination"},
                     files={"file": ("carnet.pdf", pdf_bytes("Carnet"), "application/pdf")},
                     follow_redirects=False)
    assert up.headers["location"] == "/espace/documents?ok=upload"
    listing = client.get("/espace/documents")
    assert "Carnet de vaccination" in listing.text and "Espace de : " in listing.text
    docs = fhir("citizen", "GET", f"/DocumentReference?patient={a}").json()
    assert docs["total"] == 1
    fid = docs["entry"][0]["resource"]["id"]
    opened = client.get(f"/espace/documents/{fid}")
    assert opened.status_code == 200 and opened.content.startswith(b"%PDF-")
    # Nothing went to her own record.
    own = fhir("citizen", "GET", f"/DocumentReference?patient={space.patient}").json()
    assert own["total"] == 0
    # Profile, agenda, privacy, history: the same pages, the child's content.
    assert client.get("/espace/profil").status_code == 200
    assert client.get("/espace/agenda").status_code == 200
    assert client.get("/espace/confidentialite").status_code == 200
    hist = client.get("/espace/historique")
    assert hist.status_code == 200 and "Léa Petit" in hist.text
    # The delegation: both guardians, since when, on which proof.
    deleg = client.get("/espace/tuteurs")
    assert "Citizen (vous)" in deleg.text and "Papa" in deleg.text
    assert "livret de famille" in deleg.text and "jugement du 3 mars 2020" in deleg.text
    assert "01/06/2015" in deleg.text and "03/03/2020" in deleg.text
    # Closure is the holder's alone.
    r = client.get("/espace/cloture", follow_redirects=False)
    assert r.status_code == 303 and "seul%20le%20titulaire" in r.headers["location"]
    # Every page opened as the guardian acting for the child, audited against her record.
    assert _audits(db, "space.guardian-access", a) >= before + 9
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "space.guardian-access")
                      .order_by(AuditEvent.id.desc()))
    assert event is not None and event.actor_id == personas.users["citizen"].id
    assert event.details["acting_for"] == f"Patient/{a}"

    # The other guardian sees the same delegation.
    _login(client, personas, db, "papa")
    assert _switch(client, a).headers["location"] == "/espace"
    deleg = client.get("/espace/tuteurs")
    assert "Papa (vous)" in deleg.text and "Citizen" in deleg.text

    # Back to her own space.
    _login(client, personas, db, "citizen")
    _switch(client, a)
    _switch(client, "")
    assert 'id="space-owner">Citizen<' in client.get("/espace").text


def test_a_guardian_of_child_a_never_reaches_child_b(client, personas, fhir, minors,
                                                     space, db) -> None:  # type: ignore[no-untyped-def]
    _a, b, _codes = minors
    obs = fhir("doctor", "POST", "/Observation", observation_body(b)).json()["id"]
    _login(client, personas, db, "citizen")
    r = _switch(client, b)
    assert r.status_code == 303 and "pas%20tuteur" in r.headers["location"]
    assert 'id="space-owner">Citizen<' in client.get("/espace").text  # still her own
    assert _audits(db, "space.guardian-access", b) == 0
    assert fhir("citizen", "GET", f"/Observation/{obs}").status_code == 403
    assert fhir("citizen", "GET", f"/Observation?patient={b}").json()["total"] == 0
    assert client.get(f"/api/space/minors/{b}",
                      headers=personas.auth("citizen")).status_code == 403


def test_an_ended_guardianship_gives_nothing(client, personas, fhir, minors, space,
                                             db) -> None:  # type: ignore[no-untyped-def]
    a, _b, _codes = minors
    _login(client, personas, db, "citizen")
    assert _switch(client, a).headers["location"] == "/espace"
    assert "Espace santé de Léa Petit" in client.get("/espace").text
    guardians.remove_by(db, patient_fid=a, email=personas.users["citizen"].email,
                        actor=Actor.system("t"))
    db.flush()
    r = client.get("/espace/documents", follow_redirects=False)
    assert r.status_code == 303 and "plus%20acc%C3%A8s" in r.headers["location"]
    home = client.get("/espace")
    assert 'id="space-owner">Citizen<' in home.text and "Léa" not in home.text
    assert f'value="{a}"' not in home.text  # the selector is gone
    assert "pas%20tuteur" in _switch(client, a).headers["location"]
    assert fhir("citizen", "GET", f"/Patient/{a}").status_code == 403


def test_a_guardian_without_a_space_of_her_own(client, personas, minors, db) -> None:  # type: ignore[no-untyped-def]
    a, _b, _codes = minors
    _login(client, personas, db, "citizen")
    letter = client.get("/espace", follow_redirects=True)
    assert "Les espaces dont vous êtes tuteur" in letter.text
    assert "Ouvrir l'espace de Léa Petit" in letter.text
    assert _switch(client, a).headers["location"] == "/espace"
    home = client.get("/espace")
    assert home.status_code == 200 and "Espace santé de Léa Petit" in home.text


def test_at_eighteen_former_guardians_see_nothing_unless_she_grants_it(
        client, personas, fhir, minors, db) -> None:  # type: ignore[no-untyped-def]
    a, _b, codes = minors
    lea = _citizen(db, personas, "lea")
    service.activate(db, Principal.of(lea), ins=INS_A, code=codes[a])
    docs = []
    for title in ("Compte rendu", "Ordonnance"):
        r = fhir("citizen", "POST", "/DocumentReference", {
            "resourceType": "DocumentReference", "status": "current",
            "subject": {"reference": f"Patient/{a}"}, "description": title,
            "content": [{"attachment": {"contentType": "text/plain", "title": title}}]})
        assert r.status_code == 201, r.text  # her guardian manages her record
        docs.append(r.json()["id"])
    guardians.hand_over(db, actor=Actor.system("tests"), today=date(2033, 6, 1))
    db.flush()
    # Of age: her former guardian sees nothing.
    assert fhir("citizen", "GET", f"/DocumentReference/{docs[0]}").status_code == 403
    assert fhir("citizen", "GET", f"/DocumentReference?patient={a}").json()["total"] == 0

    _login(client, personas, db, "lea")
    home = client.get("/espace")
    assert "vos anciens tuteurs ne voient plus votre dossier" in home.text
    page = client.get("/espace/tuteurs")
    assert "ne voient plus rien" in page.text and "terminée le" in page.text
    form = {"csrf_token": csrf_of(page.text)}
    gid = personas.users["citizen"].id

    def act(action: str, document: str = ""):  # type: ignore[no-untyped-def]
        return client.post("/espace/tuteurs", data={**form, "action": action,
                                                    "guardian": gid, "document": document},
                           follow_redirects=False)

    assert "rien%20%C3%A0%20masquer" in act("hide", docs[0]).headers["location"]
    assert act("grant").headers["location"] == "/espace/tuteurs?ok=grant"
    assert "d%C3%A9j%C3%A0%20acc%C3%A8s" in act("grant").headers["location"]
    # Granted: read only, reads and searches.
    assert fhir("citizen", "GET", f"/DocumentReference/{docs[0]}").status_code == 200
    assert fhir("citizen", "GET", f"/DocumentReference?patient={a}").json()["total"] == 2
    assert fhir("citizen", "POST", "/Observation", observation_body(a)).status_code == 403
    # She hides one document from that person: gone from reads and searches.
    assert act("hide", docs[0]).headers["location"] == "/espace/tuteurs?ok=hide"
    assert fhir("citizen", "GET", f"/DocumentReference/{docs[0]}").status_code == 403
    found = fhir("citizen", "GET", f"/DocumentReference?patient={a}").json()
    assert [e["resource"]["id"] for e in found.get("entry", [])] == [docs[1]]
    # ...and not from professionals: it is not a privacy choice about them.
    listing = client.get("/espace/documents")
    assert "masqué" not in listing.text
    assert "Document masqué aux professionnels" not in client.get("/espace/confidentialite").text
    # Her choices about that person stay hers: no Consent of hers reaches that person.
    assert fhir("citizen", "GET", f"/Consent?patient={a}").json()["total"] == 0

    # The former guardian's pages: her space, read only, what she was allowed.
    _login(client, personas, db, "citizen")
    letter = client.get("/espace", follow_redirects=True)
    assert "Ouvrir l'espace de Léa Petit (lecture seule)" in letter.text
    assert _switch(client, a).headers["location"] == "/espace"
    home = client.get("/espace")
    assert "Espace santé de Léa Petit" in home.text and "lecture seule" in home.text
    assert "Derniers accès" not in home.text
    listing = client.get("/espace/documents")
    assert "Ordonnance" in listing.text and "Compte rendu" not in listing.text
    assert "Ajouter un document" not in listing.text
    assert client.get(f"/espace/documents/{docs[0]}").status_code in (403, 404)
    for path in ("/espace/historique", "/espace/confidentialite", "/espace/tuteurs",
                 "/espace/cloture"):
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 303 and "lecture%20seule" in r.headers["location"], path
    up = client.post("/espace/documents", data={"csrf_token": csrf_of(listing.text)},
                     files={"file": ("x.pdf", pdf_bytes(), "application/pdf")},
                     follow_redirects=False)
    assert "lecture%20seule" in up.headers["location"]
    assert _audits(db, "space.shared-access", a) >= 3

    _login(client, personas, db, "lea")
    form["csrf_token"] = csrf_of(client.get("/espace/tuteurs").text)
    assert act("show", docs[0]).headers["location"] == "/espace/tuteurs?ok=show"
    assert fhir("citizen", "GET", f"/DocumentReference/{docs[0]}").status_code == 200
    assert act("revoke").headers["location"] == "/espace/tuteurs?ok=revoke"
    assert fhir("citizen", "GET", f"/DocumentReference/{docs[1]}").status_code == 403
    assert fhir("citizen", "GET", f"/DocumentReference?patient={a}").json()["total"] == 0
    # Only former guardians: anyone else is refused.
    r = client.post("/espace/tuteurs", data={**form, "action": "grant",
                                             "guardian": personas.users["doctor"].id},
                    follow_redirects=False)
    assert "anciens%20tuteurs" in r.headers["location"]
    # Revoked: her pages are gone too.
    _login(client, personas, db, "citizen")
    assert "lecture seule" not in client.get("/espace", follow_redirects=True).text
    assert "pas%20tuteur" in _switch(client, a).headers["location"]
    assert db.scalar(select(Space.status).where(Space.patient_fid == a)) == "active"
