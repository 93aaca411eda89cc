"""JSON routes of the dashboards (``/api/cyber/dashboards``); ``?format=csv`` exports."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from starlette.responses import Response

from esante.cyber.dashboards import export, service
from esante.cyber.dashboards.schemas import Dashboard
from esante.web.deps import ApiPrincipal, SessionDep

router = APIRouter(prefix="/cyber/dashboards", tags=["cybervigilance : tableaux de bord"])
Format = Annotated[Literal["json", "csv"], Query(description="json (défaut) ou csv")]
RegionCode = Annotated[str, Path(min_length=2, max_length=2, pattern="^[0-9]{2}$")]
Finess = Annotated[str, Path(max_length=12)]  # checked (key included) by the service
CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}}, "description": "le tableau de bord"}}


def answer(d: Dashboard, fmt: str) -> Dashboard | Response:
    if fmt == "csv":
        return csv_response(d)
    return d


def csv_response(d: Dashboard) -> Response:
    return Response(export.to_csv(d), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{export.filename(d)}"',
                             "Cache-Control": "no-store"})


@router.get("/national", summary="Tableau de bord national", response_model=Dashboard,
            responses=CSV_RESPONSE)
def national(p: ApiPrincipal, session: SessionDep, format: Format = "json") -> Dashboard | Response:
    return answer(service.national(session, p), format)


@router.get("/region/{code}", summary="Tableau de bord d'une région", response_model=Dashboard,
            responses=CSV_RESPONSE)
def region(code: RegionCode, p: ApiPrincipal, session: SessionDep,
           format: Format = "json") -> Dashboard | Response:
    return answer(service.regional(session, p, code), format)


@router.get("/establishment/{finess}", summary="Tableau de bord d'un établissement",
            response_model=Dashboard, responses=CSV_RESPONSE)
def establishment(finess: Finess, p: ApiPrincipal, session: SessionDep,
                  format: Format = "json") -> Dashboard | Response:
    return answer(service.establishment(session, p, finess), format)
