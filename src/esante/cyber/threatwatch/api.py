"""JSON routes of the threat watch: inventories (``/api/cyber/inventories``), advisories
(``/api/cyber/advisories``), alerts (``/api/cyber/alerts``)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile, status
from sqlalchemy.orm import Session

from esante.core import policy
from esante.core.errors import Invalid
from esante.core.orgs.models import Establishment
from esante.cyber.threatwatch import inventory, service
from esante.cyber.threatwatch.models import Advisory, Alert, InstalledProduct
from esante.cyber.threatwatch.schemas import (
    AdvisoryIn,
    AdvisoryOut,
    AffectedOut,
    AlertIn,
    AlertOut,
    ImportOut,
    ProductIn,
    ProductOut,
    ProgressOut,
    Tlp,
)
from esante.web.deps import ApiPrincipal, SessionDep

router = APIRouter(prefix="/cyber", tags=["cybervigilance : veille des vulnérabilités"])
MAX_FILE = 5 * 1024 * 1024
Finess = Annotated[str, Query(max_length=9)]


def advisory_out(session: Session, a: Advisory, *, cell: bool = False) -> AdvisoryOut:
    return AdvisoryOut(
        id=a.id, reference=a.reference, revision=a.revision, title=a.title, summary=a.summary,
        cve_ids=a.cve_ids, cvss_vector=a.cvss_vector, cvss_score=a.cvss_score,
        severity=a.severity, recommendations=a.recommendations, references=a.references,
        tlp=a.tlp, source=a.source, status=a.status, published_at=a.published_at,
        affected=[AffectedOut(cpe=x.cpe, vendor=x.vendor, product=x.product, version=x.version,
                              versionStartIncluding=x.start_including,
                              versionStartExcluding=x.start_excluding,
                              versionEndIncluding=x.end_including,
                              versionEndExcluding=x.end_excluding)
                  for x in service.affected_of(session, a)],
        alerted_establishments=service.alerted_count(session, a) if cell else None)


def product_out(x: InstalledProduct) -> ProductOut:
    return ProductOut(id=x.id, cpe=x.cpe, part=x.part, vendor=x.vendor, product=x.product,
                      version=x.version, label=x.label, source=x.source, added_at=x.added_at)


def alert_out(session: Session, x: Alert) -> AlertOut:
    advisory = session.get(Advisory, x.advisory_id)
    est = session.get(Establishment, x.establishment_id)
    return AlertOut(id=x.id, advisory_id=x.advisory_id,
                    advisory_title=advisory.title if advisory else "", finess=x.finess,
                    establishment=est.name if est else "", region_code=x.region_code,
                    status=x.status, status_label=service.STATUS_LABELS[x.status], note=x.note,
                    matched=x.matched, created_at=x.created_at, updated_at=x.updated_at)


# --- inventories -----------------------------------------------------------------------------

@router.get("/inventories/{finess}", summary="Inventaire d'un établissement (produits CPE 2.3)")
def get_inventory(finess: str, p: ApiPrincipal, session: SessionDep) -> list[ProductOut]:
    est = inventory.establishment(session, p, finess, "cyber.tw.inventory.read")
    return [product_out(x) for x in inventory.products(session, est)]


@router.post("/inventories/{finess}/products", status_code=status.HTTP_201_CREATED,
             summary="Déclarer un produit (nom CPE 2.3)")
def add_product(finess: str, body: ProductIn, p: ApiPrincipal,
                session: SessionDep) -> dict[str, Any]:
    est = inventory.establishment(session, p, finess, "cyber.tw.inventory.write")
    item, alerts = inventory.add(session, p, est, cpe=body.cpe, label=body.label,
                                 version=body.version)
    return {"product": product_out(item), "new_alerts": alerts}


@router.delete("/inventories/{finess}/products/{product_id}",
               status_code=status.HTTP_204_NO_CONTENT, summary="Retirer un produit")
def remove_product(finess: str, product_id: int, p: ApiPrincipal, session: SessionDep) -> None:
    est = inventory.establishment(session, p, finess, "cyber.tw.inventory.write")
    inventory.remove(session, p, est, product_id)


@router.post("/inventories/{finess}/import", summary="Importer un inventaire (CSV ou CycloneDX)")
async def import_inventory(finess: str, p: ApiPrincipal, session: SessionDep,
                           file: Annotated[UploadFile, File()],
                           replace: Annotated[bool, Form()] = False) -> ImportOut:
    est = inventory.establishment(session, p, finess, "cyber.tw.inventory.write")
    data = await _read(file)
    return ImportOut.model_validate(inventory.import_file(
        session, p, est, data, filename=file.filename or "", replace=replace))


async def _read(file: UploadFile) -> bytes:
    data = await file.read(MAX_FILE + 1)
    if len(data) > MAX_FILE:
        raise Invalid(f"fichier trop gros ({MAX_FILE // 1024 // 1024} Mio au plus)",
                      "file too large", code="size")
    return data


# --- advisories ------------------------------------------------------------------------------

@router.get("/advisories", summary="Avis de sécurité visibles (selon leur TLP)")
def list_advisories(
    p: ApiPrincipal, session: SessionDep,
    status_: Annotated[str | None, Query(alias="status", pattern="^(open|closed)$")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50, offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, object]:
    total, rows = service.list_advisories(session, p, status=status_, limit=limit,
                                          offset=offset)
    cell = service.in_cell(p)
    return {"total": total, "items": [advisory_out(session, a, cell=cell) for a in rows]}


@router.post("/advisories", status_code=status.HTTP_201_CREATED,
             summary="Publier un avis (cellule nationale) : rapproché de tous les inventaires")
def publish(body: AdvisoryIn, p: ApiPrincipal, session: SessionDep) -> AdvisoryOut:
    return advisory_out(session, service.publish(session, p, body), cell=True)


@router.post("/advisories/csaf", status_code=status.HTTP_201_CREATED,
             summary="Importer un avis CSAF 2.0 (corps : le document JSON)")
async def import_csaf(request: Request, p: ApiPrincipal, session: SessionDep,
                      tlp: Tlp | None = None) -> dict[str, Any]:
    policy.authorize(p, "cyber.tw.advisory.publish")  # before reading what was sent
    raw = await request.body()
    try:
        document = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise Invalid(f"JSON illisible : {exc}", "unreadable JSON", code="json") from None
    advisory, skipped = service.import_csaf(session, p, document, tlp=tlp)
    return {"advisory": advisory_out(session, advisory, cell=True),
            "skipped_without_cpe": skipped}


@router.get("/advisories/{advisory_id}", summary="Un avis de sécurité")
def get_advisory(advisory_id: int, p: ApiPrincipal, session: SessionDep) -> AdvisoryOut:
    advisory = service.get_advisory(session, p, advisory_id)
    return advisory_out(session, advisory, cell=service.in_cell(p))


@router.post("/advisories/{advisory_id}/close",
             summary="Clore un avis (cellule) : les inventaires ne lui sont plus rapprochés")
def close(advisory_id: int, p: ApiPrincipal, session: SessionDep) -> AdvisoryOut:
    advisory = service.get_advisory(session, p, advisory_id)
    return advisory_out(session, service.close_advisory(session, p, advisory), cell=True)


@router.get("/advisories/{advisory_id}/progress",
            summary="Avancement national des correctifs (par statut, par région)")
def progress(advisory_id: int, p: ApiPrincipal, session: SessionDep) -> ProgressOut:
    advisory = service.get_advisory(session, p, advisory_id)
    return ProgressOut.model_validate(service.progress(session, p, advisory))


# --- alerts ----------------------------------------------------------------------------------

@router.get("/alerts", summary="Alertes de vulnérabilité visibles")
def list_alerts(
    p: ApiPrincipal, session: SessionDep, finess: Finess | None = None,
    status_: Annotated[str | None, Query(
        alias="status", pattern="^(new|acknowledged|patched|not_affected|accepted_risk)$")] = None,
    advisory_id: int | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50, offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, object]:
    total, rows = service.list_alerts(session, p, finess=finess, status=status_,
                                      advisory_id=advisory_id, limit=limit, offset=offset)
    return {"total": total, "items": [alert_out(session, x) for x in rows]}


@router.get("/alerts/{alert_id}", summary="Une alerte")
def get_alert(alert_id: int, p: ApiPrincipal, session: SessionDep) -> AlertOut:
    return alert_out(session, service.get_alert(session, p, alert_id))


@router.post("/alerts/{alert_id}/status",
             summary="Suivre une alerte : prise en compte, corrigée, non concerné, risque accepté")
def update_alert(alert_id: int, body: AlertIn, p: ApiPrincipal, session: SessionDep) -> AlertOut:
    alert = service.get_alert(session, p, alert_id)
    return alert_out(session, service.update_alert(session, p, alert, status=body.status,
                                                   note=body.note))
