"""Demo data of the threat watch: inventories for the demo's anchor establishments and a
few hundred others, the two shipped CSAF advisories and two typed ones, matched, with
alerts at every stage of their follow-up. Deterministic and idempotent (nothing is added
once the demo's advisories exist)."""

from __future__ import annotations

import json
import random
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from esante.core.accounts.models import Role, RoleAssignment, User
from esante.core.orgs.models import Establishment
from esante.core.policy import Principal
from esante.cyber.threatwatch import service
from esante.cyber.threatwatch.catalogue import CATALOGUE, cpe_name
from esante.cyber.threatwatch.models import Advisory, Alert, InstalledProduct
from esante.cyber.threatwatch.schemas import AdvisoryIn

DATA = Path(__file__).parent / "data"
CSAF_FILES = ("csaf-apache-httpd-2023.json", "csaf-fortios-2024.json")
INVENTORIES = 300  # establishments with an inventory, besides the anchors
TYPED = [
    {"reference": "CERT-SANTE-DEMO-2024-0021", "title": "OpenSSH : « regreSSHion », exécution "
     "de code à distance en tant que root (glibc)", "tlp": "GREEN",
     "cve_ids": ["CVE-2024-6387"], "cvss_vector": "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H",
     "summary": "Une situation de concurrence dans le gestionnaire de signal de sshd permet à "
                "un attaquant non authentifié d'exécuter du code sur les systèmes Linux glibc.",
     "affected": [{"cpe": "cpe:2.3:a:openbsd:openssh:*:*:*:*:*:*:*:*",
                   "versionStartIncluding": "8.5p1", "versionEndExcluding": "9.8p1"},
                  {"cpe": "cpe:2.3:a:openbsd:openssh:*:*:*:*:*:*:*:*",
                   "versionEndExcluding": "4.4p1"}],
     "recommendations": "Mettre à jour OpenSSH en 9.8p1 ; à défaut, LoginGraceTime 0.",
     "references": ["https://www.openssh.com/txt/release-9.8"]},
    {"reference": "CERT-SANTE-DEMO-2023-0031", "title": "Citrix NetScaler : fuite de jetons de "
     "session (« Citrix Bleed »)", "tlp": "CLEAR", "cve_ids": ["CVE-2023-4966"],
     "cvss_vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N",
     "affected": [{"cpe": "cpe:2.3:a:citrix:netscaler_gateway:*:*:*:*:*:*:*:*",
                   "versionStartIncluding": "13.0", "versionEndExcluding": "14.1.8"}],
     "recommendations": "Mettre à jour, puis fermer toutes les sessions actives.",
     "references": ["https://support.citrix.com/article/CTX579459"]},
]
FOLLOW_UP = ("new", "acknowledged", "patched", "patched", "patched", "not_affected",
             "accepted_risk")


def seed(session: Session, *, seed_value: int = 2026) -> str:
    """Fill the demo; returns one line saying what was done."""
    if session.scalar(select(Advisory.id).where(Advisory.reference == TYPED[0]["reference"])):
        return "Veille : déjà en place."
    analyst = session.scalar(select(User).join(RoleAssignment).where(
        RoleAssignment.role == Role.CYBER_ANALYST).order_by(User.id).limit(1))
    if analyst is None:
        return "Veille : pas d'analyste de la cellule nationale, rien créé."
    cell = Principal.of(analyst)
    rng = random.Random(seed_value)
    ests = _inventories(session, rng)
    for name in CSAF_FILES:
        service.import_csaf(session, None, json.loads((DATA / name).read_text(encoding="utf-8")))
    for body in TYPED:
        service.publish(session, cell, AdvisoryIn.model_validate(body))
    alerts = list(session.scalars(select(Alert)))
    for alert in alerts:
        status = rng.choice(FOLLOW_UP)
        if status != "new":
            alert.status = status
            alert.note = "" if status in ("acknowledged", "patched") else "Évalué par le RSSI."
    session.flush()
    return (f"Veille : {ests} inventaire(s), {len(CSAF_FILES) + len(TYPED)} avis, "
            f"{len(alerts)} alerte(s).")


def _inventories(session: Session, rng: random.Random) -> int:
    from esante.core import demo as core_demo

    anchors = list(core_demo.anchor_finess())
    others = list(session.scalars(select(Establishment.finess).where(
        Establishment.finess.not_in(anchors)).order_by(Establishment.id)))
    chosen = anchors + rng.sample(others, min(INVENTORIES, len(others)))
    ids = dict(session.execute(select(Establishment.finess, Establishment.id).where(
        Establishment.finess.in_(chosen))).all())
    keys = sorted(CATALOGUE)
    rows = []
    for finess in chosen:
        for part, vendor, product in rng.sample(keys, rng.randint(8, 16)):
            version = rng.choice(CATALOGUE[(part, vendor, product)])
            rows.append(InstalledProduct(
                establishment_id=ids[finess], cpe=cpe_name(part, vendor, product, version),
                part=part, vendor=vendor, product=product,
                version=version if version != "-" else "*", label="", source="demo"))
    session.add_all(rows)
    session.flush()
    return len(chosen)
