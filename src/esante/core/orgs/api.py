"""JSON routes for regions and establishments."""

from __future__ import annotations

from fastapi import APIRouter, Query, status
from sqlalchemy import select

from esante.core import audit, policy
from esante.core.accounts.models import RoleAssignment, User
from esante.core.orgs import service
from esante.core.orgs.models import Establishment
from esante.core.orgs.schemas import (
    EstablishmentCreate,
    EstablishmentOut,
    EstablishmentPage,
    EstablishmentUpdate,
    NationalCellOut,
    RegionOut,
    StaffMember,
)
from esante.web.deps import ApiPrincipal, SessionDep

router = APIRouter(tags=["organisations"])


def establishment_out(session: SessionDep, est: Establishment) -> EstablishmentOut:
    return EstablishmentOut(finess=est.finess, name=est.name, category=est.category,
                            region_code=est.region_code, department=est.department,
                            town=est.town, ght=service.ght_name(session, est))


@router.get("/national-cell", summary="La cellule nationale cyber (CERT Santé)")
def national_cell(p: ApiPrincipal, session: SessionDep) -> NationalCellOut:
    policy.authorize(p, "organisation.read")
    cell = service.national_cell(session)
    return NationalCellOut(name=cell.name, description=cell.description, analysts=cell.analysts)


@router.get("/regions", summary="Les 18 régions et leur ARS")
def regions(p: ApiPrincipal, session: SessionDep) -> list[RegionOut]:
    policy.authorize(p, "organisation.read")
    return [RegionOut(code=r.code, name=r.name, agency_name=r.agency_name)
            for r in service.list_regions(session)]


@router.get("/establishments", summary="Rechercher des établissements")
def search(
    p: ApiPrincipal, session: SessionDep,
    region: str | None = Query(default=None, max_length=2),
    category: str | None = Query(default=None, max_length=20),
    q: str | None = Query(default=None, max_length=80),
    limit: int = Query(default=50, ge=1, le=500),
    offset: int = Query(default=0, ge=0),
) -> EstablishmentPage:
    policy.authorize(p, "organisation.read")
    total, rows = service.search_establishments(session, region=region, q=q, category=category,
                                                limit=limit, offset=offset)
    return EstablishmentPage(total=total, items=[establishment_out(session, e) for e in rows])


@router.post("/establishments", status_code=status.HTTP_201_CREATED,
             summary="Enregistrer un établissement")
def create(body: EstablishmentCreate, p: ApiPrincipal, session: SessionDep) -> EstablishmentOut:
    policy.authorize(p, "organisation.create")
    est = service.create_establishment(session, actor=p.actor, finess=body.finess,
                                       name=body.name, category=body.category,
                                       department=body.department, town=body.town,
                                       ght_name=body.ght)
    return establishment_out(session, est)


@router.get("/establishments/{finess}", summary="Un établissement")
def get(finess: str, p: ApiPrincipal, session: SessionDep) -> EstablishmentOut:
    policy.authorize(p, "organisation.read")
    return establishment_out(session, service.get_establishment(session, finess))


@router.patch("/establishments/{finess}", summary="Modifier la fiche d'un établissement")
def update(finess: str, body: EstablishmentUpdate, p: ApiPrincipal,
           session: SessionDep) -> EstablishmentOut:
    est = service.get_establishment(session, finess)
    policy.authorize(p, "establishment.update", est)
    changes = body.model_dump(exclude_unset=True)
    if "ght" in changes:
        changes["ght_name"] = changes.pop("ght")
    return establishment_out(session, service.update_establishment(
        session, actor=p.actor, est=est, changes=changes))


@router.get("/establishments/{finess}/staff",
            summary="Responsables d'un établissement (RSSI, direction)")
def staff(finess: str, p: ApiPrincipal, session: SessionDep) -> list[StaffMember]:
    est = service.get_establishment(session, finess)
    policy.authorize(p, "establishment.staff.read", est)
    rows = session.execute(
        select(User, RoleAssignment.role).join(RoleAssignment)
        .where(RoleAssignment.scope_kind == "establishment",
               RoleAssignment.scope_ref == est.finess)
        .order_by(User.display_name)).all()
    for user, _ in rows:  # names and addresses are personal data: every read is recorded
        audit.record(session, actor=p.actor, action="user.read", object_type="user",
                     object_id=user.id, subject_user_id=user.id,
                     details={"via": f"establishment:{est.finess}:staff"})
    return [StaffMember(user_id=u.id, display_name=u.display_name, email=u.email, role=r)
            for u, r in rows]
