"""JSON routes of the data hub (``/api/datahub``). The catalogue and the registry are
public; the rest asks for a token."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response, status
from sqlalchemy.orm import Session

from esante.core import policy
from esante.core.policy import Principal
from esante.datahub import catalogue, extracts, optout, outputs, projects
from esante.datahub.extract import extract_request
from esante.datahub.models import OptOut
from esante.datahub.schemas import (
    CompletenessIn,
    DecisionIn,
    ExtractIn,
    OpinionIn,
    OptOutIn,
    OptOutOut,
    OutputCheckIn,
    OutputReviewIn,
    ProjectIn,
    ResultsIn,
)
from esante.web.deps import ApiPrincipal, SessionDep, api_principal

router = APIRouter(prefix="/datahub", tags=["entrepôt de données de santé"])


def optional_api_principal(request: Request, session: SessionDep) -> Principal | None:
    """The caller when a token is sent; anonymous otherwise (public routes)."""
    if not request.headers.get("authorization"):
        return None
    return api_principal(request, session)


MaybePrincipal = Annotated[Principal | None, Depends(optional_api_principal)]


# --- catalogue (public) ------------------------------------------------------------------------

@router.get("/datasets", summary="Catalogue des jeux de données (public)")
def list_datasets(session: SessionDep) -> list[dict[str, Any]]:
    return [catalogue.dataset_out(session, ds, with_columns=False)
            for ds in catalogue.list_datasets(session)]


@router.get("/datasets/{slug}", summary="Un jeu de données et son dictionnaire (public)")
def get_dataset(slug: str, session: SessionDep) -> dict[str, Any]:
    return catalogue.dataset_out(session, catalogue.get_dataset(session, slug))


# --- projects ----------------------------------------------------------------------------------

@router.get("/projects", summary="Répertoire public des projets")
def registry(session: SessionDep,
             status_: Annotated[str | None, Query(alias="status", pattern=(
                 "^(submitted|returned|complete|opinion_given|approved|refused|closed)$"))] = None,
             limit: Annotated[int, Query(ge=1, le=500)] = 100,
             offset: Annotated[int, Query(ge=0)] = 0) -> dict[str, Any]:
    total, rows = projects.registry(session, status=status_, limit=limit, offset=offset)
    return {"total": total, "items": [projects.project_out(session, x) for x in rows]}


@router.get("/my-projects", summary="Mes projets, brouillons compris")
def my_projects(p: ApiPrincipal, session: SessionDep) -> list[dict[str, Any]]:
    return [projects.project_out(session, x) for x in projects.mine(session, p)]


@router.get("/review-queue", summary="Files d'évaluation (secrétariat, avis, décision)")
def review_queue(p: ApiPrincipal, session: SessionDep) -> dict[str, list[dict[str, Any]]]:
    return {step: [projects.project_out(session, x) for x in rows]
            for step, rows in projects.queue(session, p).items()}


@router.post("/projects", status_code=status.HTTP_201_CREATED,
             summary="Créer un projet (brouillon)")
def create_project(body: ProjectIn, p: ApiPrincipal, session: SessionDep) -> dict[str, Any]:
    return projects.project_out(session, projects.create(session, p, body), detail=True)


@router.get("/projects/{project_id}", summary="Un projet et sa chronologie (public une fois "
            "déposé)")
def get_project(project_id: int, p: MaybePrincipal, session: SessionDep) -> dict[str, Any]:
    return projects.project_out(session, projects.get_project(session, p, project_id),
                                detail=True)


def _act(session: Session, p: Principal, project_id: int, fn: Any, *args: Any) -> dict[str, Any]:
    project = projects.get_project(session, p, project_id)
    return projects.project_out(session, fn(session, p, project, *args), detail=True)


@router.put("/projects/{project_id}", summary="Modifier son brouillon (ou son projet renvoyé)")
def update_project(project_id: int, body: ProjectIn, p: ApiPrincipal,
                   session: SessionDep) -> dict[str, Any]:
    return _act(session, p, project_id, projects.update, body)


@router.post("/projects/{project_id}/submit", summary="Déposer son projet")
def submit(project_id: int, p: ApiPrincipal, session: SessionDep) -> dict[str, Any]:
    return _act(session, p, project_id, projects.submit)


@router.post("/projects/{project_id}/completeness", summary="Secrétariat : dossier complet ou "
             "renvoyé")
def completeness(project_id: int, body: CompletenessIn, p: ApiPrincipal,
                 session: SessionDep) -> dict[str, Any]:
    return _act(session, p, project_id, projects.check_completeness, body)


@router.post("/projects/{project_id}/opinion", summary="Avis du comité éthique")
def opinion(project_id: int, body: OpinionIn, p: ApiPrincipal,
            session: SessionDep) -> dict[str, Any]:
    return _act(session, p, project_id, projects.give_opinion, body)


@router.post("/projects/{project_id}/decision", summary="Décision d'autorisation")
def decision(project_id: int, body: DecisionIn, p: ApiPrincipal,
             session: SessionDep) -> dict[str, Any]:
    return _act(session, p, project_id, projects.decide, body)


@router.post("/projects/{project_id}/results", summary="Publier les résultats (fin du projet)")
def results(project_id: int, body: ResultsIn, p: ApiPrincipal,
            session: SessionDep) -> dict[str, Any]:
    return _act(session, p, project_id, projects.publish_results, body)


@router.get("/projects/{project_id}/extract-request",
            summary="Demande d'extraction d'un projet autorisé (pour le pipeline)")
def get_extract_request(project_id: int, p: ApiPrincipal, session: SessionDep) -> dict[str, Any]:
    project = projects.get_project(session, p, project_id)
    policy.authorize(p, "datahub.extract.request", project)
    return extract_request(session, project.id)


# --- extracts and output checks ------------------------------------------------------------------

@router.post("/projects/{project_id}/extracts", status_code=status.HTTP_202_ACCEPTED,
             summary="Lancer l'extraction d'un projet autorisé (relecteurs, tiers de confiance)")
def launch_extract(project_id: int, body: ExtractIn, p: ApiPrincipal,
                   session: SessionDep) -> dict[str, Any]:
    project = projects.get_project(session, p, project_id)
    ex = extracts.launch(session, p, project, engine=body.engine)
    if extracts.runs_inline(session, ex):
        return extracts.extract_out(extracts.execute(session, ex.id))
    out = extracts.extract_out(ex)
    session.commit()  # the worker must find it
    try:
        extracts.dispatch(ex.id)
    except Exception:  # the queue is down: the run stays queued, visible as such
        import logging

        logging.getLogger(__name__).exception("extract %s not queued", ex.id)
    return out


@router.get("/projects/{project_id}/extracts",
            summary="Les extractions d'un projet et leurs rapports de risque")
def list_extracts(project_id: int, p: ApiPrincipal, session: SessionDep) -> list[dict[str, Any]]:
    project = projects.get_project(session, p, project_id)
    policy.authorize(p, "datahub.extract.report", project)
    return [extracts.extract_out(x) for x in extracts.of_project(session, project)]


@router.post("/projects/{project_id}/output-checks", status_code=status.HTTP_201_CREATED,
             summary="Soumettre un tableau agrégé (CSV) à la vérification de sortie")
def submit_output(project_id: int, body: OutputCheckIn, p: ApiPrincipal,
                  session: SessionDep) -> dict[str, Any]:
    project = projects.get_project(session, p, project_id)
    return outputs.check_out(outputs.submit(session, p, project, name=body.name, text=body.csv))


@router.get("/projects/{project_id}/output-checks",
            summary="Les tableaux soumis d'un projet (propriétaire, relecteurs)")
def list_outputs(project_id: int, p: ApiPrincipal, session: SessionDep) -> list[dict[str, Any]]:
    project = projects.get_project(session, p, project_id)
    policy.authorize(p, "datahub.output.read", project)
    return [outputs.check_out(x) for x in outputs.of_project(session, p, project)]


@router.post("/projects/{project_id}/output-checks/{check_id}/decision",
             summary="Autoriser ou refuser la sortie d'un tableau, avec son motif")
def review_output(project_id: int, check_id: int, body: OutputReviewIn, p: ApiPrincipal,
                  session: SessionDep) -> dict[str, Any]:
    project = projects.get_project(session, p, project_id)
    check = outputs.get(session, p, project, check_id)
    return outputs.check_out(outputs.review(session, p, check, approve=body.approve,
                                            reason=body.reason))


@router.get("/projects/{project_id}/output-checks/{check_id}/released",
            summary="Le tableau vérifié dont la sortie est autorisée (CSV)")
def released_output(project_id: int, check_id: int, p: ApiPrincipal,
                    session: SessionDep) -> Response:
    project = projects.get_project(session, p, project_id)
    check = outputs.get(session, p, project, check_id)
    return Response(outputs.released_csv(session, p, check), media_type="text/csv; charset=utf-8")


# --- opt-outs ----------------------------------------------------------------------------------

def _optout(row: OptOut) -> OptOutOut:
    return OptOutOut(id=row.id, recorded_at=row.recorded_at, withdrawn_at=row.withdrawn_at,
                     active=row.withdrawn_at is None, channel=row.channel)


@router.get("/opt-outs", summary="Mes oppositions")
def my_opt_outs(p: ApiPrincipal, session: SessionDep) -> list[OptOutOut]:
    return [_optout(x) for x in optout.list_mine(session, p)]


@router.post("/opt-outs", status_code=status.HTTP_201_CREATED,
             summary="M'opposer à la réutilisation de mes données (NIR)")
def record_opt_out(body: OptOutIn, p: ApiPrincipal, session: SessionDep) -> OptOutOut:
    return _optout(optout.record(session, p, nir=body.nir, channel="api"))


@router.post("/opt-outs/{opt_out_id}/withdraw", summary="Retirer mon opposition")
def withdraw_opt_out(opt_out_id: int, p: ApiPrincipal, session: SessionDep) -> OptOutOut:
    return _optout(optout.withdraw(session, p, opt_out_id))


@router.get("/opt-outs/count", summary="Nombre d'oppositions actives")
def opt_out_count(p: ApiPrincipal, session: SessionDep) -> dict[str, int]:
    return {"active": optout.count_active(session, p)}
