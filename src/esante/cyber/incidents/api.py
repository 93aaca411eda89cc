"""JSON routes of incident declaration and handling (``/api/cyber``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Query, UploadFile, status
from fastapi.responses import JSONResponse
from starlette.responses import Response

from esante.core.db import utcnow
from esante.core.orgs.models import Establishment
from esante.cyber.incidents import service
from esante.cyber.incidents.models import Incident, IncidentEvent
from esante.cyber.incidents.rules import STATUS_LABELS
from esante.cyber.incidents.schemas import (
    AnswerIn,
    AssignIn,
    AttachmentOut,
    DeclarationIn,
    EscalationIn,
    EventOut,
    IncidentFields,
    IncidentOut,
    ObligationOut,
    ProfileIn,
    ProfileOut,
    Qualification,
    Referent,
    ReportDraftOut,
    ReportIn,
    TaskIn,
    TextIn,
    TransitionIn,
)
from esante.web.deps import ApiPrincipal, SessionDep

router = APIRouter(prefix="/cyber", tags=["cybervigilance : incidents"])
MAX_UPLOAD = 10 * 1024 * 1024


def incident_out(session: SessionDep, incident: Incident) -> IncidentOut:
    est = session.get(Establishment, incident.establishment_id)
    return IncidentOut(
        id=incident.id, reference=incident.reference, finess=incident.finess,
        establishment=est.name if est else "", region_code=incident.region_code,
        status=incident.status, status_label=STATUS_LABELS[incident.status],
        version=incident.version, title=incident.title, description=incident.description,
        detected_at=incident.detected_at, started_at=incident.started_at,
        declared_at=incident.declared_at, categories=incident.categories,
        malicious=incident.malicious, care_impact=incident.care_impact,
        data_impact=incident.data_impact, operations_impact=incident.operations_impact,
        measures_taken=incident.measures_taken, support_wanted=incident.support_wanted,
        third_parties=incident.third_parties, personal_data_breach=incident.personal_data_breach,
        cnil_notified=incident.cnil_notified, nis2_in_scope=incident.nis2_in_scope,
        severity=incident.severity, assignee_id=incident.assignee_id, major=incident.major)


@router.get("/establishments/{finess}/profile", summary="Profil de sécurité d'un établissement")
def get_profile(finess: str, p: ApiPrincipal, session: SessionDep) -> ProfileOut:
    est, profile = service.get_profile(session, p, finess)
    if profile is None:
        return ProfileOut(finess=est.finess, updated_at=None)
    return ProfileOut(finess=est.finess, updated_at=profile.updated_at,
                      referents=[Referent.model_validate(r) for r in profile.referents],
                      director=profile.director,
                      nis2_in_scope=profile.nis2_in_scope,
                      critical_systems=profile.critical_systems,
                      offline_backups=profile.offline_backups,
                      last_restore_test=profile.last_restore_test,
                      last_crisis_exercise=profile.last_crisis_exercise,
                      provider_contacts=profile.provider_contacts)


@router.put("/establishments/{finess}/profile", summary="Enregistrer le profil de sécurité")
def put_profile(finess: str, body: ProfileIn, p: ApiPrincipal, session: SessionDep) -> ProfileOut:
    data = body.model_dump(mode="json")
    data["last_restore_test"] = body.last_restore_test
    data["last_crisis_exercise"] = body.last_crisis_exercise
    service.save_profile(session, p, finess, data)
    return get_profile(finess, p, session)


@router.post("/incidents", summary="Déclarer (ou enregistrer un brouillon) — idempotent",
             responses={200: {"description": "déjà reçu (même clé d'idempotence)"}})
def declare(body: DeclarationIn, p: ApiPrincipal, session: SessionDep) -> JSONResponse:
    fields = IncidentFields.model_validate(body.model_dump(
        exclude={"finess", "idempotency_key", "submit"}, exclude_unset=True))
    incident, created = service.save_declaration(
        session, p, finess=body.finess, idempotency_key=body.idempotency_key, fields=fields,
        submit=body.submit)
    out = incident_out(session, incident)
    return JSONResponse(out.model_dump(mode="json"),
                        status_code=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
                        headers={"Location": f"/api/cyber/incidents/{incident.id}"})


@router.get("/incidents", summary="Incidents visibles (file de la cellule avec queue=true)")
def list_incidents(
    p: ApiPrincipal, session: SessionDep,
    status_: Annotated[str | None, Query(alias="status", max_length=20)] = None,
    finess: Annotated[str | None, Query(max_length=9)] = None,
    region: Annotated[str | None, Query(max_length=2)] = None,
    queue: bool = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, object]:
    total, rows = service.list_incidents(session, p, status=status_, finess=finess,
                                         region=region, queue=queue, limit=limit, offset=offset)
    return {"total": total, "items": [incident_out(session, i) for i in rows]}


@router.get("/incidents/{incident_id}", summary="Un incident")
def get_incident(incident_id: int, p: ApiPrincipal, session: SessionDep) -> IncidentOut:
    return incident_out(session, service.get_incident(session, p, incident_id))


@router.patch("/incidents/{incident_id}", summary="Compléter la déclaration")
def complete(incident_id: int, body: IncidentFields, p: ApiPrincipal, session: SessionDep,
             expected_version: Annotated[int | None, Query()] = None) -> IncidentOut:
    incident = service.get_incident(session, p, incident_id)
    return incident_out(session, service.update_fields(session, p, incident, body,
                                                       expected_version=expected_version))


@router.post("/incidents/{incident_id}/submit", summary="Transmettre un brouillon")
def submit(incident_id: int, p: ApiPrincipal, session: SessionDep) -> IncidentOut:
    incident = service.get_incident(session, p, incident_id)
    return incident_out(session, service.submit(session, p, incident))


@router.post("/incidents/{incident_id}/status", summary="Changer le statut")
def change_status(incident_id: int, body: TransitionIn, p: ApiPrincipal,
                  session: SessionDep) -> IncidentOut:
    incident = service.get_incident(session, p, incident_id)
    return incident_out(session, service.transition(session, p, incident, body.status,
                                                    reason=body.reason,
                                                    expected_version=body.expected_version))


@router.post("/incidents/{incident_id}/qualification", summary="Qualifier (grille de gravité)")
def qualify(incident_id: int, body: Qualification, p: ApiPrincipal,
            session: SessionDep) -> IncidentOut:
    incident = service.get_incident(session, p, incident_id)
    return incident_out(session, service.qualify(session, p, incident, care=body.care,
                                                 data=body.data, spread=body.spread,
                                                 comment=body.comment))


@router.post("/incidents/{incident_id}/assignee", summary="Affecter à un analyste")
def assign(incident_id: int, body: AssignIn, p: ApiPrincipal, session: SessionDep) -> IncidentOut:
    incident = service.get_incident(session, p, incident_id)
    return incident_out(session, service.assign(session, p, incident, body.analyst_id))


@router.post("/incidents/{incident_id}/info-requests", status_code=201,
             summary="Demander des précisions à l'établissement")
def request_info(incident_id: int, body: TextIn, p: ApiPrincipal, session: SessionDep) -> EventOut:
    incident = service.get_incident(session, p, incident_id)
    return _event_out(service.request_info(session, p, incident, body.text))


@router.post("/incidents/{incident_id}/info-answers", status_code=201,
             summary="Répondre à une demande de précisions")
def answer_info(incident_id: int, body: AnswerIn, p: ApiPrincipal, session: SessionDep) -> EventOut:
    incident = service.get_incident(session, p, incident_id)
    return _event_out(service.answer_info(session, p, incident, body.request_id, body.text))


@router.post("/incidents/{incident_id}/notes", status_code=201, summary="Annoter (ARS, cellule)")
def add_note(incident_id: int, body: TextIn, p: ApiPrincipal, session: SessionDep) -> EventOut:
    incident = service.get_incident(session, p, incident_id)
    return _event_out(service.add_note(session, p, incident, body.text))


@router.post("/incidents/{incident_id}/tasks", status_code=201, summary="Ajouter une tâche")
def add_task(incident_id: int, body: TaskIn, p: ApiPrincipal,
             session: SessionDep) -> dict[str, object]:
    incident = service.get_incident(session, p, incident_id)
    task = service.add_task(session, p, incident, body.title, body.owner)
    return {"id": task.id, "title": task.title, "owner": task.owner, "done_at": None}


@router.post("/incidents/{incident_id}/tasks/{task_id}/done", summary="Terminer une tâche")
def task_done(incident_id: int, task_id: int, p: ApiPrincipal,
              session: SessionDep) -> dict[str, object]:
    incident = service.get_incident(session, p, incident_id)
    task = service.complete_task(session, p, incident, task_id)
    return {"id": task.id, "title": task.title, "owner": task.owner, "done_at": task.done_at}


@router.post("/incidents/{incident_id}/escalations", status_code=201,
             summary="Escalader un incident majeur")
def escalate(incident_id: int, body: EscalationIn, p: ApiPrincipal,
             session: SessionDep) -> EventOut:
    incident = service.get_incident(session, p, incident_id)
    return _event_out(service.escalate(session, p, incident, list(body.targets), body.reason))


@router.get("/incidents/{incident_id}/timeline", summary="Chronologie")
def timeline(incident_id: int, p: ApiPrincipal, session: SessionDep) -> list[EventOut]:
    incident = service.get_incident(session, p, incident_id)
    return [_event_out(ev) for ev in service.timeline(session, incident)]


@router.get("/incidents/{incident_id}/obligations", summary="Obligations et échéances")
def obligations(incident_id: int, p: ApiPrincipal, session: SessionDep) -> list[ObligationOut]:
    incident = service.get_incident(session, p, incident_id)
    now = utcnow()
    return [ObligationOut(code=o.code, label=o.label, authority=o.authority, due_at=o.due_at,
                          done_at=o.done_at, status=o.status(now))  # type: ignore[arg-type]
            for o in service.obligations_of(session, incident)]


@router.get("/incidents/{incident_id}/reports/{obligation}/draft",
            summary="Projet de rapport généré depuis la fiche")
def report_draft(incident_id: int, obligation: str, p: ApiPrincipal,
                 session: SessionDep) -> ReportDraftOut:
    incident = service.get_incident(session, p, incident_id)
    d = service.draft_report(session, p, incident, obligation[:30])
    return ReportDraftOut(obligation=d.obligation, text=d.text, content=d.content)


@router.post("/incidents/{incident_id}/reports/{obligation}", status_code=201,
             summary="Transmettre un rapport (relu par le déclarant)")
def report_submit(incident_id: int, obligation: str, body: ReportIn, p: ApiPrincipal,
                  session: SessionDep) -> dict[str, object]:
    incident = service.get_incident(session, p, incident_id)
    report = service.submit_report(session, p, incident, obligation[:30], body.text)
    return {"obligation": report.obligation, "submitted_at": report.submitted_at}


@router.post("/incidents/{incident_id}/attachments", status_code=201,
             summary="Joindre une preuve (chiffrée, empreinte SHA-256)")
async def upload(incident_id: int, p: ApiPrincipal, session: SessionDep,
                 file: Annotated[UploadFile, File()],
                 declared_type: Annotated[str, Form(max_length=80)] = "") -> AttachmentOut:
    data = await file.read(MAX_UPLOAD + 1)
    incident = service.get_incident(session, p, incident_id)
    att = service.add_attachment(session, p, incident, filename=file.filename or "preuve",
                                 declared_type=declared_type or (file.content_type or ""),
                                 data=data)
    return AttachmentOut(id=att.id, filename=att.filename, content_type=att.content_type,
                         size=att.size, sha256=att.sha256, uploaded_at=att.uploaded_at)


@router.get("/incidents/{incident_id}/attachments/{attachment_id}",
            summary="Télécharger une preuve")
def download(incident_id: int, attachment_id: int, p: ApiPrincipal,
             session: SessionDep) -> Response:
    incident = service.get_incident(session, p, incident_id)
    att, data = service.read_attachment(session, p, incident, attachment_id)
    return Response(data, media_type=att.content_type, headers={
        "Content-Disposition": f'attachment; filename="preuve-{att.id}"',
        "X-Content-SHA256": att.sha256})


def _event_out(ev: IncidentEvent) -> EventOut:
    return EventOut(at=ev.at, actor=ev.actor_label, kind=ev.kind, text=ev.text, data=ev.data)
