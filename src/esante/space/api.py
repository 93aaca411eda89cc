"""JSON routes of the citizen space (``/api/space``): the holder's own space, behind the
second factor. The letter (activate, object) is for any citizen account."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from starlette.responses import Response

from esante.core.errors import DomainError
from esante.space import agenda, documents, history, privacy, profile, service
from esante.space.export import archive
from esante.space.models import Space
from esante.space.schemas import (
    AppointmentIn,
    CareIn,
    CloseIn,
    EntryIn,
    GuardianIn,
    HideIn,
    LetterIn,
    MeasurementIn,
    RppsIn,
)
from esante.web.deps import ApiPrincipal, SessionDep

router = APIRouter(prefix="/space", tags=["espace santé"])


def space_out(space: Space) -> dict[str, Any]:
    return {"id": space.id, "patient": f"Patient/{space.patient_fid}", "status": space.status,
            "status_label": service.STATUS_LABELS[space.status],
            "objection_until": space.objection_until, "activated_at": space.activated_at,
            "exported_at": space.exported_at, "closed_at": space.closed_at,
            "purge_after": space.purge_after}


def _letter(request: Request, fn: Callable[..., Space], *args: Any, **kwargs: Any) -> Space:
    try:
        return fn(*args, **kwargs)
    except DomainError as exc:
        if exc.code == "code":  # keep the failed attempt's count and its audit record
            request.state.commit_anyway = True
        raise


@router.get("", summary="Mon espace santé (état)")
def get_space(p: ApiPrincipal, session: SessionDep) -> dict[str, Any]:
    return space_out(service.require(session, p))


@router.post("/activate", summary="Activer mon espace avec le code du courrier")
def activate(body: LetterIn, request: Request, p: ApiPrincipal,
             session: SessionDep) -> dict[str, Any]:
    return space_out(_letter(request, service.activate, session, p, ins=body.ins, code=body.code))


@router.post("/objection", summary="M'opposer à la création de mon espace (période d'opposition)")
def object_to(body: LetterIn, request: Request, p: ApiPrincipal,
              session: SessionDep) -> dict[str, Any]:
    return space_out(_letter(request, service.object_to, session, p, ins=body.ins,
                             code=body.code))


@router.post("/objection/withdraw", summary="Retirer mon opposition")
def withdraw(body: LetterIn, request: Request, p: ApiPrincipal,
             session: SessionDep) -> dict[str, Any]:
    return space_out(_letter(request, service.withdraw_objection, session, p, ins=body.ins,
                             code=body.code))


# --- documents -----------------------------------------------------------------------------

@router.get("/documents", summary="Mes documents, par catégorie et date (par pages de 100)")
def list_documents(p: ApiPrincipal, session: SessionDep, response: Response,
                   category: Annotated[str, Query(max_length=20)] = "",
                   page: Annotated[int, Query(ge=1, le=100_000)] = 1) -> list[dict[str, Any]]:
    """One page of the documents, newest first; ``X-Total-Count``: how many in all."""
    space = service.require(session, p)
    total, docs = documents.page_of_documents(session, p, space, category=category, page=page)
    response.headers["X-Total-Count"] = str(total)
    return [asdict(d) | {"category_label": d.category_label} for d in docs]


@router.post("/documents", status_code=201, summary="Déposer un document (PDF, JPEG, PNG)")
async def upload(p: ApiPrincipal, session: SessionDep, file: Annotated[UploadFile, File()],
                 category: Annotated[str, Form(max_length=20)] = "autre",
                 title: Annotated[str, Form(max_length=200)] = "",
                 date_: Annotated[date | None, Form(alias="date")] = None) -> dict[str, Any]:
    space = service.require(session, p, write=True)
    data = await file.read()
    doc = documents.upload(session, p, space, filename=file.filename or "", data=data,
                           category=category, title=title, when=date_)
    return asdict(doc)


@router.get("/documents/{fid}/content", summary="Le fichier d'un document")
def content(fid: str, p: ApiPrincipal, session: SessionDep) -> Response:
    space = service.require(session, p)
    doc, data = documents.open_document(session, p, space, fid[:64])
    return Response(data, media_type=doc.content_type or "application/octet-stream",
                    headers={"Content-Disposition": "inline"})


@router.post("/documents/{fid}/hide", summary="Masquer (ou démasquer) un document aux professionnels")
def hide(fid: str, body: HideIn, p: ApiPrincipal, session: SessionDep) -> dict[str, Any]:
    space = service.require(session, p, write=True)
    privacy.hide_document(session, p, space, fid[:64], hidden=body.hidden)
    return {"document": fid, "hidden": body.hidden}


# --- privacy -------------------------------------------------------------------------------

@router.get("/privacy", summary="Mes choix de confidentialité (Consent FHIR)")
def list_choices(p: ApiPrincipal, session: SessionDep) -> list[dict[str, Any]]:
    space = service.require(session, p)
    return [asdict(c) | {"kind_label": c.kind_label}
            for c, _ in privacy.choices(session, p, space)]


@router.post("/privacy/blocks", summary="Bloquer un professionnel (RPPS)")
def block(body: RppsIn, p: ApiPrincipal, session: SessionDep) -> dict[str, Any]:
    space = service.require(session, p, write=True)
    privacy.block(session, p, space, body.rpps)
    return {"rpps": body.rpps, "blocked": True}


@router.post("/privacy/blocks/{rpps}/remove", summary="Débloquer un professionnel")
def unblock(rpps: str, p: ApiPrincipal, session: SessionDep) -> dict[str, Any]:
    space = service.require(session, p, write=True)
    privacy.block(session, p, space, rpps[:11], blocked=False)
    return {"rpps": rpps, "blocked": False}


@router.post("/privacy/care-team", summary="Déclarer mon médecin traitant ou mon équipe de soins")
def care(body: CareIn, p: ApiPrincipal, session: SessionDep) -> dict[str, Any]:
    space = service.require(session, p, write=True)
    privacy.declare_care(session, p, space, body.rpps, role=body.role)
    return {"rpps": body.rpps, "role": body.role}


# --- access history ------------------------------------------------------------------------

def _history(session: SessionDep, p: ApiPrincipal, since: str, until: str, who: str,
             break_glass: bool, limit: int, offset: int,
             app: str = "") -> tuple[int, list[history.Entry]]:
    space = service.require(session, p)
    return history.entries(session, p, space, since=since, until=until, who=who,
                           break_glass_only=break_glass, app=app, limit=limit, offset=offset)


@router.get("/access-history", summary="Qui a accédé à mon dossier")
def access_history(p: ApiPrincipal, session: SessionDep,
                   since: Annotated[str, Query(max_length=10)] = "",
                   until: Annotated[str, Query(max_length=10)] = "",
                   who: Annotated[str, Query(max_length=5)] = "",
                   break_glass: bool = False,
                   app: Annotated[str, Query(max_length=64, description=(
                       "client_id d'une application (SMART), ou « - » : sans application"))] = "",
                   limit: Annotated[int, Query(ge=1, le=1000)] = history.PAGE,
                   offset: Annotated[int, Query(ge=0)] = 0) -> dict[str, Any]:
    total, rows = _history(session, p, since, until, who, break_glass, limit, offset, app)
    return {"total": total, "entries": [asdict(e) for e in rows]}


@router.get("/access-history.csv", summary="Historique des accès (CSV)")
def access_history_csv(p: ApiPrincipal, session: SessionDep,
                       since: Annotated[str, Query(max_length=10)] = "",
                       until: Annotated[str, Query(max_length=10)] = "",
                       who: Annotated[str, Query(max_length=5)] = "",
                       break_glass: bool = False,
                       app: Annotated[str, Query(max_length=64)] = "") -> Response:
    _total, rows = _history(session, p, since, until, who, break_glass, 100_000, 0, app)
    return Response(history.to_csv(rows), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="acces.csv"'})


# --- export and closure --------------------------------------------------------------------

@router.get("/export", summary="Tout télécharger (Bundle FHIR + fichiers, ZIP)")
def export(p: ApiPrincipal, session: SessionDep) -> Response:
    space = service.require(session, p)
    return Response(archive(session, p, space), media_type="application/zip",
                    headers={"Content-Disposition": 'attachment; filename="mon-espace-sante.zip"'})


@router.post("/close", summary="Clôturer mon espace (après téléchargement)")
def close(body: CloseIn, p: ApiPrincipal, session: SessionDep) -> dict[str, Any]:
    return space_out(service.close(session, p, confirm=body.confirm))


# --- health profile ------------------------------------------------------------------------

@router.get("/profile", summary="Mon profil de santé (allergies, antécédents, traitements, vaccins)")
def get_profile(p: ApiPrincipal, session: SessionDep) -> dict[str, Any]:
    space = service.require(session, p)
    return {section: [asdict(e) for e in profile.entries(session, p, space, section)]
            for section in profile.SECTIONS}


@router.post("/profile/{section}", status_code=201, summary="Ajouter une entrée à mon profil")
def add_entry(section: str, body: EntryIn, p: ApiPrincipal, session: SessionDep) -> dict[str, Any]:
    space = service.require(session, p, write=True)
    fid = profile.add_entry(session, p, space, section[:30], text=body.text, when=body.date)
    return {"id": fid, "section": section}


@router.get("/measurements/{kind}", summary="Une mesure dans le temps")
def get_series(kind: str, p: ApiPrincipal, session: SessionDep) -> dict[str, Any]:
    space = service.require(session, p)
    points = profile.series(session, p, space, kind[:30])
    return {"kind": kind, "unit": profile.MEASURES[kind].unit,
            "points": [asdict(pt) for pt in points]}


@router.post("/measurements/{kind}", status_code=201, summary="Saisir une mesure")
def add_measurement(kind: str, body: MeasurementIn, p: ApiPrincipal,
                    session: SessionDep) -> dict[str, Any]:
    space = service.require(session, p, write=True)
    fid = profile.add_measurement(session, p, space, kind[:30], value=body.value,
                                  second=body.second, at=body.at, confirmed=body.confirm)
    return {"id": fid, "kind": kind}


# --- agenda --------------------------------------------------------------------------------

@router.get("/appointments", summary="Mes rendez-vous (à venir, ou passés)")
def appointments(p: ApiPrincipal, session: SessionDep, past: bool = False) -> list[dict[str, Any]]:
    space = service.require(session, p)
    return [asdict(a) for a in agenda.upcoming(session, p, space, past=past)]


@router.post("/appointments", status_code=201, summary="Ajouter un rendez-vous")
def add_appointment(body: AppointmentIn, p: ApiPrincipal, session: SessionDep) -> dict[str, Any]:
    space = service.require(session, p, write=True)
    fid = agenda.add(session, p, space, start=body.start, minutes=body.minutes, what=body.what,
                     with_whom=body.with_whom)
    return {"id": fid}


# --- guardians -----------------------------------------------------------------------------

def _guardianship_out(g: Any, email: str = "") -> dict[str, Any]:
    return {"id": g.id, "patient": f"Patient/{g.patient_fid}", "user": email or g.user_id,
            "proof": g.proof, "since": g.since, "ended_at": g.ended_at,
            "end_reason": g.end_reason}


@router.post("/guardians", status_code=201, summary="Enregistrer le tuteur d'un mineur (agent)")
def add_guardian(body: GuardianIn, p: ApiPrincipal, session: SessionDep) -> dict[str, Any]:
    from esante.core.policy import authorize
    from esante.space import guardians

    authorize(p, "space.admin")
    g = guardians.add(session, patient_fid=body.patient, email=body.email, proof=body.proof,
                      since=body.since, actor=p.actor)
    return _guardianship_out(g, body.email)


@router.post("/guardians/{gid}/remove", summary="Mettre fin à une tutelle (agent)")
def remove_guardian(gid: int, p: ApiPrincipal, session: SessionDep) -> dict[str, Any]:
    from esante.core.policy import authorize
    from esante.space import guardians

    authorize(p, "space.admin")
    return _guardianship_out(guardians.remove(session, guardianship_id=gid, actor=p.actor))


@router.get("/minors", summary="Les espaces des mineurs dont je suis tuteur")
def minors(p: ApiPrincipal, session: SessionDep) -> list[dict[str, Any]]:
    from esante.space import guardians

    return [space_out(s) for s in guardians.minors_of(session, p)]


@router.get("/minors/{patient_fid}", summary="L'espace d'un mineur (tuteur) : état et tuteurs")
def minor(patient_fid: str, p: ApiPrincipal, session: SessionDep) -> dict[str, Any]:
    from esante.space import guardians

    space = guardians.require(session, p, patient_fid)
    return space_out(space) | {"guardians": [
        {"email": u.email, "proof": g.proof, "since": g.since}
        for g, u in guardians.of_space(session, space)]}


@router.get("/minors/{patient_fid}/documents", summary="Les documents d'un mineur (tuteur)")
def minor_documents(patient_fid: str, p: ApiPrincipal, session: SessionDep) -> list[dict[str, Any]]:
    from esante.space import guardians

    space = guardians.require(session, p, patient_fid)
    return [asdict(d) | {"category_label": d.category_label}
            for d in documents.list_documents(session, p, space)]


# --- research: the data hub's opt-out register ---------------------------------------------

def _objection_out(row: Any) -> dict[str, Any]:
    return {"objecting": row is not None and row.withdrawn_at is None,
            "recorded_at": row.recorded_at if row else None,
            "withdrawn_at": row.withdrawn_at if row else None}


@router.get("/research-objection", summary="Mon opposition à la réutilisation pour la recherche")
def research_objection(p: ApiPrincipal, session: SessionDep) -> dict[str, Any]:
    from esante.space import research

    return _objection_out(research.current(session, p, service.require(session, p)))


@router.post("/research-objection", summary="M'opposer à la réutilisation de mes données")
def research_object(p: ApiPrincipal, session: SessionDep) -> dict[str, Any]:
    from esante.space import research

    return _objection_out(research.object_to(session, p, service.require(session, p, write=True)))


@router.post("/research-objection/withdraw", summary="Retirer mon opposition à la recherche")
def research_withdraw(p: ApiPrincipal, session: SessionDep) -> dict[str, Any]:
    from esante.space import research

    return _objection_out(research.withdraw(session, p, service.require(session, p, write=True)))
