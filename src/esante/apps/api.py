"""JSON routes of the apps domain (``/api/apps``): the catalogue and the doctrine are
public; app files, reviews and connections ask for a token."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, status

from esante.apps import keys, service
from esante.apps.doctrine import doctrine_out
from esante.apps.schemas import AppFileIn, AppOut, DecisionIn
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
