"""Documents of a space: FHIR ``DocumentReference`` + ``Binary`` in the holder's record
(encrypted at rest by the store), listed by category and date. The citizen uploads her
own (PDF, JPEG, PNG, checked by content); professionals send theirs through the FHIR API,
which lands here since only a qualified INS has a space."""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from esante.core.errors import Invalid, NotFound
from esante.core.policy import Principal
from esante.core.settings import Settings, get_settings
from esante.fhir.service import Fhir
from esante.fhir.values import split_reference
from esante.space.models import Space

CATEGORY_SYSTEM = "https://esante.fr/fhir/CodeSystem/categorie-document-espace"
CATEGORIES = {"compte-rendu": "Comptes rendus", "ordonnance": "Ordonnances",
              "imagerie": "Imagerie", "biologie": "Biologie", "vaccination": "Vaccination",
              "autre": "Autres documents"}
# LOINC document classes a professional's software may send, filed under ours.
LOINC_CATEGORIES = {"11488-4": "compte-rendu", "34133-9": "compte-rendu", "57833-6": "ordonnance",
                    "18748-4": "imagerie", "11502-2": "biologie", "11369-6": "vaccination"}
MEDIA_TYPES = {"PDF": "application/pdf", "JPEG": "image/jpeg", "PNG": "image/png"}


def fhir_for(session: Session, p: Principal, settings: Settings | None = None) -> Fhir:
    return Fhir(session, p, base=(settings or get_settings()).base_url + "/fhir")


@dataclass
class Document:
    fid: str
    title: str
    category: str
    date: str
    content_type: str
    size: int
    binary_fid: str
    author: str
    own: bool  # uploaded by the holder
    hidden: bool = False

    @property
    def category_label(self) -> str:
        return CATEGORIES[self.category]


def sniff(data: bytes) -> str:
    """The media type of a file, read from its content (never from its name): a PDF that
    parses, or a JPEG/PNG image that decodes. Anything else is refused."""
    if data.startswith(b"%PDF-"):
        from pypdf import PdfReader
        from pypdf.errors import PdfReadError

        try:
            pages = len(PdfReader(io.BytesIO(data)).pages)
        except (PdfReadError, ValueError, KeyError, TypeError) as exc:
            raise Invalid("le fichier commence comme un PDF mais ne se lit pas : "
                          "PDF endommagé ou falsifié", "damaged PDF", code="file-type") from exc
        if pages < 1:
            raise Invalid("PDF sans aucune page", "empty PDF", code="file-type")
        return MEDIA_TYPES["PDF"]
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as img:
            kind = img.format or ""
            img.verify()
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise Invalid("type de fichier refusé : seuls les PDF, JPEG et PNG sont acceptés (le "
                      "contenu du fichier ne correspond à aucun des trois)",
                      "only PDF, JPEG or PNG content", code="file-type") from exc
    if kind not in ("JPEG", "PNG"):
        raise Invalid(f"type d'image refusé ({kind or 'inconnu'}) : seuls JPEG et PNG sont acceptés",
                      "only JPEG or PNG images", code="file-type")
    return MEDIA_TYPES[kind]


def upload(session: Session, p: Principal, space: Space, *, filename: str, data: bytes,
           category: str, title: str, when: date | None = None,
           settings: Settings | None = None) -> Document:
    settings = settings or get_settings()
    limit = settings.space_document_max_bytes
    if len(data) > limit:
        raise Invalid(f"fichier trop volumineux : {len(data) / 1_048_576:.1f} Mo pour "
                      f"{limit / 1_048_576:.0f} Mo au plus", "file too large", code="file-size")
    if not data:
        raise Invalid("fichier vide", "empty file", code="file-size")
    if category not in CATEGORIES:
        raise Invalid(f"catégorie inconnue : {category[:40]}", "unknown category",
                      code="category")
    title = title.strip()[:200] or filename[:200] or "Document"
    media = sniff(data)
    fhir = fhir_for(session, p, settings)
    patient = f"Patient/{space.patient_fid}"
    binary = fhir.create({"resourceType": "Binary", "contentType": media,
                          "securityContext": {"reference": patient},
                          "data": base64.b64encode(data).decode()}).resource
    assert binary is not None
    doc = fhir.create({
        "resourceType": "DocumentReference", "status": "current",
        "subject": {"reference": patient},
        "category": [{"coding": [{"system": CATEGORY_SYSTEM, "code": category,
                                  "display": CATEGORIES[category]}]}],
        "date": f"{(when or date.today()).isoformat()}T00:00:00Z",
        "description": title,
        "author": [{"reference": patient, "display": "Le titulaire de l'espace"}],
        "content": [{"attachment": {"contentType": media, "url": f"Binary/{binary['id']}",
                                    "title": filename[:200] or title, "size": len(data)}}],
    }).resource
    assert doc is not None
    return as_document(doc, space)


def category_of(doc: dict[str, Any]) -> str:
    for concept in doc.get("category", []):
        for coding in concept.get("coding", []):
            if coding.get("system") == CATEGORY_SYSTEM and coding.get("code") in CATEGORIES:
                return str(coding["code"])
            if coding.get("code") in LOINC_CATEGORIES:
                return LOINC_CATEGORIES[coding["code"]]
    return "autre"


def as_document(doc: dict[str, Any], space: Space) -> Document:
    attachment = next((c.get("attachment") or {} for c in doc.get("content", [])), {})
    target = split_reference(attachment.get("url", "")) or ("", "")
    authors = doc.get("author", [])
    own = any(a.get("reference") == f"Patient/{space.patient_fid}" for a in authors)
    author = "Vous" if own else ", ".join(a.get("display", "") for a in authors
                                          if a.get("display")) or "Un professionnel de santé"
    return Document(fid=doc["id"], title=doc.get("description") or attachment.get("title")
                    or "Document", category=category_of(doc), date=(doc.get("date") or "")[:10],
                    content_type=attachment.get("contentType", ""),
                    size=int(attachment.get("size") or 0), binary_fid=target[1],
                    author=author, own=own)


def list_documents(session: Session, p: Principal, space: Space, *,
                   category: str = "") -> list[Document]:
    """The space's documents, newest first (read through FHIR search: audited)."""
    fhir = fhir_for(session, p)
    params = [("patient", space.patient_fid), ("_sort", "-date"), ("_count", "500")]
    if category and category not in CATEGORIES:
        raise Invalid(f"catégorie inconnue : {category[:40]}", "unknown category",
                      code="category")
    bundle = fhir.search("DocumentReference", params).resource or {}
    docs = [as_document(e["resource"], space) for e in bundle.get("entry", [])
            if e.get("search", {}).get("mode") == "match"]
    from esante.space.privacy import hidden_fids

    hidden = hidden_fids(session, p, space)
    for d in docs:
        d.hidden = d.fid in hidden
    return [d for d in docs if not category or d.category == category]


def counts(session: Session, p: Principal, space: Space) -> dict[str, int]:
    """How many documents of each category, counted by the FHIR search (``_summary=count``
    on the category index, our code or the LOINC classes filed under it): nothing is
    read nor decrypted. What no category claims is "autre"."""
    fhir = fhir_for(session, p)

    def count(extra: list[tuple[str, str]]) -> int:
        bundle = fhir.search("DocumentReference", [
            ("patient", space.patient_fid), ("_summary", "count"), *extra]).resource or {}
        return int(bundle.get("total", 0))

    out = {key: count([("category", category_codes(key))]) for key in CATEGORIES
           if key != "autre"}
    out["autre"] = max(0, count([]) - sum(out.values()))
    return out


PAGE = 100  # documents a page of the list shows


def category_codes(key: str) -> str:
    """The search value of one of our categories: our code, or a LOINC class filed
    under it (a bare code: ``category_of`` reads the code whatever its system)."""
    return ",".join([f"{CATEGORY_SYSTEM}|{key}",
                     *(code for code, ours in LOINC_CATEGORIES.items() if ours == key)])


def page_of_documents(session: Session, p: Principal, space: Space, *, category: str = "",
                      page: int = 1) -> tuple[int, list[Document]]:
    """One page of the list (``PAGE`` documents, newest first) and how many there are in
    all: only that page's documents are read and decrypted. A category is searched on its
    index; "autre" (what no category claims) is the one read whole, then filtered."""
    if category and category not in CATEGORIES:
        raise Invalid(f"catégorie inconnue : {category[:40]}", "unknown category",
                      code="category")
    page = max(1, page)
    if category == "autre":
        docs = list_documents(session, p, space, category=category)
        return len(docs), docs[(page - 1) * PAGE:page * PAGE]
    params = [("patient", space.patient_fid), ("_sort", "-date"), ("_count", str(PAGE)),
              ("_offset", str((page - 1) * PAGE))]
    if category:
        params.append(("category", category_codes(category)))
    bundle = fhir_for(session, p).search("DocumentReference", params).resource or {}
    docs = [as_document(e["resource"], space) for e in bundle.get("entry", [])
            if e.get("search", {}).get("mode") == "match"]
    from esante.space.privacy import hidden_fids

    hidden = hidden_fids(session, p, space)
    for d in docs:
        d.hidden = d.fid in hidden
    if category:  # a document also filed under another category is shown where it belongs
        docs = [d for d in docs if d.category == category]
    return int(bundle.get("total", len(docs))), docs


def open_document(session: Session, p: Principal, space: Space,
                  fid: str) -> tuple[Document, bytes]:
    fhir = fhir_for(session, p)
    doc = fhir.read("DocumentReference", fid).resource or {}
    if (doc.get("subject") or {}).get("reference") != f"Patient/{space.patient_fid}":
        raise NotFound("document introuvable dans votre espace", "document not found")
    document = as_document(doc, space)
    if not document.binary_fid:
        raise NotFound("ce document n'a pas de fichier joint", "no file")
    binary = fhir.read("Binary", document.binary_fid).resource or {}
    return document, base64.b64decode(binary.get("data", ""))
