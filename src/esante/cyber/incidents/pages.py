"""Pages of incident declaration and handling (French, DSFR).

The declaration form is built for a stressed officer: five short sections, the draft
saved as typed (htmx, every change), submission once. Times typed in the form are Paris
times."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, UploadFile
from pydantic import ValidationError
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from esante.core import policy
from esante.core.accounts.models import Role
from esante.core.db import utcnow
from esante.core.errors import DomainError, Forbidden
from esante.core.orgs.models import Establishment
from esante.cyber.incidents import service
from esante.cyber.incidents.models import Incident, IncidentTask
from esante.cyber.incidents.rules import (
    CARE_LEVELS,
    CATEGORY_LABELS,
    DATA_LEVELS,
    OBLIGATION_LABELS,
    PARIS,
    SEVERITY_LABELS,
    SPREAD_LEVELS,
    STATUS_LABELS,
)
from esante.cyber.incidents.schemas import IncidentFields
from esante.web.deps import Csrf, PagePrincipal, SessionDep, WebSessionDep
from esante.web.render import render

router = APIRouter(include_in_schema=False)
BASE = "/cyber/incidents"


def _paris(value: str) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value).replace(tzinfo=PARIS)
    except ValueError:
        raise DomainError(f"date invalide : {value[:20]}", "invalid date") from None


def _int(form: FormData, name: str) -> int:
    raw = str(form.get(name) or "0").strip()
    if not raw.isdigit():
        raise DomainError(f"nombre entier attendu pour « {name} »", f"integer expected: {name}")
    return int(raw)


def fields_from_form(form: FormData) -> IncidentFields:
    """The declaration form as IncidentFields (French errors on bad values)."""
    data: dict[str, Any] = {
        "title": str(form.get("title") or "").strip() or None,
        "description": str(form.get("description") or "").strip() or None,
        "detected_at": _paris(str(form.get("detected_at") or "")),
        "started_at": _paris(str(form.get("started_at") or "")),
        "categories": [str(c) for c in form.getlist("categories")] or None,
        "malicious": str(form.get("malicious") or "") or None,
        "care_impact": {"degraded_mode": form.get("degraded_mode") == "on",
                        "transfers": _int(form, "transfers"),
                        "cancelled_care": _int(form, "cancelled_care")},
        "data_impact": {"confidentiality": form.get("confidentiality") == "on",
                        "integrity": form.get("integrity") == "on",
                        "availability": form.get("availability") == "on",
                        "people_affected": _int(form, "people_affected")},
        "operations_impact": str(form.get("operations_impact") or ""),
        "measures_taken": str(form.get("measures_taken") or ""),
        "support_wanted": str(form.get("support_wanted") or ""),
        "third_parties": str(form.get("third_parties") or ""),
        "personal_data_breach": form.get("personal_data_breach") == "on",
        "cnil_notified": form.get("cnil_notified") == "on",
    }
    try:
        return IncidentFields.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise DomainError(f"valeur invalide pour « {where} » : {first['msg']}",
                          f"invalid value for {where}") from None


def _my_establishments(session: SessionDep, p: PagePrincipal) -> list[Establishment]:
    finesses = [g.scope_ref for g in p.grants_for(Role.SECURITY_OFFICER, Role.DIRECTOR)
                if g.scope_kind == "establishment"]
    from sqlalchemy import select

    return list(session.scalars(select(Establishment).where(Establishment.finess.in_(finesses))))


def _form_context(incident: Incident | None, key: str, ests: list[Establishment],
                  error: str = "") -> dict[str, Any]:
    def local(value: datetime | None) -> str:
        return value.astimezone(PARIS).strftime("%Y-%m-%dT%H:%M") if value else ""

    return {"incident": incident, "key": key, "establishments": ests, "error": error,
            "categories": CATEGORY_LABELS, "local": local,
            "now_local": utcnow().astimezone(PARIS).strftime("%Y-%m-%dT%H:%M")}


@router.get(BASE)
def incident_list(request: Request, p: PagePrincipal, session: SessionDep, ws: WebSessionDep,
                  status: str = "", queue: bool = False) -> Response:
    total, rows = service.list_incidents(session, p, status=status[:20] or None,
                                         queue=queue or p.has_role(Role.CYBER_ANALYST),
                                         limit=100)
    names = {e.id: e.name for e in session.query(Establishment).filter(
        Establishment.id.in_({i.establishment_id for i in rows}))} if rows else {}
    return render(request, "cyber/incidents/list.html", {
        "rows": rows, "total": total, "names": names, "status_labels": STATUS_LABELS,
        "severity_labels": SEVERITY_LABELS,
        "mine": _my_establishments(session, p),
        "is_cell": p.has_role(Role.CYBER_ANALYST),
    }, principal=p, ws=ws)


@router.get(f"{BASE}/nouveau")
def new_form(request: Request, p: PagePrincipal, session: SessionDep, ws: WebSessionDep,
             cle: str = "") -> Response:
    ests = _my_establishments(session, p)
    if not ests:
        raise Forbidden("seuls le RSSI et la direction d'un établissement déclarent ses incidents",
                        "only an establishment's security officer or director declares")
    draft = service.find_draft(session, p, cle[:64]) if cle else None
    if draft is not None and draft.status != "draft":
        return RedirectResponse(f"{BASE}/{draft.id}", status_code=303)
    key = draft.idempotency_key if draft else secrets.token_urlsafe(18)
    return render(request, "cyber/incidents/form.html", _form_context(draft, key, ests),
                  principal=p, ws=ws)


@router.post(f"{BASE}/nouveau", dependencies=[Csrf])
async def save_form(request: Request, p: PagePrincipal, session: SessionDep,
                    ws: WebSessionDep) -> Response:
    form = await request.form()
    key = str(form.get("idempotency_key") or "")[:64]
    finess = str(form.get("finess") or "")[:9]
    submit = form.get("action") == "submit"
    autosave = request.headers.get("HX-Request") == "true"
    ests = _my_establishments(session, p)
    if not ests:  # as the form itself: refused, not the form again with its error
        raise Forbidden("seuls le RSSI et la direction d'un établissement déclarent ses incidents",
                        "only an establishment's security officer or director declares")
    try:
        fields = fields_from_form(form)
        incident, _ = service.save_declaration(session, p, finess=finess, idempotency_key=key,
                                               fields=fields, submit=submit)
    except DomainError as exc:
        if autosave:
            session.rollback()
            return Response(f'<p class="fr-message fr-message--error">{_escape(exc.fr)}</p>',
                            status_code=200, media_type="text/html")
        session.rollback()
        draft: Incident | None
        try:  # keep what was typed as a draft, so that nothing is lost
            draft, _ = service.save_declaration(session, p, finess=finess, idempotency_key=key,
                                                fields=fields_from_form(form), submit=False)
            request.state.commit_anyway = True
        except DomainError:
            session.rollback()
            draft = service.find_draft(session, p, key)
        return render(request, "cyber/incidents/form.html",
                      _form_context(draft, key, ests, error=exc.fr), principal=p, ws=ws,
                      status_code=422)
    if autosave:
        saved = utcnow().astimezone(PARIS).strftime("%H:%M:%S")
        return Response(f'<p class="fr-message fr-message--valid">Brouillon enregistré à {saved}'
                        "</p>", media_type="text/html")
    return RedirectResponse(f"{BASE}/{incident.id}", status_code=303)


@router.get(f"{BASE}/{{incident_id}}")
def incident_page(incident_id: int, request: Request, p: PagePrincipal, session: SessionDep,
                  ws: WebSessionDep) -> Response:
    incident = service.get_incident(session, p, incident_id)
    from sqlalchemy import select

    from esante.core.accounts.models import RoleAssignment, User
    from esante.cyber.incidents.models import IncidentAttachment

    est = session.get(Establishment, incident.establishment_id)
    now = utcnow()
    obligations = [(o, o.status(now)) for o in service.obligations_of(session, incident)]
    analysts = list(session.scalars(select(User).join(RoleAssignment).where(
        RoleAssignment.role == Role.CYBER_ANALYST))) if policy.can(
        p, "cyber.incident.triage", incident) else []
    return render(request, "cyber/incidents/detail.html", {
        "i": incident, "est": est, "events": service.timeline(session, incident),
        "obligations": obligations, "status_labels": STATUS_LABELS,
        "categories": CATEGORY_LABELS, "severity_labels": SEVERITY_LABELS,
        "care_levels": CARE_LEVELS, "data_levels": DATA_LEVELS, "spread_levels": SPREAD_LEVELS,
        "tasks": list(session.scalars(select(IncidentTask).where(
            IncidentTask.incident_id == incident.id).order_by(IncidentTask.id))),
        "attachments": list(session.scalars(select(IncidentAttachment).where(
            IncidentAttachment.incident_id == incident.id))),
        "analysts": analysts,
        "can_triage": policy.can(p, "cyber.incident.triage", incident),
        "can_edit": policy.can(p, "cyber.incident.edit", incident),
        "can_note": policy.can(p, "cyber.incident.note", incident),
        "paris": lambda d: d.astimezone(PARIS).strftime("%d/%m/%Y %H:%M") if d else "—",
        "obligation_labels": OBLIGATION_LABELS,
        "open_requests": [e for e in service.timeline(session, incident)
                          if e.kind == "info_request" and e.data.get("open")],
        "error": request.query_params.get("erreur", "")[:300],
    }, principal=p, ws=ws)


def _back(incident_id: int, error: str = "") -> RedirectResponse:
    from urllib.parse import quote

    suffix = f"?erreur={quote(error[:300])}" if error else ""
    return RedirectResponse(f"{BASE}/{incident_id}{suffix}", status_code=303)


@router.post(f"{BASE}/{{incident_id}}/action", dependencies=[Csrf])
async def incident_action(incident_id: int, request: Request, p: PagePrincipal,
                          session: SessionDep) -> Response:
    """Every button of the incident page posts here with ``action``."""
    form = await request.form()
    action = str(form.get("action") or "")
    text = str(form.get("text") or "").strip()[:10_000]
    incident = service.get_incident(session, p, incident_id)
    try:
        if action == "status":
            service.transition(session, p, incident, str(form.get("status") or "")[:20],
                               reason=text, expected_version=_int(form, "version") or None)
        elif action == "qualify":
            service.qualify(session, p, incident, care=_int(form, "care"),
                            data=_int(form, "data"), spread=_int(form, "spread"), comment=text)
        elif action == "assign":
            service.assign(session, p, incident, _int(form, "analyst_id"))
        elif action == "info_request":
            service.request_info(session, p, incident, _required(text))
        elif action == "info_answer":
            service.answer_info(session, p, incident, _int(form, "request_id"), _required(text))
        elif action == "note":
            service.add_note(session, p, incident, _required(text))
        elif action == "task":
            owner = "cell" if form.get("owner") == "cell" else "establishment"
            service.add_task(session, p, incident, _required(text)[:200], owner)
        elif action == "task_done":
            service.complete_task(session, p, incident, _int(form, "task_id"))
        elif action == "escalate":
            targets = [t for t in form.getlist("targets") if t in ("hfds", "crisis_centre", "ars")]
            if not targets:
                raise DomainError("choisir au moins un destinataire", "choose a target")
            service.escalate(session, p, incident, [str(t) for t in targets], _required(text))
        elif action == "report":
            service.submit_report(session, p, incident, str(form.get("obligation") or "")[:30],
                                  text)
        elif action == "attachment":
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise DomainError("aucun fichier choisi", "no file")
            data = await upload.read(10 * 1024 * 1024 + 1)
            service.add_attachment(session, p, incident, filename=upload.filename or "preuve",
                                   declared_type=upload.content_type or "", data=data)
        else:
            raise DomainError("action inconnue", "unknown action")
    except DomainError as exc:
        # Nothing of the failed action is kept; the page says why.
        session.rollback()
        return _back(incident_id, exc.fr)
    return _back(incident_id)


def _required(text: str) -> str:
    if not text:
        raise DomainError("le texte est obligatoire", "text is required")
    return text


def _escape(text: str) -> str:
    from markupsafe import escape

    return str(escape(text))


@router.get(f"{BASE}/{{incident_id}}/rapport/{{obligation}}")
def report_page(incident_id: int, obligation: str, request: Request, p: PagePrincipal,
                session: SessionDep, ws: WebSessionDep) -> Response:
    incident = service.get_incident(session, p, incident_id)
    draft = service.draft_report(session, p, incident, obligation[:30])
    import json

    return render(request, "cyber/incidents/report.html", {
        "i": incident, "draft": draft, "label": OBLIGATION_LABELS[draft.obligation],
        "json": json.dumps(draft.content, ensure_ascii=False, indent=2),
        "can_edit": policy.can(p, "cyber.incident.edit", incident),
    }, principal=p, ws=ws)


# --- security profile ---------------------------------------------------------------------------

@router.get("/cyber/profil/{finess}")
def profile_page(finess: str, request: Request, p: PagePrincipal, session: SessionDep,
                 ws: WebSessionDep) -> Response:
    est, profile = service.get_profile(session, p, finess[:9])
    return render(request, "cyber/profile.html", {
        "est": est, "profile": profile, "saved": request.query_params.get("ok") == "1",
        "can_edit": policy.can(p, "cyber.profile.update", est), "error": "",
    }, principal=p, ws=ws)


@router.post("/cyber/profil/{finess}", dependencies=[Csrf])
async def profile_save(finess: str, request: Request, p: PagePrincipal, session: SessionDep,
                       ws: WebSessionDep) -> Response:
    from esante.cyber.incidents.schemas import ProfileIn

    form = await request.form()
    referents = []
    for n in range(3):
        name = str(form.get(f"ref{n}_name") or "").strip()
        if name:
            referents.append({"name": name, "email": str(form.get(f"ref{n}_email") or "").strip(),
                              "phone": str(form.get(f"ref{n}_phone") or "").strip()})
    raw = {
        "referents": referents, "director": str(form.get("director") or "").strip(),
        "nis2_in_scope": form.get("nis2_in_scope") == "on",
        "critical_systems": str(form.get("critical_systems") or ""),
        "offline_backups": form.get("offline_backups") == "on",
        "last_restore_test": str(form.get("last_restore_test") or "") or None,
        "last_crisis_exercise": str(form.get("last_crisis_exercise") or "") or None,
        "provider_contacts": str(form.get("provider_contacts") or ""),
    }
    try:
        body = ProfileIn.model_validate(raw)
        data = body.model_dump()
        data["referents"] = [r.model_dump(mode="json") for r in body.referents]
        service.save_profile(session, p, finess[:9], data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first["loc"])
        est, profile = service.get_profile(session, p, finess[:9])
        return render(request, "cyber/profile.html", {
            "est": est, "profile": profile, "saved": False, "can_edit": True,
            "error": f"valeur invalide ({where}) : {first['msg']}"}, principal=p, ws=ws,
            status_code=422)
    return RedirectResponse(f"/cyber/profil/{finess[:9]}?ok=1", status_code=303)
