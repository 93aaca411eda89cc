"""Pages of the citizen space (``/espace``, French, DSFR): the letter (activate or object),
the home page, documents, privacy choices, access history, download and closure. Every
page but the letter needs an active space and a session opened with a second factor."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from starlette.responses import RedirectResponse, Response

from esante.core.errors import DomainError
from esante.core.policy import Principal, authorize
from esante.space import agenda, documents, history, privacy, professional, profile, service
from esante.space.export import archive
from esante.space.models import Space
from esante.web.deps import Csrf, PagePrincipal, SessionDep, WebSessionDep
from esante.web.render import render

router = APIRouter(include_in_schema=False)
BASE = "/espace"
PARIS = ZoneInfo("Europe/Paris")


def _back(path: str, error: str = "", ok: str = "") -> RedirectResponse:
    sep = "&" if "?" in path else "?"
    if error:
        return RedirectResponse(f"{path}{sep}erreur={quote(error[:300])}", status_code=303)
    return RedirectResponse(f"{path}{sep}ok={ok}" if ok else path, status_code=303)


def _gate(session: SessionDep, p: Principal, *, write: bool = False) -> Space | Response:
    """The holder's space, or where to go instead (the letter, or the second factor).
    Only citizens have a space: anyone else is refused."""
    authorize(p, "space.activate")
    try:
        return service.require(session, p, write=write)
    except service.SecondFactorRequired:
        return RedirectResponse("/account/totp?espace=1", status_code=303)
    except DomainError:
        return RedirectResponse(BASE + "/courrier", status_code=303)


def connected_apps(session: SessionDep, p: Principal) -> list[Any]:
    """'Applications connectées': the apps the holder allowed (the apps domain)."""
    from esante.apps.service import connections

    return connections(session, p, last=1)


def citizen_mailbox(session: SessionDep, p: Principal) -> Any:
    """Her secure-messaging mailbox (opened with the space), if any."""
    from esante.messaging import mailboxes

    return next((b for b in mailboxes.of_user(session, p) if b.kind == "citizen"), None)


def _ctx(request: Request) -> dict[str, Any]:
    return {"error": request.query_params.get("erreur", "")[:300],
            "ok": request.query_params.get("ok", "")[:20],
            "categories": documents.CATEGORIES}


@router.get(BASE)
def home(request: Request, p: PagePrincipal, session: SessionDep, ws: WebSessionDep) -> Response:
    space = _gate(session, p)
    if isinstance(space, Response):
        return space
    counts = documents.counts(session, p, space)
    _total, recent = history.entries(session, p, space, who="pro", limit=5)
    return render(request, "space/home.html", {
        **_ctx(request), "space": space, "counts": counts, "recent": recent,
        "apps": connected_apps(session, p), "mailbox": citizen_mailbox(session, p),
        "status_labels": service.STATUS_LABELS},
        principal=p, ws=ws)


@router.get(BASE + "/courrier")
def letter_form(request: Request, p: PagePrincipal, session: SessionDep,
                ws: WebSessionDep) -> Response:
    authorize(p, "space.activate")
    space = service.for_holder(session, p.user)
    return render(request, "space/letter.html", {**_ctx(request), "space": space},
                  principal=p, ws=ws)


@router.post(BASE + "/courrier", dependencies=[Csrf])
def letter(request: Request, p: PagePrincipal, session: SessionDep,
           ins: Annotated[str, Form(max_length=30)] = "",
           code: Annotated[str, Form(max_length=30)] = "",
           action: Annotated[str, Form(max_length=10)] = "activate") -> Response:
    fns: dict[str, Callable[..., Space]] = {
        "activate": service.activate, "object": service.object_to,
        "withdraw": service.withdraw_objection}
    authorize(p, "space.activate")
    if action not in fns:
        return _back(BASE + "/courrier", "action inconnue")
    try:
        fns[action](session, p, ins=ins, code=code)
    except DomainError as exc:
        if exc.code == "code":
            request.state.commit_anyway = True
        return _back(BASE + "/courrier", exc.fr)
    if action == "activate":
        return RedirectResponse(BASE if p.user.totp_confirmed else "/account/totp?espace=1",
                                status_code=303)
    return _back(BASE + "/courrier", ok=action)


# --- documents -----------------------------------------------------------------------------

@router.get(BASE + "/documents")
def documents_page(request: Request, p: PagePrincipal, session: SessionDep, ws: WebSessionDep,
                   categorie: Annotated[str, Query(max_length=20)] = "",
                   page: Annotated[int, Query(ge=1, le=10_000)] = 1) -> Response:
    space = _gate(session, p)
    if isinstance(space, Response):
        return space
    try:
        total, docs = documents.page_of_documents(session, p, space, category=categorie,
                                                  page=page)
    except DomainError as exc:
        return _back(BASE + "/documents", exc.fr)
    pages = max(1, -(-total // documents.PAGE))
    return render(request, "space/documents.html", {
        **_ctx(request), "docs": docs, "categorie": categorie, "total": total,
        "page": page, "pages": pages,
        "max_mb": request.app.state.settings.space_document_max_bytes // 1_048_576},
        principal=p, ws=ws)


@router.post(BASE + "/documents", dependencies=[Csrf])
async def upload(p: PagePrincipal, session: SessionDep,
                 file: Annotated[UploadFile | None, File()] = None,
                 category: Annotated[str, Form(max_length=20)] = "autre",
                 title: Annotated[str, Form(max_length=200)] = "",
                 when: Annotated[str, Form(max_length=10)] = "") -> Response:
    space = _gate(session, p, write=True)
    if isinstance(space, Response):
        return space
    if file is None:
        return _back(BASE + "/documents", "choisissez un fichier")
    try:
        day = date.fromisoformat(when) if when else None
        documents.upload(session, p, space, filename=file.filename or "", data=await file.read(),
                         category=category, title=title, when=day)
    except ValueError:
        return _back(BASE + "/documents", "date invalide (AAAA-MM-JJ)")
    except DomainError as exc:
        return _back(BASE + "/documents", exc.fr)
    return _back(BASE + "/documents", ok="upload")


@router.get(BASE + "/documents/{fid}")
def open_document(fid: str, p: PagePrincipal, session: SessionDep) -> Response:
    space = _gate(session, p)
    if isinstance(space, Response):
        return space
    doc, data = documents.open_document(session, p, space, fid[:64])
    return Response(data, media_type=doc.content_type or "application/octet-stream",
                    headers={"Content-Disposition": "inline"})


@router.post(BASE + "/documents/{fid}/masquer", dependencies=[Csrf])
def hide(fid: str, p: PagePrincipal, session: SessionDep,
         hidden: Annotated[str, Form(max_length=1)] = "1") -> Response:
    space = _gate(session, p, write=True)
    if isinstance(space, Response):
        return space
    try:
        privacy.hide_document(session, p, space, fid[:64], hidden=hidden == "1")
    except DomainError as exc:
        return _back(BASE + "/documents", exc.fr)
    return _back(BASE + "/documents", ok="hidden" if hidden == "1" else "shown")


# --- privacy -------------------------------------------------------------------------------

@router.get(BASE + "/confidentialite")
def privacy_page(request: Request, p: PagePrincipal, session: SessionDep,
                 ws: WebSessionDep) -> Response:
    space = _gate(session, p)
    if isinstance(space, Response):
        return space
    rows = [c for c, _ in privacy.choices(session, p, space)]
    names = {c.target: privacy.professional_name(session, c.target)
             for c in rows if c.kind != "hide"}
    return render(request, "space/privacy.html", {
        **_ctx(request), "choices": rows, "names": names, "roles": privacy.CARE_ROLES},
        principal=p, ws=ws)


@router.post(BASE + "/confidentialite", dependencies=[Csrf])
def privacy_action(p: PagePrincipal, session: SessionDep,
                   action: Annotated[str, Form(max_length=10)] = "",
                   rpps: Annotated[str, Form(max_length=20)] = "",
                   role: Annotated[str, Form(max_length=10)] = "PCP") -> Response:
    space = _gate(session, p, write=True)
    if isinstance(space, Response):
        return space
    try:
        if action == "block":
            privacy.block(session, p, space, rpps)
        elif action == "unblock":
            privacy.block(session, p, space, rpps, blocked=False)
        elif action == "care":
            privacy.declare_care(session, p, space, rpps, role=role)
        else:
            return _back(BASE + "/confidentialite", "action inconnue")
    except DomainError as exc:
        return _back(BASE + "/confidentialite", exc.fr)
    return _back(BASE + "/confidentialite", ok=action)


# --- access history ------------------------------------------------------------------------

@router.get(BASE + "/historique")
def history_page(request: Request, p: PagePrincipal, session: SessionDep, ws: WebSessionDep,
                 du: Annotated[str, Query(max_length=10)] = "",
                 au: Annotated[str, Query(max_length=10)] = "",
                 qui: Annotated[str, Query(max_length=5)] = "",
                 urgence: Annotated[str, Query(max_length=1)] = "") -> Response:
    space = _gate(session, p)
    if isinstance(space, Response):
        return space
    try:
        total, rows = history.entries(session, p, space, since=du, until=au, who=qui,
                                      break_glass_only=urgence == "1")
    except DomainError as exc:
        return _back(BASE + "/historique", exc.fr)
    query = f"du={quote(du)}&au={quote(au)}&qui={quote(qui)}&urgence={quote(urgence)}"
    return render(request, "space/history.html", {
        **_ctx(request), "rows": rows, "total": total, "du": du, "au": au, "qui": qui,
        "urgence": urgence, "who_filters": history.WHO_FILTERS, "query": query},
        principal=p, ws=ws)


@router.get(BASE + "/historique.csv")
def history_csv(p: PagePrincipal, session: SessionDep,
                du: Annotated[str, Query(max_length=10)] = "",
                au: Annotated[str, Query(max_length=10)] = "",
                qui: Annotated[str, Query(max_length=5)] = "",
                urgence: Annotated[str, Query(max_length=1)] = "") -> Response:
    space = _gate(session, p)
    if isinstance(space, Response):
        return space
    try:
        _total, rows = history.entries(session, p, space, since=du, until=au, who=qui,
                                       break_glass_only=urgence == "1", limit=100_000)
    except DomainError as exc:
        return _back(BASE + "/historique", exc.fr)
    return Response(history.to_csv(rows), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="acces.csv"'})


# --- download and closure ------------------------------------------------------------------

@router.get(BASE + "/cloture")
def closure_page(request: Request, p: PagePrincipal, session: SessionDep,
                 ws: WebSessionDep) -> Response:
    space = _gate(session, p)
    if isinstance(space, Response):
        return space
    return render(request, "space/closure.html", {
        **_ctx(request), "space": space,
        "years": request.app.state.settings.space_retention_days // 365}, principal=p, ws=ws)


@router.get(BASE + "/cloture/archive.zip")
def closure_archive(p: PagePrincipal, session: SessionDep) -> Response:
    space = _gate(session, p)
    if isinstance(space, Response):
        return space
    return Response(archive(session, p, space), media_type="application/zip",
                    headers={"Content-Disposition": 'attachment; filename="mon-espace-sante.zip"'})


@router.post(BASE + "/cloture", dependencies=[Csrf])
def close(p: PagePrincipal, session: SessionDep,
          confirm: Annotated[str, Form(max_length=3)] = "") -> Response:
    space = _gate(session, p, write=True)
    if isinstance(space, Response):
        return space
    try:
        service.close(session, p, confirm=confirm == "oui")
    except service.SecondFactorRequired:
        return RedirectResponse("/account/totp?espace=1", status_code=303)
    except DomainError as exc:
        return _back(BASE + "/cloture", exc.fr)
    return _back(BASE + "/courrier", ok="closed")


# --- health profile ------------------------------------------------------------------------

@router.get(BASE + "/profil")
def profile_page(request: Request, p: PagePrincipal, session: SessionDep,
                 ws: WebSessionDep) -> Response:
    space = _gate(session, p)
    if isinstance(space, Response):
        return space
    sections = {key: (label, profile.entries(session, p, space, key))
                for key, (_rtype, label) in profile.SECTIONS.items()}
    latest = {kind: profile.latest(session, p, space, kind) for kind in profile.MEASURES}
    return render(request, "space/profile.html", {
        **_ctx(request), "sections": sections, "measures": profile.MEASURES, "latest": latest,
        "confirm": request.query_params.get("confirmer", "")[:20],
        "value": request.query_params.get("valeur", "")[:20],
        "second": request.query_params.get("second", "")[:20]}, principal=p, ws=ws)


@router.post(BASE + "/profil", dependencies=[Csrf])
def profile_action(p: PagePrincipal, session: SessionDep,
                   action: Annotated[str, Form(max_length=10)] = "",
                   section: Annotated[str, Form(max_length=20)] = "",
                   text: Annotated[str, Form(max_length=200)] = "",
                   when: Annotated[str, Form(max_length=10)] = "",
                   kind: Annotated[str, Form(max_length=20)] = "",
                   value: Annotated[str, Form(max_length=20)] = "",
                   second: Annotated[str, Form(max_length=20)] = "",
                   confirm: Annotated[str, Form(max_length=3)] = "") -> Response:
    space = _gate(session, p, write=True)
    if isinstance(space, Response):
        return space
    try:
        if action == "entry":
            day = date.fromisoformat(when) if when else None
            profile.add_entry(session, p, space, section, text=text, when=day)
            return _back(BASE + "/profil", ok="entry")
        if action == "measure":
            number = float(value.replace(",", "."))
            other = float(second.replace(",", ".")) if second else None
            profile.add_measurement(session, p, space, kind, value=number, second=other,
                                    confirmed=confirm == "oui")
            return _back(f"{BASE}/profil/mesures/{quote(kind)}", ok="measure")
    except ValueError:
        return _back(BASE + "/profil", "nombre ou date invalide")
    except DomainError as exc:
        if exc.code == "confirm-value":
            return RedirectResponse(
                f"{BASE}/profil?erreur={quote(exc.fr)}&confirmer={quote(kind)}"
                f"&valeur={quote(value)}&second={quote(second)}", status_code=303)
        return _back(BASE + "/profil", exc.fr)
    return _back(BASE + "/profil", "action inconnue")


@router.get(BASE + "/profil/mesures/{kind}")
def measure_page(kind: str, request: Request, p: PagePrincipal, session: SessionDep,
                 ws: WebSessionDep) -> Response:
    space = _gate(session, p)
    if isinstance(space, Response):
        return space
    try:
        points = profile.series(session, p, space, kind[:30])
    except DomainError as exc:
        return _back(BASE + "/profil", exc.fr)
    return render(request, "space/measure.html", {
        **_ctx(request), "kind": kind, "measure": profile.MEASURES[kind], "points": points,
        "chart": profile.chart(points)}, principal=p, ws=ws)


# --- agenda --------------------------------------------------------------------------------

@router.get(BASE + "/agenda")
def agenda_page(request: Request, p: PagePrincipal, session: SessionDep,
                ws: WebSessionDep) -> Response:
    space = _gate(session, p)
    if isinstance(space, Response):
        return space
    return render(request, "space/agenda.html", {
        **_ctx(request), "upcoming": agenda.upcoming(session, p, space),
        "past": agenda.upcoming(session, p, space, past=True)[:20]}, principal=p, ws=ws)


@router.post(BASE + "/agenda", dependencies=[Csrf])
def agenda_add(p: PagePrincipal, session: SessionDep,
               day: Annotated[str, Form(max_length=10)] = "",
               hour: Annotated[str, Form(max_length=5)] = "",
               minutes: Annotated[int, Form(ge=5, le=600)] = 30,
               what: Annotated[str, Form(max_length=200)] = "",
               with_whom: Annotated[str, Form(max_length=200)] = "") -> Response:
    space = _gate(session, p, write=True)
    if isinstance(space, Response):
        return space
    try:
        start = datetime.fromisoformat(f"{day}T{hour}").replace(tzinfo=PARIS)
        agenda.add(session, p, space, start=start, minutes=minutes, what=what,
                   with_whom=with_whom)
    except ValueError:
        return _back(BASE + "/agenda", "date ou heure invalide")
    except DomainError as exc:
        return _back(BASE + "/agenda", exc.fr)
    return _back(BASE + "/agenda", ok="added")


# --- the professional's side ---------------------------------------------------------------

@router.get(BASE + "/pro/{patient_fid}")
def pro_page(patient_fid: str, request: Request, p: PagePrincipal, session: SessionDep,
             ws: WebSessionDep) -> Response:
    seen = professional.view(session, p, patient_fid[:64])
    return render(request, "space/pro.html", {**_ctx(request), "v": seen}, principal=p, ws=ws,
                  status_code=200 if seen.allowed else 403)


@router.post(BASE + "/pro/{patient_fid}/urgence", dependencies=[Csrf])
def pro_break_glass(patient_fid: str, p: PagePrincipal, session: SessionDep,
                    reason: Annotated[str, Form(max_length=500)] = "") -> Response:
    target = f"{BASE}/pro/{quote(patient_fid[:64])}"
    try:
        professional.break_glass(session, p, patient_fid[:64], reason)
    except DomainError as exc:
        if (exc.status in (403, 404) and not p.has_role("professional")) or exc.status == 404:
            raise
        return _back(target, exc.fr)
    return _back(target, ok="urgence")
