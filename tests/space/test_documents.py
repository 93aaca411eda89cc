"""Documents: upload checked by content and size, listed by category and date, opened,
received from a professional through FHIR, encrypted at rest."""

from __future__ import annotations

import base64

from sqlalchemy import select

from esante.fhir.models import FhirResource
from tests.space.conftest import pdf_bytes, png_bytes


def gif_bytes() -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buf, format="GIF")
    return buf.getvalue()

DOCS = "/api/space/documents"


def test_upload_list_open(client, personas, space) -> None:
    auth = personas.auth("citizen")
    r = client.post(DOCS, headers=auth, data={"category": "imagerie", "title": "Radio du genou",
                                              "date": "2026-10-01"},
                    files={"file": ("genou.png", png_bytes(), "image/png")})
    assert r.status_code == 201, r.text
    fid = r.json()["fid"]
    r = client.post(DOCS, headers=auth, data={"category": "ordonnance", "date": "2026-11-01"},
                    files={"file": ("ordo.pdf", pdf_bytes(), "application/pdf")})
    assert r.status_code == 201, r.text
    listed = client.get(DOCS, headers=auth).json()
    assert [d["category"] for d in listed] == ["ordonnance", "imagerie"]  # newest first
    assert [d["title"] for d in client.get(f"{DOCS}?category=imagerie", headers=auth).json()] \
        == ["Radio du genou"]
    content = client.get(f"{DOCS}/{fid}/content", headers=auth)
    assert content.headers["content-type"] == "image/png"
    assert content.content == png_bytes()


def test_the_list_comes_in_pages(client, personas, space, monkeypatch) -> None:
    from esante.space import documents

    monkeypatch.setattr(documents, "PAGE", 2)
    auth = personas.auth("citizen")
    for day in ("01", "02", "03"):
        r = client.post(DOCS, headers=auth, data={"category": "imagerie", "title": f"Radio {day}",
                                                  "date": f"2026-10-{day}"},
                        files={"file": ("radio.png", png_bytes(), "image/png")})
        assert r.status_code == 201, r.text
    first = client.get(DOCS, headers=auth)
    assert first.headers["x-total-count"] == "3"
    assert [d["title"] for d in first.json()] == ["Radio 03", "Radio 02"]
    second = client.get(f"{DOCS}?page=2&category=imagerie", headers=auth)
    assert [d["title"] for d in second.json()] == ["Radio 01"]
    assert second.headers["x-total-count"] == "3"
    assert client.get(f"{DOCS}?page=0", headers=auth).status_code == 422


def test_bad_files_are_refused_by_content_and_size(client, personas, space, db) -> None:
    auth = personas.auth("citizen")
    before = db.query(FhirResource).count()
    cases = [
        (("faux.pdf", b"MZ\x90\x00 not a pdf at all", "application/pdf"), "seuls les PDF"),
        (("faux.png", b"%PDF-1.4 broken", "image/png"), "PDF endommagé"),
        (("anim.png", gif_bytes(), "image/png"), "type d'image refusé (GIF)"),
    ]
    for file, message in cases:
        r = client.post(DOCS, headers=auth, files={"file": file})
        assert r.status_code == 422, r.text
        assert message in r.json()["detail"]
    big = b"%PDF-1.4\n" + b"0" * (5 * 1_048_576)
    r = client.post(DOCS, headers=auth, files={"file": ("gros.pdf", big, "application/pdf")})
    assert r.status_code == 422 and "trop volumineux" in r.json()["detail"]
    assert db.query(FhirResource).count() == before


def test_a_professional_sends_a_document_through_fhir(client, personas, space, fhir, db) -> None:
    pdf = pdf_bytes("Compte rendu opératoire")
    b = fhir("doctor", "POST", "/Binary", {
        "resourceType": "Binary", "contentType": "application/pdf",
        "securityContext": {"reference": f"Patient/{space.patient}"},
        "data": base64.b64encode(pdf).decode()})
    assert b.status_code == 201, b.text
    d = fhir("doctor", "POST", "/DocumentReference", {
        "resourceType": "DocumentReference", "status": "current",
        "subject": {"reference": f"Patient/{space.patient}"},
        "category": [{"coding": [{"system": "http://loinc.org", "code": "11488-4"}]}],
        "date": "2026-11-20T08:00:00Z", "description": "Compte rendu opératoire",
        "author": [{"display": "Dr Doctor"}],
        "content": [{"attachment": {"contentType": "application/pdf",
                                    "url": f"Binary/{b.json()['id']}"}}]})
    assert d.status_code == 201, d.text
    listed = client.get(DOCS, headers=personas.auth("citizen")).json()
    assert listed[0]["category"] == "compte-rendu" and listed[0]["author"] == "Dr Doctor"
    got = client.get(f"{DOCS}/{d.json()['id']}/content", headers=personas.auth("citizen"))
    assert got.content == pdf
    # Encrypted at rest: the PDF is nowhere in clear in the store.
    blobs = db.scalars(select(FhirResource.content).where(
        FhirResource.patient_fid == space.patient)).all()
    assert blobs and not any(b"Compte rendu" in blob or b"JVBERi" in blob for blob in blobs)


def test_home_counts_agree_with_the_list(client, personas, space, fhir, db) -> None:
    """The home page counts by category without reading the documents (search counts):
    the same figures as the list, LOINC classes filed under ours, the rest in "autre"."""
    from esante.core.policy import Principal
    from esante.space import documents

    auth = personas.auth("citizen")
    for category in ("imagerie", "imagerie", "ordonnance", "autre"):
        r = client.post(DOCS, headers=auth, data={"category": category},
                        files={"file": ("x.png", png_bytes(), "image/png")})
        assert r.status_code == 201, r.text
    for code in ("11488-4", "57833-6", "99999-9"):  # compte rendu, ordonnance, unknown class
        d = fhir("doctor", "POST", "/DocumentReference", {
            "resourceType": "DocumentReference", "status": "current",
            "subject": {"reference": f"Patient/{space.patient}"},
            "category": [{"coding": [{"system": "http://loinc.org", "code": code}]}],
            "content": [{"attachment": {"contentType": "application/pdf", "title": code}}]})
        assert d.status_code == 201, d.text
    p = Principal.of(personas.users["citizen"])
    listed = documents.list_documents(db, p, space.space)
    expected = {k: sum(1 for d in listed if d.category == k) for k in documents.CATEGORIES}
    assert documents.counts(db, p, space.space) == expected
    assert expected == {"compte-rendu": 1, "ordonnance": 2, "imagerie": 2, "biologie": 0,
                        "vaccination": 0, "autre": 2}


def test_the_list_is_read_a_page_at_a_time(client, personas, space, db, monkeypatch) -> None:
    import pyotp

    from esante.core.policy import Principal
    from esante.space import documents
    from tests.core.test_auth import post_otp, post_password

    monkeypatch.setattr(documents, "PAGE", 2)
    auth = personas.auth("citizen")
    for day, category in (("2026-01-01", "imagerie"), ("2026-02-01", "autre"),
                          ("2026-03-01", "imagerie"), ("2026-04-01", "imagerie")):
        r = client.post(DOCS, headers=auth, data={"category": category, "date": day,
                                                  "title": f"{category} {day}"},
                        files={"file": ("x.png", png_bytes(), "image/png")})
        assert r.status_code == 201, r.text
    p = Principal.of(personas.users["citizen"])

    def titles(**kw) -> tuple[int, list[str]]:
        total, docs = documents.page_of_documents(db, p, space.space, **kw)
        return total, [d.title for d in docs]

    assert titles() == (4, ["imagerie 2026-04-01", "imagerie 2026-03-01"])
    assert titles(page=2) == (4, ["autre 2026-02-01", "imagerie 2026-01-01"])
    assert titles(page=3) == (4, [])
    assert titles(category="imagerie", page=2) == (3, ["imagerie 2026-01-01"])
    assert titles(category="autre") == (1, ["autre 2026-02-01"])
    post_password(client, "citizen@test.esante.fr")
    post_otp(client, pyotp.TOTP(space.secret).now())
    page = client.get("/espace/documents?page=2")
    assert page.status_code == 200
    assert "autre 2026-02-01" in page.text and "imagerie 2026-04-01" not in page.text
    assert "page 2 sur 2" in page.text and 'aria-current="page"' in page.text
