"""Pages of phishing reports (French, DSFR): report a message, see its verdict, and for the
security officer publish indicators from it."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from sqlalchemy import select
from starlette.datastructures import UploadFile
from starlette.responses import RedirectResponse, Response

from esante.core import policy
from esante.core.accounts.models import ScopeKind
from esante.core.errors import DomainError, Invalid
from esante.core.orgs.models import Establishment
from esante.core.policy import Principal
from esante.cyber.indicators import service as indicators
from esante.cyber.indicators.api import sharing_of
from esante.cyber.indicators.observables import KIND_LABELS
from esante.cyber.phishing import service
from esante.cyber.phishing.parse import MAX_EML_BYTES, Analysis
from esante.web.deps import Csrf, PagePrincipal, SessionDep, WebSessionDep
from esante.web.render import render

router = APIRouter(include_in_schema=False)
BASE = "/cyber/hameconnage"
LABELS = {"verdict_labels": service.VERDICT_LABELS, "tlp_labels": indicators.TLP_LABELS,
          "pap_labels": indicators.PAP_LABELS, "scope_labels": indicators.SCOPE_LABELS,
          "kind_labels": KIND_LABELS}


def _workplaces(session: SessionDep, p: Principal) -> list[Establishment]:
    finesses = sorted({g.scope_ref for g in p.grants if g.scope_kind == ScopeKind.ESTABLISHMENT})
    if not finesses:
        return []
    return list(session.scalars(select(Establishment).where(
        Establishment.finess.in_(finesses)).order_by(Establishment.name)))


def _home(request: Request, p: Principal, session: SessionDep, ws: WebSessionDep, *,
          error: str = "", status_code: int = 200) -> Response:
    total, rows = service.list_reports(session, p, limit=200)
    return render(request, "cyber/phishing/home.html", {
        "rows": rows, "total": total, "places": _workplaces(session, p), "error": error,
        "max_mib": MAX_EML_BYTES // 1_048_576, **LABELS}, principal=p, ws=ws,
        status_code=status_code)


@router.get(BASE)
def home(request: Request, p: PagePrincipal, session: SessionDep,
         ws: WebSessionDep) -> Response:
    return _home(request, p, session, ws)


@router.post(BASE, dependencies=[Csrf])
async def submit(request: Request, p: PagePrincipal, session: SessionDep,
                 ws: WebSessionDep) -> Response:
    form = await request.form()
    upload = form.get("file")
    try:
        if not isinstance(upload, UploadFile):
            raise Invalid("choisissez le message suspect (.eml) à signaler", "no file")
        raw = await upload.read(MAX_EML_BYTES + 1)
        report = service.submit(session, p, finess=str(form.get("finess") or "")[:9], raw=raw)
    except DomainError as exc:
        session.rollback()
        return _home(request, p, session, ws, error=exc.fr, status_code=422)
    return RedirectResponse(f"{BASE}/{report.id}", status_code=303)


@router.get(f"{BASE}/{{report_id}}")
def report_page(report_id: int, request: Request, p: PagePrincipal, session: SessionDep,
                ws: WebSessionDep) -> Response:
    report = service.get_report(session, p, report_id)
    data = service.details(session, p, report)
    analysis = Analysis.from_dict(data["analysis"])
    return render(request, "cyber/phishing/report.html", {
        "r": report, "a": analysis, "reasons": data["reasons"], "matches": data["matches"],
        "observables": analysis.observables(),
        "can_publish": policy.can(p, "cyber.phishing.publish", report),
        "error": request.query_params.get("erreur", "")[:300], "values": {}, **LABELS},
        principal=p, ws=ws)


@router.post(f"{BASE}/{{report_id}}/action", dependencies=[Csrf])
async def publish(report_id: int, request: Request, p: PagePrincipal,
                  session: SessionDep) -> Response:
    form = await request.form()
    report = service.get_report(session, p, report_id)
    try:
        if str(form.get("action") or "") != "publish":
            raise Invalid("action inconnue", "unknown action")
        sharing = sharing_of(tlp=str(form.get("tlp") or ""), pap=str(form.get("pap") or ""),
                             scope=str(form.get("scope") or ""),
                             scope_region=str(form.get("scope_region") or ""),
                             recipients=str(form.get("recipients") or "")[:4000])
        ev = service.publish(session, p, report,
                             values=[str(v)[:2048] for v in form.getlist("values")][:500],
                             sharing=sharing, title=str(form.get("title") or "")[:200])
    except DomainError as exc:
        session.rollback()
        return RedirectResponse(f"{BASE}/{report_id}?erreur={quote(exc.fr[:300])}",
                                status_code=303)
    return RedirectResponse(f"/cyber/indicateurs/{ev.id}", status_code=303)
