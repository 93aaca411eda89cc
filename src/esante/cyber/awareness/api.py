"""JSON routes of awareness campaigns (``/api/cyber/awareness``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status
from sqlalchemy.orm import Session

from esante.cyber.awareness import service, simulation
from esante.cyber.awareness.models import (
    AwarenessCampaign,
    AwarenessEnrolment,
    AwarenessResult,
    PhishingSimulation,
)
from esante.cyber.awareness.schemas import (
    CampaignIn,
    CampaignOut,
    EnrolIn,
    EnrolmentOut,
    ModuleOut,
    ParticipationOut,
    ParticipationRowOut,
    ReportIn,
    ResultIn,
    ResultOut,
    SimulationIn,
    SimulationOut,
)
from esante.web.deps import ApiPrincipal, SessionDep

router = APIRouter(prefix="/cyber/awareness", tags=["cybervigilance : sensibilisation"])


def campaign_out(session: Session, c: AwarenessCampaign) -> CampaignOut:
    return CampaignOut(id=c.id, title=c.title, description=c.description, status=c.status,
                       starts_on=c.starts_on, ends_on=c.ends_on, published_at=c.published_at,
                       modules=[ModuleOut(id=m.id, position=m.position, title=m.title,
                                          content=m.content, duration_minutes=m.duration_minutes,
                                          quiz=m.quiz, pass_mark=m.pass_mark)
                                for m in service.modules_of(session, c)])


def enrolment_out(e: AwarenessEnrolment) -> EnrolmentOut:
    return EnrolmentOut(id=e.id, campaign_id=e.campaign_id, finess=e.finess,
                        staff_count=e.staff_count, enrolled_at=e.enrolled_at)


def result_out(r: AwarenessResult) -> ResultOut:
    return ResultOut(id=r.id, module_id=r.module_id, participants=r.participants,
                     quiz_taken=r.quiz_taken, quiz_passed=r.quiz_passed,
                     recorded_at=r.recorded_at)


def simulation_out(s: PhishingSimulation) -> SimulationOut:
    return SimulationOut(id=s.id, enrolment_id=s.enrolment_id, finess=s.finess,
                         status=s.status, subject=s.subject, created_at=s.created_at,
                         closed_at=s.closed_at, recipients=s.recipients, clicked=s.clicked,
                         reported=s.reported)


def row_out(r: service.Row) -> ParticipationRowOut:
    return ParticipationRowOut(key=r.key, label=r.label, establishments=r.establishments,
                               staff=r.staff, participants=r.participants, coverage=r.coverage,
                               quiz_taken=r.quiz_taken, quiz_passed=r.quiz_passed,
                               simulated=r.simulated, clicked=r.clicked, reported=r.reported,
                               phishing_reports=r.phishing_reports)


@router.get("/campaigns", summary="Campagnes de sensibilisation")
def list_campaigns(p: ApiPrincipal, session: SessionDep) -> list[CampaignOut]:
    return [campaign_out(session, c) for c in service.list_campaigns(session, p)]


@router.post("/campaigns", status_code=status.HTTP_201_CREATED,
             summary="Rédiger une campagne (cellule nationale)")
def create_campaign(body: CampaignIn, p: ApiPrincipal, session: SessionDep) -> CampaignOut:
    return campaign_out(session, service.create_campaign(session, p, body))


@router.get("/campaigns/{campaign_id}", summary="Une campagne, ses modules et ses quiz")
def get_campaign(campaign_id: int, p: ApiPrincipal, session: SessionDep) -> CampaignOut:
    return campaign_out(session, service.get_campaign(session, p, campaign_id))


@router.post("/campaigns/{campaign_id}/publish", summary="Publier une campagne")
def publish(campaign_id: int, p: ApiPrincipal, session: SessionDep) -> CampaignOut:
    campaign = service.get_campaign(session, p, campaign_id)
    return campaign_out(session, service.publish(session, p, campaign))


@router.post("/campaigns/{campaign_id}/enrolments", status_code=status.HTTP_201_CREATED,
             summary="Inscrire son établissement")
def enrol(campaign_id: int, body: EnrolIn, p: ApiPrincipal, session: SessionDep) -> EnrolmentOut:
    campaign = service.get_campaign(session, p, campaign_id)
    return enrolment_out(service.enrol(session, p, campaign, finess=body.finess,
                                       staff_count=body.staff_count))


@router.get("/campaigns/{campaign_id}/participation",
            summary="Participation : un établissement, une région ou la nation")
def participation(campaign_id: int, p: ApiPrincipal, session: SessionDep,
                  finess: Annotated[str | None, Query(max_length=12)] = None,
                  region: Annotated[str | None, Query(max_length=3)] = None) -> ParticipationOut:
    campaign = service.get_campaign(session, p, campaign_id)
    view = service.participation(session, p, campaign, finess=finess, region=region)
    return ParticipationOut(campaign_id=campaign.id, scope=view.scope, ref=view.ref,
                            total=row_out(view.total), rows=[row_out(r) for r in view.rows],
                            eligible_establishments=view.eligible)


@router.post("/enrolments/{enrolment_id}/results", status_code=status.HTTP_201_CREATED,
             summary="Enregistrer une séance : participants et résultats de quiz (des nombres)")
def record_result(enrolment_id: int, body: ResultIn, p: ApiPrincipal,
                  session: SessionDep) -> ResultOut:
    enrolment = service.get_enrolment(session, p, enrolment_id)
    return result_out(service.record_result(session, p, enrolment, body))


@router.post("/enrolments/{enrolment_id}/simulations", status_code=status.HTTP_201_CREATED,
             summary="Lancer une simulation d'hameçonnage (RSSI de l'établissement)")
def start_simulation(enrolment_id: int, body: SimulationIn, p: ApiPrincipal,
                     session: SessionDep) -> SimulationOut:
    enrolment = service.get_enrolment(session, p, enrolment_id)
    return simulation_out(simulation.start(session, p, enrolment, recipients=body.recipients,
                                           subject=body.subject))


@router.get("/simulations/{simulation_id}", summary="Résultats d'une simulation (des nombres)")
def get_simulation(simulation_id: int, p: ApiPrincipal, session: SessionDep) -> SimulationOut:
    return simulation_out(simulation.get(session, p, simulation_id))


@router.post("/simulations/{simulation_id}/reports",
             summary="Compter le signalement d'un message de test (le .eml transmis)")
def report(simulation_id: int, body: ReportIn, p: ApiPrincipal,
           session: SessionDep) -> SimulationOut:
    sim = simulation.get(session, p, simulation_id)
    simulation.report(session, p, sim, body.eml)
    return simulation_out(sim)


@router.post("/simulations/{simulation_id}/close",
             summary="Clore la simulation : adresses et courriels supprimés, nombres gardés")
def close(simulation_id: int, p: ApiPrincipal, session: SessionDep) -> SimulationOut:
    sim = simulation.get(session, p, simulation_id)
    return simulation_out(simulation.close(session, p, sim))
