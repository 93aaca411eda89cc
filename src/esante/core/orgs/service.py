"""Organisation rules: regions, GHTs, establishments (FINESS checked)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from esante.core import audit
from esante.core.audit import Actor
from esante.core.errors import Conflict, Invalid, NotFound
from esante.core.identifiers import validate_finess
from esante.core.orgs.data import CATEGORIES, NATIONAL_CELL, REGIONS, region_of_department
from esante.core.orgs.models import Establishment, Ght, Region


def ensure_regions(session: Session) -> int:
    """Insert the 18 regions that are missing; returns how many were added."""
    existing = set(session.scalars(select(Region.code)))
    added = 0
    for code, (name, agency) in REGIONS.items():
        if code not in existing:
            session.add(Region(code=code, name=name, agency_name=agency))
            added += 1
    session.flush()
    return added


@dataclass(frozen=True)
class NationalCell:
    name: str
    description: str
    analysts: int


def national_cell(session: Session) -> NationalCell:
    """The national cyber cell and how many analysts it counts on the platform."""
    from esante.core.accounts.models import Role, RoleAssignment

    analysts = session.scalar(select(func.count(func.distinct(RoleAssignment.user_id))).where(
        RoleAssignment.role == Role.CYBER_ANALYST.value)) or 0
    return NationalCell(name=NATIONAL_CELL[0], description=NATIONAL_CELL[1], analysts=analysts)


def list_regions(session: Session) -> list[Region]:
    return list(session.scalars(select(Region).order_by(Region.name)))


def get_region(session: Session, code: str) -> Region:
    region = session.get(Region, code)
    if region is None:
        raise NotFound(f"région inconnue : {code[:10]}", f"unknown region: {code[:10]}")
    return region


def get_establishment(session: Session, finess: str) -> Establishment:
    finess = validate_finess(finess)
    est = session.scalar(select(Establishment).where(Establishment.finess == finess))
    if est is None:
        raise NotFound(f"aucun établissement pour le FINESS {finess}",
                       f"no establishment with FINESS {finess}")
    return est


def get_or_create_ght(session: Session, *, name: str, region_code: str) -> Ght:
    ght = session.scalar(select(Ght).where(Ght.name == name))
    if ght is None:
        ght = Ght(name=name, region_code=get_region(session, region_code).code)
        session.add(ght)
        session.flush()
    return ght


def create_establishment(
    session: Session,
    *,
    actor: Actor,
    finess: str,
    name: str,
    category: str,
    department: str,
    town: str = "",
    ght_name: str | None = None,
    audited: bool = True,
) -> Establishment:
    finess = validate_finess(finess)
    if category not in CATEGORIES:
        raise Invalid(f"catégorie inconnue : {category[:20]} (attendu : {', '.join(CATEGORIES)})",
                      f"unknown category: {category[:20]}", code="category")
    region_code = region_of_department(department)
    if region_code is None:
        raise Invalid(f"département inconnu : {department[:5]}", f"unknown department: {department[:5]}",
                      code="department")
    if not finess.startswith(department[:2]):
        raise Invalid(f"le FINESS {finess} ne correspond pas au département {department}",
                      f"FINESS {finess} does not match department {department}",
                      code="finess-department")
    if session.scalar(select(Establishment.id).where(Establishment.finess == finess)):
        raise Conflict(f"le FINESS {finess} est déjà enregistré",
                       f"FINESS {finess} already registered", code="finess-taken")
    ght = get_or_create_ght(session, name=ght_name, region_code=region_code) if ght_name else None
    est = Establishment(finess=finess, name=name.strip()[:200], category=category,
                        region_code=region_code, department=department, town=town[:100],
                        ght_id=ght.id if ght else None)
    session.add(est)
    session.flush()
    if audited:
        audit.record(session, actor=actor, action="establishment.create",
                     object_type="establishment", object_id=finess)
    return est


def update_establishment(
    session: Session, *, actor: Actor, est: Establishment, changes: dict[str, str | None]
) -> Establishment:
    if name := changes.get("name"):
        est.name = name.strip()[:200]
    if category := changes.get("category"):
        if category not in CATEGORIES:
            raise Invalid("catégorie inconnue", "unknown category", code="category")
        est.category = category
    if "town" in changes and changes["town"] is not None:
        est.town = changes["town"][:100]
    if "ght_name" in changes:
        name = changes["ght_name"]
        est.ght_id = get_or_create_ght(session, name=name, region_code=est.region_code).id \
            if name else None
    session.flush()
    audit.record(session, actor=actor, action="establishment.update",
                 object_type="establishment", object_id=est.finess,
                 details={"fields": sorted(changes)})
    return est


def search_establishments(
    session: Session, *, region: str | None = None, q: str | None = None,
    category: str | None = None, limit: int = 50, offset: int = 0,
) -> tuple[int, list[Establishment]]:
    stmt = select(Establishment)
    if region:
        stmt = stmt.where(Establishment.region_code == region)
    if category:
        stmt = stmt.where(Establishment.category == category)
    if q:
        like = f"%{q.strip()[:80]}%"
        stmt = stmt.where(or_(Establishment.name.ilike(like), Establishment.finess.ilike(like),
                              Establishment.town.ilike(like)))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(Establishment.name).limit(limit).offset(offset))
    return total, list(rows)


def ght_name(session: Session, est: Establishment) -> str | None:
    return session.get(Ght, est.ght_id).name if est.ght_id else None  # type: ignore[union-attr]
