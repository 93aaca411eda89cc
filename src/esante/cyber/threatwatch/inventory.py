"""Inventories: the products each establishment declares (form, CSV, CycloneDX SBOM);
every change re-matches the open advisories."""

from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from esante.core import audit, policy
from esante.core.errors import Conflict, Invalid, NotFound
from esante.core.orgs.models import Establishment
from esante.core.policy import Principal
from esante.cyber.threatwatch import cpe as cpes
from esante.cyber.threatwatch import sbom, service
from esante.cyber.threatwatch.models import InstalledProduct

MAX_PER_ESTABLISHMENT = sbom.MAX_ITEMS


def establishment(session: Session, p: Principal, finess: str, permission: str) -> Establishment:
    est = session.scalar(select(Establishment).where(Establishment.finess == finess))
    if est is None:
        raise NotFound(f"établissement FINESS {finess[:9]} introuvable", "establishment not found")
    policy.authorize(p, permission, est)
    return est


def products(session: Session, est: Establishment) -> list[InstalledProduct]:
    return list(session.scalars(select(InstalledProduct).where(
        InstalledProduct.establishment_id == est.id).order_by(
        InstalledProduct.vendor, InstalledProduct.product, InstalledProduct.version)))


def _row(est: Establishment, name: cpes.Cpe, label: str, source: str,
         p: Principal | None) -> InstalledProduct:
    return InstalledProduct(
        establishment_id=est.id, cpe=name.uri(), part=name.part, vendor=name.vendor,
        product=name.product, version=name.plain_version if name.has_version else "*",
        label=label[:300], source=source, added_by=p.user.id if p else None)


def add(session: Session, p: Principal, est: Establishment, *, cpe: str, label: str = "",
        version: str = "") -> tuple[InstalledProduct, int]:
    """Declare one product; returns it and the number of new alerts it brought."""
    policy.authorize(p, "cyber.tw.inventory.write", est)
    name = cpes.parse(cpe)
    if not name.has_version and version.strip():
        name = name.with_version(version)
    if session.scalar(select(InstalledProduct.id).where(
            InstalledProduct.establishment_id == est.id, InstalledProduct.cpe == name.uri())):
        raise Conflict(f"« {name.uri()} » est déjà dans l'inventaire", "already in the inventory",
                       code="duplicate")
    _check_room(session, est, 1)
    item = _row(est, name, label, "form", p)
    session.add(item)
    session.flush()
    alerts = service.rematch_establishment(session, est)
    audit.record(session, actor=p.actor, action="cyber.tw.inventory.add", object_type="inventory",
                 object_id=est.finess, details={"cpe": item.cpe, "alerts": len(alerts)})
    return item, len(alerts)


def remove(session: Session, p: Principal, est: Establishment, item_id: int) -> None:
    policy.authorize(p, "cyber.tw.inventory.write", est)
    item = session.get(InstalledProduct, item_id)
    if item is None or item.establishment_id != est.id:
        raise NotFound("produit introuvable dans cet inventaire", "product not found")
    audit.record(session, actor=p.actor, action="cyber.tw.inventory.remove",
                 object_type="inventory", object_id=est.finess, details={"cpe": item.cpe})
    session.delete(item)
    session.flush()


def import_file(session: Session, p: Principal | None, est: Establishment, data: bytes, *,
                filename: str = "", replace: bool = False,
                actor: audit.Actor | None = None) -> dict[str, object]:
    """Add the products of a CSV or CycloneDX file (``replace``: the file becomes the whole
    inventory). All or nothing: a bad line refuses the file."""
    if p is not None:
        policy.authorize(p, "cyber.tw.inventory.write", est)
    read = sbom.read(data, filename)
    removed = 0
    if replace:
        removed = len(products(session, est))
        session.execute(delete(InstalledProduct).where(
            InstalledProduct.establishment_id == est.id))
    present = set(session.scalars(select(InstalledProduct.cpe).where(
        InstalledProduct.establishment_id == est.id)))
    new: dict[str, InstalledProduct] = {}
    for entry in read.entries:
        uri = entry.name.uri()
        if uri not in present and uri not in new:
            new[uri] = _row(est, entry.name, entry.label, read.fmt, p)
    _check_room(session, est, len(new))
    session.add_all(new.values())
    session.flush()
    alerts = service.rematch_establishment(session, est)
    who = p.actor if p is not None else (actor or audit.Actor.system())
    audit.record(session, actor=who, action="cyber.tw.inventory.import", object_type="inventory",
                 object_id=est.finess, details={"format": read.fmt, "added": len(new),
                                                "removed": removed, "alerts": len(alerts)})
    return {"format": read.fmt, "added": len(new), "already_present": len(read.entries) - len(new),
            "removed": removed, "skipped_without_cpe": read.skipped[:100],
            "new_alerts": len(alerts)}


def _check_room(session: Session, est: Establishment, adding: int) -> None:
    count = session.scalar(select(func.count()).select_from(InstalledProduct).where(
        InstalledProduct.establishment_id == est.id)) or 0
    if count + adding > MAX_PER_ESTABLISHMENT:
        raise Invalid(f"un inventaire compte au plus {MAX_PER_ESTABLISHMENT} produits",
                      "inventory too large", code="inventory")
