"""Demo events of indicator sharing, one per TLP level, so that the pages and the matrix of
what each demo account sees mean something. Idempotent (fixed UUIDs); the values are made
up for the demo (``.example`` names where possible) and say so."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from esante.core.demo import anchor_finess
from esante.core.orgs.models import Establishment
from esante.cyber.indicators import warninglists
from esante.cyber.indicators.models import Indicator, IocEvent, IocEventRecipient
from esante.cyber.indicators.observables import guess_kind, normalise
from esante.cyber.indicators.service import CELL_LABEL

NS = uuid.UUID("6f1c9e1e-2b7a-4c55-9a43-0d1e5e5a7c01")
NOTE = " (données de démonstration)"


def _events(a: str, b: str) -> list[dict[str, object]]:
    return [
        {"key": "facture", "title": "Campagne d'hameçonnage « facture impayée » visant les "
         "établissements de santé", "tlp": "green", "scope": "national", "source": None,
         "values": ["chu-factures-paiement.example", "http://chu-factures-paiement.example/login.php",
                    "compta@chu-factures-paiement.example", "185.234.72.19"]},
        {"key": "rancon", "title": "Rançongiciel : charges et serveurs de commande observés",
         "tlp": "clear", "scope": "national", "source": None,
         "values": ["275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f",
                    "c2-update-service.example", "45.142.120.7"]},
        {"key": "vpn", "title": "Bourrage d'identifiants sur le VPN", "tlp": "amber",
         "scope": "region", "source": a, "values": ["91.203.5.77", "91.203.5.78"]},
        {"key": "poste", "title": "Poste compromis en radiologie (usage interne)",
         "tlp": "amber+strict", "scope": "establishment", "source": a,
         "values": ["radio-viewer-update.example", "a3f5c9e1d2b4a6c8e0f1a2b3c4d5e6f7"]},
        {"key": "prestataire", "title": "Prestataire de maintenance compromis",
         "tlp": "red", "scope": "organisations", "source": None, "recipients": [b],
         "values": ["support-maintenance-bio.example"]},
    ]


def seed_indicators(session: Session) -> int:
    """Create the demo events that are missing; returns how many were created."""
    a, b = anchor_finess()
    names = dict(session.execute(select(Establishment.finess, Establishment.name).where(
        Establishment.finess.in_([a, b]))).all())
    if a not in names or b not in names:
        return 0
    created = 0
    for spec in _events(a, b):
        ev_uuid = str(uuid.uuid5(NS, str(spec["key"])))
        if session.scalar(select(IocEvent.id).where(IocEvent.uuid == ev_uuid)):
            continue
        source = spec["source"]
        ev = IocEvent(uuid=ev_uuid, title=str(spec["title"]), description="Exemple" + NOTE,
                      tlp=spec["tlp"], pap="amber", scope=spec["scope"],
                      scope_region="11" if spec["scope"] == "region" else None,
                      scope_finess=a if spec["scope"] == "establishment" else None,
                      source_finess=source, status="published",
                      source_label=names[str(source)] if source else CELL_LABEL)
        session.add(ev)
        session.flush()
        for f in spec.get("recipients", []):  # type: ignore[attr-defined]
            session.add(IocEventRecipient(event_id=ev.id, finess=f))
        for raw in spec["values"]:  # type: ignore[attr-defined]
            kind = guess_kind(raw)
            value = normalise(kind, raw)
            session.add(Indicator(event_id=ev.id, uuid=str(uuid.uuid5(NS, f"{ev_uuid}/{value}")),
                                  kind=kind, value=value, comment="",
                                  warning=warninglists.warning_for(kind, value)))
        created += 1
    session.flush()
    return created
