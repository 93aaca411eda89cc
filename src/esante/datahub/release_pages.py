"""Pages of what leaves the hub for a project: its extracts (launched from the project page,
each with its risk report as a page, JSON and PDF) and its output checks (an aggregated table
submitted by the researcher, its suppressed version, the reviewer's release decision)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from starlette.datastructures import UploadFile
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response

from esante.core import policy
from esante.core.errors import DomainError, Invalid
from esante.core.policy import Principal
from esante.datahub import extracts, outputs, projects
from esante.datahub.models import Project
from esante.datahub.pipeline.report import LABELS as SENSITIVITY_LABELS
from esante.datahub.pipeline.ttp import PipelineSettings
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
        "output_checks": outputs.of_project(session, p, project),
        "can_submit_output": p is not None and project.status == "approved"
        and policy.can(p, "datahub.output.submit", project),
        "output_statuses": outputs.STATUS_LABELS,
        "output_threshold": PipelineSettings().small_cell_threshold,
    }


def _back(project_id: int, error: str = "", anchor: str = "extractions") -> RedirectResponse:
    url = f"/donnees-de-sante/projets/{project_id}"
    if error:
        url += f"?erreur={quote(error[:300])}"
    return RedirectResponse(f"{url}#{anchor}", status_code=303)


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


# --- output checks ---------------------------------------------------------------------------

async def _table_text(form: Any) -> tuple[str, str]:
    """The table from the form: an uploaded CSV file, or the text pasted in the box."""
    upload = form.get("table")
    name = str(form.get("name") or "").strip()[:200]
    if isinstance(upload, UploadFile) and upload.filename:
        raw = await upload.read(outputs.MAX_BYTES + 1)
        if len(raw) > outputs.MAX_BYTES:
            raise Invalid("tableau trop volumineux (1 Mo au plus)", "table too large")
        try:
            return name or upload.filename[:200], raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise Invalid(f"{upload.filename[:100]} : encodage illisible (UTF-8 attendu)",
                          "not UTF-8") from None
    text = str(form.get("csv") or "")
    if not text.strip():
        raise Invalid("joignez un fichier CSV ou collez le tableau", "no table given")
    return name or "tableau", text


@router.post(BASE + "/sorties", dependencies=[Csrf])
async def submit_output(project_id: int, request: Request, p: PagePrincipal,
                        session: SessionDep) -> Response:
    project = projects.get_project(session, p, project_id)
    policy.authorize(p, "datahub.output.submit", project)
    form = await request.form()
    try:
        name, text = await _table_text(form)
        check = outputs.submit(session, p, project, name=name, text=text)
    except DomainError as exc:
        session.rollback()
        return _back(project_id, exc.fr, anchor="sorties")
    return RedirectResponse(f"/donnees-de-sante/projets/{project_id}/sorties/{check.id}",
                            status_code=303)


@router.get(BASE + "/sorties/{check_id}")
def output_page(project_id: int, check_id: int, request: Request, p: PagePrincipal,
                session: SessionDep, ws: WebSessionDep) -> Response:
    project = projects.get_project(session, p, project_id)
    check = outputs.get(session, p, project, check_id)
    can_review = check.status == "pending" and policy.can(p, "datahub.output.review", project)
    original = outputs.original(session, p, check) if can_review else None
    return render(request, "datahub/output_check.html", {
        "project": project, "check": check, "checked": outputs.read_checked(check),
        "original": original, "can_review": can_review, "statuses": outputs.STATUS_LABELS,
        "error": request.query_params.get("erreur", "")[:300]}, principal=p, ws=ws)


@router.post(BASE + "/sorties/{check_id}/decision", dependencies=[Csrf])
async def output_decision(project_id: int, check_id: int, request: Request, p: PagePrincipal,
                          session: SessionDep) -> Response:
    project = projects.get_project(session, p, project_id)
    check = outputs.get(session, p, project, check_id)
    policy.authorize(p, "datahub.output.review", project)
    form = await request.form()
    url = f"/donnees-de-sante/projets/{project_id}/sorties/{check_id}"
    try:
        outputs.review(session, p, check, approve=form.get("decision") == "approve",
                       reason=str(form.get("reason") or "")[:5000])
    except DomainError as exc:
        session.rollback()
        return RedirectResponse(f"{url}?erreur={quote(exc.fr[:300])}", status_code=303)
    return RedirectResponse(url, status_code=303)


@router.get(BASE + "/sorties/{check_id}/tableau.csv")
def output_csv(project_id: int, check_id: int, p: PagePrincipal,
               session: SessionDep) -> Response:
    project = projects.get_project(session, p, project_id)
    check = outputs.get(session, p, project, check_id)
    text = outputs.released_csv(session, p, check)
    return Response(text, media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="sortie-{check_id}.csv"'})
