"""Pages of what leaves the hub for a project: its extracts (launched from the project page,
each with its risk report as a page, JSON and PDF) and its output checks (an aggregated table
submitted by the researcher, its suppressed version, the reviewer's release decision)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response

from esante.core import policy
from esante.core.errors import DomainError
from esante.core.policy import Principal
from esante.datahub import extracts, projects
from esante.datahub.models import Project
from esante.datahub.pipeline.report import LABELS as SENSITIVITY_LABELS
from esante.web.deps import Csrf, PagePrincipal, SessionDep, WebSessionDep
from esante.web.render import render

router = APIRouter(include_in_schema=False)
BASE = "/donnees-de-sante/projets/{project_id}"


def project_context(session: SessionDep, p: Principal | None, project: Project) -> dict[str, Any]:
    """What the project page shows of its extracts and output checks, to whom."""
    can_read = p is not None and policy.can(p, "datahub.extract.report", project)
    return {
        "extracts": extracts.of_project(session, project) if can_read else [],
        "can_read_extracts": can_read,
        "can_launch": p is not None and project.status == "approved"
        and policy.can(p, "datahub.extract.run", project),
        "engines": extracts.ENGINES, "extract_statuses": extracts.STATUS_LABELS,
    }


def _back(project_id: int, error: str = "") -> RedirectResponse:
    url = f"/donnees-de-sante/projets/{project_id}"
    if error:
        url += f"?erreur={quote(error[:300])}"
    return RedirectResponse(url + "#extractions", status_code=303)


@router.post(BASE + "/extractions", dependencies=[Csrf])
async def launch_extract(project_id: int, request: Request, p: PagePrincipal,
                         session: SessionDep) -> Response:
    project = projects.get_project(session, p, project_id)
    policy.authorize(p, "datahub.extract.run", project)
    form = await request.form()
    try:
        ex = extracts.launch(session, p, project, engine=str(form.get("engine") or "")[:20])
        inline = extracts.runs_inline(session, ex)
    except DomainError as exc:
        session.rollback()
        return _back(project_id, exc.fr)
    if inline:
        extracts.execute(session, ex.id)
        return _back(project_id)
    extract_id = ex.id
    session.commit()  # the worker must find it
    try:
        extracts.dispatch(extract_id)
    except Exception:  # the queue is down: the run stays queued, visible as such
        import logging

        logging.getLogger(__name__).exception("extract %s not queued", extract_id)
    return _back(project_id)


@router.get(BASE + "/extractions/{extract_id}")
def extract_page(project_id: int, extract_id: int, request: Request, p: PagePrincipal,
                 session: SessionDep, ws: WebSessionDep) -> Response:
    project = projects.get_project(session, p, project_id)
    ex = extracts.get(session, p, project, extract_id)
    report = extracts.report_of(ex) if ex.status == "done" else None
    return render(request, "datahub/extract.html", {
        "project": project, "ex": ex, "r": report, "labels": SENSITIVITY_LABELS,
        "engines": extracts.ENGINES, "extract_statuses": extracts.STATUS_LABELS},
        principal=p, ws=ws)


@router.get(BASE + "/extractions/{extract_id}/rapport.json")
def extract_report_json(project_id: int, extract_id: int, p: PagePrincipal,
                        session: SessionDep) -> Response:
    project = projects.get_project(session, p, project_id)
    report = extracts.report_of(extracts.get(session, p, project, extract_id))
    return JSONResponse(report.model_dump(mode="json", exclude={
        "out_dir": True, "tables": {"__all__": {"output_path"}}}), headers={
        "Content-Disposition": f'inline; filename="rapport-extraction-{extract_id}.json"'})


@router.get(BASE + "/extractions/{extract_id}/rapport.pdf")
def extract_report_pdf(project_id: int, extract_id: int, p: PagePrincipal,
                       session: SessionDep) -> Response:
    project = projects.get_project(session, p, project_id)
    path = extracts.pdf_path(extracts.get(session, p, project, extract_id))
    return FileResponse(path, media_type="application/pdf",
                        filename=f"rapport-extraction-{extract_id}.pdf")
