"""Pages of the threat watch (French, DSFR): advisories the viewer may read and their
alerts, the cell's publication and CSAF import forms, the national patch progress with its
chart, and each establishment's inventory (form, CSV or CycloneDX upload)."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from pydantic import ValidationError
from sqlalchemy import select
from starlette.datastructures import FormData, UploadFile
from starlette.responses import RedirectResponse, Response

from esante.core import policy
from esante.core.errors import DomainError, Invalid
from esante.core.orgs.models import Establishment
from esante.core.policy import Principal
from esante.cyber.scopes import ESTABLISHMENT_STAFF
from esante.cyber.threatwatch import inventory, scoring, service
from esante.cyber.threatwatch.access import TLPS
from esante.cyber.threatwatch.models import Alert
from esante.cyber.threatwatch.schemas import AdvisoryIn
from esante.web.deps import Csrf, PagePrincipal, SessionDep, WebSessionDep
from esante.web.render import render

router = APIRouter(include_in_schema=False)
BASE = "/cyber/veille"
MAX_FILE = 5 * 1024 * 1024
LABELS = {"status_labels": service.STATUS_LABELS, "severities": scoring.SEVERITY_LABELS,
          "tlps": TLPS}
_BOUND = re.compile(r"(>=|<=|>|<|=)(\S+)")
_BOUND_NAMES = {">=": "versionStartIncluding", ">": "versionStartExcluding",
                "<=": "versionEndIncluding", "<": "versionEndExcluding"}


def _error(request: Request) -> str:
    return request.query_params.get("erreur", "")[:300]


def _back(url: str, exc: DomainError) -> RedirectResponse:
    return RedirectResponse(f"{url}?erreur={quote(exc.fr[:300])}", status_code=303)


def _my_establishments(session: SessionDep, p: Principal) -> list[Establishment]:
    finesses = sorted({g.scope_ref for g in p.grants_for(*ESTABLISHMENT_STAFF)
                       if g.scope_kind == "establishment"})
    if not finesses:
        return []
    return list(session.scalars(select(Establishment).where(Establishment.finess.in_(finesses))
                                .order_by(Establishment.name)))


@router.get(BASE)
def home(request: Request, p: PagePrincipal, session: SessionDep, ws: WebSessionDep,
         page: int = Query(default=1, ge=1, le=1000)) -> Response:
    total, advisories = service.list_advisories(session, p, limit=50, offset=(page - 1) * 50)
    _, alerts = service.list_alerts(session, p, limit=200)
    open_alerts = [a for a in alerts if a.status in ("new", "acknowledged")]
    return render(request, "cyber/threatwatch/home.html", {
        "advisories": advisories, "total": total, "page": page, "alerts": open_alerts,
        "alert_advisory": {a.advisory_id for a in alerts},
        "ests": _my_establishments(session, p), "cell": service.in_cell(p), **LABELS,
    }, principal=p, ws=ws)


# --- the cell: publish, import ---------------------------------------------------------------

def _advisory_form(request: Request, p: Principal, ws: WebSessionDep, *, error: str = "",
                   values: dict[str, str] | None = None, status_code: int = 200) -> Response:
    policy.authorize(p, "cyber.tw.advisory.publish")
    return render(request, "cyber/threatwatch/advisory_form.html", {
        "error": error, "values": values or {"tlp": "CLEAR"}, **LABELS},
        principal=p, ws=ws, status_code=status_code)


@router.get(f"{BASE}/avis/nouveau")
def new_advisory(request: Request, p: PagePrincipal, ws: WebSessionDep) -> Response:
    return _advisory_form(request, p, ws, error=_error(request))


def affected_lines(text: str) -> list[dict[str, str]]:
    """The form's affected products, one a line: a CPE 2.3 name, then bounds such as
    ``>=2.4.0 <2.4.58``."""
    out: list[dict[str, str]] = []
    for n, line in enumerate((x.strip() for x in text.splitlines()), start=1):
        if not line:
            continue
        name, *bounds = line.split()
        item = {"cpe": name}
        for bound in bounds:
            m = _BOUND.fullmatch(bound)
            if not m or m.group(1) == "=":
                raise Invalid(f"produits affectés, ligne {n} : borne « {bound} » illisible "
                              "(>=V, >V, <=V ou <V)", "unreadable bound", code="range")
            key = _BOUND_NAMES[m.group(1)]
            if key in item:
                raise Invalid(f"produits affectés, ligne {n} : borne « {m.group(1)} » en double",
                              "duplicate bound", code="range")
            item[key] = m.group(2)
        out.append(item)
    return out


def _invalid_form(exc: ValidationError) -> Invalid:
    first = exc.errors()[0]
    where = ".".join(str(x) for x in first.get("loc", ()))
    return Invalid(f"formulaire invalide : {where} — {first.get('msg', '')}", "invalid form")


@router.post(f"{BASE}/avis/nouveau", dependencies=[Csrf])
async def create_advisory(request: Request, p: PagePrincipal, session: SessionDep,
                          ws: WebSessionDep) -> Response:
    policy.authorize(p, "cyber.tw.advisory.publish")
    form = await request.form()
    values = {k: str(form.get(k) or "") for k in ("title", "summary", "cve_ids", "cvss_vector",
                                                   "affected", "recommendations", "references",
                                                   "tlp")}
    try:
        try:
            body = AdvisoryIn.model_validate({
                "title": values["title"], "summary": values["summary"],
                "cve_ids": values["cve_ids"].replace(",", " ").split(),
                "cvss_vector": values["cvss_vector"].strip() or None,
                "affected": affected_lines(values["affected"]),
                "recommendations": values["recommendations"],
                "references": values["references"].split(), "tlp": values["tlp"] or "CLEAR"})
        except ValidationError as exc:
            raise _invalid_form(exc) from None
        advisory = service.publish(session, p, body)
    except DomainError as exc:
        session.rollback()
        return _advisory_form(request, p, ws, error=exc.fr, values=values, status_code=422)
    return RedirectResponse(f"{BASE}/avis/{advisory.id}", status_code=303)


@router.post(f"{BASE}/avis/import", dependencies=[Csrf])
async def import_csaf(request: Request, p: PagePrincipal, session: SessionDep) -> Response:
    policy.authorize(p, "cyber.tw.advisory.publish")
    form = await request.form()
    try:
        pasted = str(form.get("document") or "").strip()
        data = pasted.encode() if pasted else await _upload(form)
        try:
            document = json.loads(data)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise Invalid(f"JSON illisible : {exc}", "unreadable JSON", code="json") from None
        tlp = str(form.get("tlp") or "") or None
        advisory, _ = service.import_csaf(session, p, document, tlp=tlp)
    except DomainError as exc:
        session.rollback()
        return _back(f"{BASE}/avis/nouveau", exc)
    return RedirectResponse(f"{BASE}/avis/{advisory.id}", status_code=303)


async def _upload(form: FormData) -> bytes:
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise Invalid("choisissez un fichier", "no file", code="file")
    data = await upload.read(MAX_FILE + 1)
    if len(data) > MAX_FILE:
        raise Invalid(f"fichier trop gros ({MAX_FILE // 1024 // 1024} Mio au plus)",
                      "file too large", code="size")
    return data


# --- an advisory, its alerts, its progress -----------------------------------------------------

@router.get(f"{BASE}/avis/{{advisory_id}}")
def advisory_page(advisory_id: int, request: Request, p: PagePrincipal, session: SessionDep,
                  ws: WebSessionDep) -> Response:
    advisory = service.get_advisory(session, p, advisory_id)
    _, alerts = service.list_alerts(session, p, advisory_id=advisory.id, limit=200)
    names = _names(session, alerts)
    return render(request, "cyber/threatwatch/advisory.html", {
        "a": advisory, "affected": service.affected_of(session, advisory), "alerts": alerts,
        "names": names, "editable": {x.id for x in alerts
                                     if policy.can(p, "cyber.tw.alert.update", x)},
        "events": {x.id: service.alert_events(session, x) for x in alerts[:50]},
        "cell": service.in_cell(p), "alerted": service.alerted_count(session, advisory),
        "error": _error(request), **LABELS}, principal=p, ws=ws)


def _names(session: SessionDep, alerts: list[Alert]) -> dict[int, str]:
    ids = {x.establishment_id for x in alerts}
    if not ids:
        return {}
    return {row[0]: row[1] for row in session.execute(select(
        Establishment.id, Establishment.name).where(Establishment.id.in_(ids)))}


@router.post(f"{BASE}/alertes/{{alert_id}}", dependencies=[Csrf])
async def alert_action(alert_id: int, request: Request, p: PagePrincipal,
                       session: SessionDep) -> Response:
    form = await request.form()
    alert = service.get_alert(session, p, alert_id)
    policy.authorize(p, "cyber.tw.alert.update", alert)
    back = f"{BASE}/avis/{alert.advisory_id}"
    try:
        service.update_alert(session, p, alert, status=str(form.get("status") or ""),
                             note=str(form.get("note") or "")[:5000])
    except DomainError as exc:
        session.rollback()
        return _back(back, exc)
    return RedirectResponse(f"{back}#alerte-{alert_id}", status_code=303)


@router.post(f"{BASE}/avis/{{advisory_id}}/cloture", dependencies=[Csrf])
def close_advisory(advisory_id: int, p: PagePrincipal, session: SessionDep) -> Response:
    advisory = service.get_advisory(session, p, advisory_id)
    service.close_advisory(session, p, advisory)
    return RedirectResponse(f"{BASE}/avis/{advisory.id}", status_code=303)


@router.get(f"{BASE}/avis/{{advisory_id}}/avancement")
def progress_page(advisory_id: int, request: Request, p: PagePrincipal, session: SessionDep,
                  ws: WebSessionDep) -> Response:
    advisory = service.get_advisory(session, p, advisory_id)
    data = service.progress(session, p, advisory)
    return render(request, "cyber/threatwatch/progress.html", {
        "a": advisory, "d": data, "chart": _chart(data), **LABELS}, principal=p, ws=ws)


def _chart(data: dict[str, Any]) -> dict[str, Any]:
    regions = data["by_region"]
    return {"labels": [r["region"] for r in regions],
            "series": [{"label": c["label"], "values": [r["counts"][c["status"]] for r in regions]}
                       for c in data["by_status"]]}


# --- inventories ------------------------------------------------------------------------------

@router.get(f"{BASE}/inventaire/{{finess}}")
def inventory_page(finess: str, request: Request, p: PagePrincipal, session: SessionDep,
                   ws: WebSessionDep) -> Response:
    est = inventory.establishment(session, p, finess[:9], "cyber.tw.inventory.read")
    return render(request, "cyber/threatwatch/inventory.html", {
        "est": est, "items": inventory.products(session, est),
        "can_write": policy.can(p, "cyber.tw.inventory.write", est),
        "error": _error(request), "done": request.query_params.get("ok", "")[:300]},
        principal=p, ws=ws)


@router.post(f"{BASE}/inventaire/{{finess}}", dependencies=[Csrf])
async def inventory_action(finess: str, request: Request, p: PagePrincipal,
                           session: SessionDep) -> Response:
    est = inventory.establishment(session, p, finess[:9], "cyber.tw.inventory.write")
    back = f"{BASE}/inventaire/{est.finess}"
    form = await request.form()
    action = str(form.get("action") or "")
    try:
        if action == "add":
            _, alerts = inventory.add(session, p, est, cpe=str(form.get("cpe") or ""),
                                      label=str(form.get("label") or "")[:300],
                                      version=str(form.get("version") or "")[:200])
            done = f"produit ajouté ; {alerts} nouvelle(s) alerte(s)"
        elif action == "remove":
            raw = str(form.get("product_id") or "")
            if not raw.isdigit():
                raise Invalid("produit à retirer non précisé", "no product")
            inventory.remove(session, p, est, int(raw))
            done = "produit retiré"
        elif action == "import":
            upload = form.get("file")
            result = inventory.import_file(
                session, p, est, await _upload(form),
                filename=upload.filename or "" if isinstance(upload, UploadFile) else "",
                replace=form.get("replace") == "on")
            done = (f"{result['added']} produit(s) ajouté(s) ({result['format']}), "
                    f"{result['new_alerts']} nouvelle(s) alerte(s)")
        else:
            raise Invalid("action inconnue", "unknown action")
    except DomainError as exc:
        session.rollback()
        return _back(back, exc)
    return RedirectResponse(f"{back}?ok={quote(done)}", status_code=303)

