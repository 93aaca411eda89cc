"""JSON routes of the apps domain (``/api/apps``): the catalogue and the doctrine are
public; app files, reviews and connections ask for a token."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, status

from esante.apps import consultation, keys, service
from esante.apps.doctrine import doctrine_out
from esante.apps.schemas import AppFileIn, AppOut, CommentIn, ConsultationIn, DecisionIn
from esante.core.policy import Principal, authorize
from esante.web.deps import ApiPrincipal, SessionDep, api_principal

router = APIRouter(prefix="/apps", tags=["applications référencées"])


def optional_api_principal(request: Request, session: SessionDep) -> Principal | None:
    if not request.headers.get("authorization"):
        return None
    return api_principal(request, session)


MaybePrincipal = Annotated[Principal | None, Depends(optional_api_principal)]


def _out(app: Any) -> dict[str, Any]:
    return AppOut.model_validate(app).model_dump()


@router.get("", summary="Catalogue des applications référencées (public)")
def catalogue(session: SessionDep, q: Annotated[str, Query(max_length=100)] = "",
              category: Annotated[str, Query(max_length=40)] = "") -> list[dict[str, Any]]:
    return [_out(a) for a in service.list_apps(session, query=q, category=category)]


@router.get("/doctrine", summary="Doctrine technique en vigueur (public)")
def doctrine(session: SessionDep) -> dict[str, Any]:
    return doctrine_out(session)


@router.get("/doctrine/versions", summary="Versions de la doctrine (public)")
def doctrine_versions(session: SessionDep) -> list[dict[str, Any]]:
    return [{"version": v.version, "title": v.title, "status": v.status,
             "consultation_ends_on": v.consultation_ends_on.isoformat()
             if v.consultation_ends_on else None} for v in consultation.versions(session)]


@router.get("/doctrine/versions/{version}",
            summary="Une version de la doctrine, ses exigences et les commentaires (public)")
def doctrine_version(version: str, session: SessionDep) -> dict[str, Any]:
    return consultation.version_out(session, consultation.get_version(session, version))


@router.post("/doctrine/versions", status_code=status.HTTP_201_CREATED,
             summary="Ouvrir une nouvelle version à la consultation")
def open_consultation(data: ConsultationIn, p: ApiPrincipal, session: SessionDep) -> dict[str, Any]:
    v = consultation.open_consultation(session, p, version=data.version, title=data.title,
                                       ends_on=data.ends_on)
    return consultation.version_out(session, v)


@router.post("/doctrine/versions/{version}/publish", summary="Publier une version")
def publish_version(version: str, p: ApiPrincipal, session: SessionDep) -> dict[str, Any]:
    return consultation.version_out(session, consultation.publish(session, p, version))


@router.post("/doctrine/requirements/{requirement_id}/comments",
             status_code=status.HTTP_201_CREATED, summary="Commenter une exigence en consultation")
def comment(requirement_id: int, data: CommentIn, p: ApiPrincipal,
            session: SessionDep) -> dict[str, Any]:
    row = consultation.comment(session, p, requirement_id, data.body)
    return {"id": row.id, "body": row.body}


@router.post("/doctrine/comments/{comment_id}/answer", summary="Répondre à un commentaire")
def answer(comment_id: int, data: CommentIn, p: ApiPrincipal, session: SessionDep) -> dict[str, Any]:
    row = consultation.answer(session, p, comment_id, data.body)
    return {"id": row.id, "body": row.body, "answer": row.answer}


@router.get("/connections", summary="Mes applications connectées, et leurs derniers accès")
def my_connections(p: ApiPrincipal, session: SessionDep) -> list[dict[str, Any]]:
    return [c.as_dict() for c in service.connections(session, p)]


@router.delete("/connections/{grant_id}", status_code=status.HTTP_204_NO_CONTENT,
               summary="Retirer l'accès d'une application (tous ses jetons sont révoqués)")
def revoke_connection(grant_id: int, p: ApiPrincipal, session: SessionDep) -> None:
    service.revoke_connection(session, p, grant_id)


@router.get("/review", summary="Dossiers à instruire")
def review_queue(p: ApiPrincipal, session: SessionDep) -> list[dict[str, Any]]:
    authorize(p, "apps.review.list")
    return [_out(a) for a in service.list_apps(session, status="submitted")]


@router.post("/keys/rotate", summary="Renouveler la clé de signature des jetons")
def rotate_keys(p: ApiPrincipal, session: SessionDep) -> dict[str, str]:
    authorize(p, "apps.keys.rotate")
    return {"kid": keys.rotate(session, actor=p.actor).kid}


@router.post("", status_code=status.HTTP_201_CREATED, summary="Déposer le dossier d'une application")
def create(data: AppFileIn, p: ApiPrincipal, session: SessionDep) -> dict[str, Any]:
    return _out(service.create_app(session, p, data))


@router.get("/{app_id}", summary="Une application (publiée : publique ; sinon éditeur et relecteurs)")
def read(app_id: int, p: MaybePrincipal, session: SessionDep) -> dict[str, Any]:
    return _out(service.readable_app(session, p, app_id))


@router.post("/{app_id}/submit", summary="Soumettre le dossier à l'instruction")
def submit(app_id: int, p: ApiPrincipal, session: SessionDep) -> dict[str, Any]:
    return _out(service.submit(session, p, service.get_app(session, app_id)))


@router.post("/{app_id}/decision", summary="Décision motivée : publier, refuser, suspendre, rétablir")
def decide(app_id: int, data: DecisionIn, p: ApiPrincipal, session: SessionDep) -> dict[str, Any]:
    app = service.get_app(session, app_id)
    return _out(service.decide(session, p, app, data.decision, data.reasons))
