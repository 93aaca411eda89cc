"""Pages of the citizen space (``/espace``, French, DSFR): the letter (activate or object),
the home page, documents, privacy choices, access history, download and closure. Every
page but the letter needs an active space and a session opened with a second factor."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from esante.core.accounts.models import WebSession
from esante.core.errors import DomainError
from esante.core.policy import Principal, authorize
from esante.space import (
    agenda,
    browsing,
    documents,
    guardians,
    history,
    mailcode,
    majority,
    privacy,
    professional,
    profile,
    research,
    service,
)
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


@dataclass
class View:
    """Whose space the page shows: the holder's own ("own"), a minor's for her guardian
    ("guardian"), or, read only, a former ward's who allowed it ("shared")."""

    space: Space
    mode: str
    name: str
    others: list[tuple[str, str]]  # (Patient id, label) of the other spaces she may show

    @property
    def minor(self) -> bool:
        return self.mode == "guardian"

    @property
    def shared(self) -> bool:
        return self.mode == "shared"


def _others(session: SessionDep, p: Principal) -> list[tuple[str, str]]:
    """The spaces the selector offers beside her own: her minors', then those shared
    with her (read only)."""
    out = [(s.patient_fid, guardians.patient_name(session, s.patient_fid) or "enfant")
           for s in guardians.minors_of(session, p)]
    out += [(s.patient_fid, f"{guardians.patient_name(session, s.patient_fid)} (lecture seule)")
            for s in majority.shared_with(session, p)]
    return out


READ_ONLY = ("vous consultez ce dossier en lecture seule, avec l'accord de sa titulaire : "
             "cette page lui est réservée")


def _gate(request: Request, session: SessionDep, ws: WebSession | None, p: Principal, *,
          write: bool = False, owner_only: bool = False) -> Space | Response:
    """The space this browser session shows (the holder's own, a minor's when her guardian
    switched to it, or a former ward's read only), or where to go instead (the letter, the
    second factor). ``owner_only``: a page whose content the FHIR rules do not filter
    (history, privacy, delegation...), never shown read only. Only citizens have a space."""
    authorize(p, "space.activate")
    factor = mailcode.passed(session, ws, p.user.id)
    acting = browsing.acting_for(session, ws, p.user.id)
    try:
        if acting and guardians.active(session, patient_fid=acting, user_id=p.user.id):
            space = guardians.require(session, p, acting, write=write, second_factor=factor)
            mode, name = "guardian", guardians.patient_name(session, space.patient_fid)
        elif acting and majority.granted(session, p, acting):
            if write or owner_only:
                return _back(BASE, READ_ONLY)
            space = majority.require_shared(session, p, acting, second_factor=factor)
            mode, name = "shared", guardians.patient_name(session, space.patient_fid)
        elif acting:  # the guardianship ended (removed, or she came of age), or the grant
            assert ws is not None
            browsing.act_for(session, ws, p.user.id)
            return _back(BASE, "vous n'avez plus accès à cet espace : retour à votre espace")
        else:
            space = service.require(session, p, write=write, second_factor=factor)
            mode, name = "own", p.user.display_name
    except service.SecondFactorRequired:
        return RedirectResponse(BASE + "/second-facteur", status_code=303)
    except DomainError:  # no active space of her own (the letter page lists the others)
        if acting:
            assert ws is not None
            browsing.act_for(session, ws, p.user.id)
            return _back(BASE, "vous n'avez plus accès à cet espace : retour à votre espace")
        return RedirectResponse(BASE + "/courrier", status_code=303)
    request.state.space_view = View(space, mode, name or "enfant", _others(session, p))
    return space


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
            "categories": documents.CATEGORIES,
            "view": getattr(request.state, "space_view", None)}


@router.get(BASE)
def home(request: Request, p: PagePrincipal, session: SessionDep, ws: WebSessionDep) -> Response:
    space = _gate(request, session, ws, p)
    if isinstance(space, Response):
        return space
    counts = documents.counts(session, p, space)
    view: View = request.state.space_view
    recent = [] if view.shared else history.entries(session, p, space, who="pro", limit=5)[1]
    minor = view.mode != "own"
    objection: Any = None
    if not minor:
        try:
            objection = research.current(session, p, space) or False
        except DomainError:
            objection = None  # no qualified INS any more: the hub's own page serves
    return render(request, "space/home.html", {
        **_ctx(request), "space": space, "counts": counts, "recent": recent,
        "apps": [] if minor else connected_apps(session, p),
        "mailbox": None if minor else citizen_mailbox(session, p),
        "objection": objection,
        "former": [] if minor else majority.former_guardians(session, space),
        "status_labels": service.STATUS_LABELS},
        principal=p, ws=ws)


@router.post(BASE + "/recherche", dependencies=[Csrf])
def research_objection(request: Request, p: PagePrincipal, session: SessionDep,
                       ws: WebSessionDep,
                       action: Annotated[str, Form(max_length=10)] = "") -> Response:
    """Her objection to the reuse of her data for research (the data hub's register)."""
    space = _gate(request, session, ws, p, write=True)
    if isinstance(space, Response):
        return space
    if request.state.space_view.minor:
        return _back(BASE, "l'opposition à la recherche s'enregistre depuis l'espace de son "
                           "titulaire")
    try:
        if action == "object":
            research.object_to(session, p, space)
        elif action == "withdraw":
            research.withdraw(session, p, space)
        else:
            return _back(BASE, "action inconnue")
    except DomainError as exc:
        return _back(BASE, exc.fr)
    return _back(BASE, ok="research-" + action)


@router.get(BASE + "/courrier")
def letter_form(request: Request, p: PagePrincipal, session: SessionDep,
                ws: WebSessionDep) -> Response:
    authorize(p, "space.activate")
    space = service.for_holder(session, p.user)
    return render(request, "space/letter.html", {**_ctx(request), "space": space,
                                                 "minors": _others(session, p)},
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
        return RedirectResponse(BASE if p.user.totp_confirmed else BASE + "/second-facteur",
                                status_code=303)
    return _back(BASE + "/courrier", ok=action)


# --- whose space: the guardian's selector, the delegation -----------------------------------

@router.post(BASE + "/changer", dependencies=[Csrf])
def switch(p: PagePrincipal, session: SessionDep, ws: WebSessionDep,
           espace: Annotated[str, Form(max_length=64)] = "") -> Response:
    """Shows her own space ("") or that of a minor she is the active guardian of (checked,
    behind the second factor, and audited as the guardian acting for the minor)."""
    authorize(p, "space.activate")
    assert ws is not None  # Csrf requires a session
    if espace:
        factor = mailcode.passed(session, ws, p.user.id)
        try:
            if majority.granted(session, p, espace) and not guardians.active(
                    session, patient_fid=espace, user_id=p.user.id):
                majority.require_shared(session, p, espace, second_factor=factor)
            else:
                guardians.require(session, p, espace, second_factor=factor)
        except service.SecondFactorRequired:
            return RedirectResponse(BASE + "/second-facteur", status_code=303)
        except DomainError:
            return _back(BASE, "vous n'êtes pas tuteur de cet espace")
    browsing.act_for(session, ws, p.user.id, espace)
    return RedirectResponse(BASE, status_code=303)


@router.get(BASE + "/tuteurs")
def delegation_page(request: Request, p: PagePrincipal, session: SessionDep,
                    ws: WebSessionDep) -> Response:
    """The delegation: who the guardians are (or were), since when, on which proof. Each
    guardian sees it, and so does the holder; once of age, she decides here what her
    former guardians may still see."""
    space = _gate(request, session, ws, p, owner_only=True)
    if isinstance(space, Response):
        return space
    view: View = request.state.space_view
    former = [] if view.minor else majority.former_guardians(session, space)
    return render(request, "space/guardians.html", {
        **_ctx(request), "rows": guardians.delegation(session, space),
        "former": former, "grants": majority.grants(session, p, space) if former else {},
        "docs": documents.list_documents(session, p, space) if former else [],
        "reasons": {"removed": "fin enregistrée par un agent", "majority": "majorité"}},
        principal=p, ws=ws)


@router.post(BASE + "/tuteurs", dependencies=[Csrf])
def delegation_action(request: Request, p: PagePrincipal, session: SessionDep,
                      ws: WebSessionDep,
                      action: Annotated[str, Form(max_length=10)] = "",
                      guardian: Annotated[int, Form(ge=0)] = 0,
                      document: Annotated[str, Form(max_length=64)] = "") -> Response:
    space = _gate(request, session, ws, p, write=True)
    if isinstance(space, Response):
        return space
    if request.state.space_view.minor:
        return _back(BASE + "/tuteurs", "seul le titulaire de l'espace décide de ce que voient "
                                        "ses anciens tuteurs")
    try:
        if action == "grant":
            majority.grant(session, p, space, guardian)
        elif action == "revoke":
            majority.revoke(session, p, space, guardian)
        elif action == "hide":
            majority.hide(session, p, space, guardian, document)
        elif action == "show":
            majority.show(session, p, space, guardian, document)
        else:
            return _back(BASE + "/tuteurs", "action inconnue")
    except DomainError as exc:
        return _back(BASE + "/tuteurs", exc.fr)
    return _back(BASE + "/tuteurs", ok=action)


# --- the second factor: TOTP at login, or a code by e-mail ------------------------------------

@router.get(BASE + "/second-facteur")
def second_factor_page(request: Request, p: PagePrincipal, session: SessionDep,
                       ws: WebSessionDep) -> Response:
    authorize(p, "space.activate")
    if p.user.totp_confirmed or mailcode.passed(session, ws, p.user.id):
        return RedirectResponse(BASE, status_code=303)
    return render(request, "space/second_factor.html", {
        **_ctx(request), "minutes": mailcode.CODE_MINUTES,
        "chosen": mailcode.chosen(session, p.user.id)}, principal=p, ws=ws)


@router.post(BASE + "/second-facteur", dependencies=[Csrf])
def second_factor(request: Request, p: PagePrincipal, session: SessionDep, ws: WebSessionDep,
                  action: Annotated[str, Form(max_length=10)] = "",
                  code: Annotated[str, Form(max_length=20)] = "") -> Response:
    authorize(p, "space.activate")
    assert ws is not None  # Csrf requires a session
    target = BASE + "/second-facteur"
    try:
        if action == "send":
            mailcode.send(session, p, settings=request.app.state.settings)
            return _back(target, ok="sent")
        if action == "verify":
            mailcode.verify(session, p, ws, code)
            return RedirectResponse(BASE, status_code=303)
    except DomainError as exc:
        request.state.commit_anyway = True  # a failed try counts, and is audited
        return _back(target, exc.fr)
    return _back(target, "action inconnue")


# --- documents -----------------------------------------------------------------------------

@router.get(BASE + "/documents")
def documents_page(request: Request, p: PagePrincipal, session: SessionDep, ws: WebSessionDep,
                   categorie: Annotated[str, Query(max_length=20)] = "",
                   page: Annotated[int, Query(ge=1, le=10_000)] = 1) -> Response:
    space = _gate(request, session, ws, p)
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
async def upload(request: Request, p: PagePrincipal, session: SessionDep,
        ws: WebSessionDep,
                 file: Annotated[UploadFile | None, File()] = None,
                 category: Annotated[str, Form(max_length=20)] = "autre",
                 title: Annotated[str, Form(max_length=200)] = "",
                 when: Annotated[str, Form(max_length=10)] = "") -> Response:
    space = _gate(request, session, ws, p, write=True)
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
def open_document(fid: str, request: Request, p: PagePrincipal, session: SessionDep,
        ws: WebSessionDep) -> Response:
    space = _gate(request, session, ws, p)
    if isinstance(space, Response):
        return space
    doc, data = documents.open_document(session, p, space, fid[:64])
    return Response(data, media_type=doc.content_type or "application/octet-stream",
                    headers={"Content-Disposition": "inline"})


@router.post(BASE + "/documents/{fid}/masquer", dependencies=[Csrf])
def hide(fid: str, request: Request, p: PagePrincipal, session: SessionDep,
        ws: WebSessionDep,
         hidden: Annotated[str, Form(max_length=1)] = "1") -> Response:
    space = _gate(request, session, ws, p, write=True)
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
    space = _gate(request, session, ws, p, owner_only=True)
    if isinstance(space, Response):
        return space
    rows = [c for c, _ in privacy.choices(session, p, space)]
    names = {c.target: privacy.professional_name(session, c.target)
             for c in rows if c.kind != "hide"}
    return render(request, "space/privacy.html", {
        **_ctx(request), "choices": rows, "names": names, "roles": privacy.CARE_ROLES},
        principal=p, ws=ws)


@router.post(BASE + "/confidentialite", dependencies=[Csrf])
def privacy_action(request: Request, p: PagePrincipal, session: SessionDep,
        ws: WebSessionDep,
                   action: Annotated[str, Form(max_length=10)] = "",
                   rpps: Annotated[str, Form(max_length=20)] = "",
                   role: Annotated[str, Form(max_length=10)] = "PCP") -> Response:
    space = _gate(request, session, ws, p, write=True)
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

@dataclass(frozen=True)
class HistoryFilters:
    """The access history's filters, from the page's query (the page and its CSV alike)."""

    du: str = ""
    au: str = ""
    qui: str = ""
    urgence: str = ""
    app: str = ""

    @property
    def query(self) -> str:
        return "&".join(f"{k}={quote(v)}" for k, v in vars(self).items())

    def entries(self, session: Session, p: Principal, space: Space,
                limit: int = history.PAGE) -> tuple[int, list[history.Entry]]:
        return history.entries(session, p, space, since=self.du, until=self.au, who=self.qui,
                               break_glass_only=self.urgence == "1", app=self.app, limit=limit)


def _history_filters(du: Annotated[str, Query(max_length=10)] = "",
                     au: Annotated[str, Query(max_length=10)] = "",
                     qui: Annotated[str, Query(max_length=5)] = "",
                     urgence: Annotated[str, Query(max_length=1)] = "",
                     app: Annotated[str, Query(max_length=64)] = "") -> HistoryFilters:
    return HistoryFilters(du, au, qui, urgence, app)


HistoryFiltersDep = Annotated[HistoryFilters, Depends(_history_filters)]


@router.get(BASE + "/historique")
def history_page(request: Request, p: PagePrincipal, session: SessionDep, ws: WebSessionDep,
                 f: HistoryFiltersDep) -> Response:
    space = _gate(request, session, ws, p, owner_only=True)
    if isinstance(space, Response):
        return space
    try:
        total, rows = f.entries(session, p, space)
    except DomainError as exc:
        return _back(BASE + "/historique", exc.fr)
    return render(request, "space/history.html", {
        **_ctx(request), "rows": rows, "total": total, **vars(f),
        "apps": history.apps_seen(session, space), "who_filters": history.WHO_FILTERS,
        "query": f.query}, principal=p, ws=ws)


@router.get(BASE + "/historique.csv")
def history_csv(request: Request, p: PagePrincipal, session: SessionDep,
                ws: WebSessionDep, f: HistoryFiltersDep) -> Response:
    space = _gate(request, session, ws, p, owner_only=True)
    if isinstance(space, Response):
        return space
    try:
        _total, rows = f.entries(session, p, space, limit=100_000)
    except DomainError as exc:
        return _back(BASE + "/historique", exc.fr)
    return Response(history.to_csv(rows), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="acces.csv"'})


# --- download and closure ------------------------------------------------------------------

@router.get(BASE + "/cloture")
def closure_page(request: Request, p: PagePrincipal, session: SessionDep,
                 ws: WebSessionDep) -> Response:
    space = _gate(request, session, ws, p, owner_only=True)
    if isinstance(space, Response):
        return space
    if request.state.space_view.minor:
        return _back(BASE, "seul le titulaire clôture son espace ; revenez à votre espace pour "
                           "gérer le vôtre")
    return render(request, "space/closure.html", {
        **_ctx(request), "space": space,
        "years": request.app.state.settings.space_retention_days // 365}, principal=p, ws=ws)


@router.get(BASE + "/cloture/archive.zip")
def closure_archive(request: Request, p: PagePrincipal, session: SessionDep,
        ws: WebSessionDep) -> Response:
    space = _gate(request, session, ws, p, owner_only=True)
    if isinstance(space, Response):
        return space
    return Response(archive(session, p, space), media_type="application/zip",
                    headers={"Content-Disposition": 'attachment; filename="mon-espace-sante.zip"'})


@router.post(BASE + "/cloture", dependencies=[Csrf])
def close(request: Request, p: PagePrincipal, session: SessionDep,
        ws: WebSessionDep,
          confirm: Annotated[str, Form(max_length=3)] = "") -> Response:
    space = _gate(request, session, ws, p, write=True)
    if isinstance(space, Response):
        return space
    if request.state.space_view.minor:
        return _back(BASE, "seul le titulaire clôture son espace")
    try:
        service.close(session, p, confirm=confirm == "oui",
                      second_factor=mailcode.passed(session, ws, p.user.id))
    except service.SecondFactorRequired:
        return RedirectResponse(BASE + "/second-facteur", status_code=303)
    except DomainError as exc:
        return _back(BASE + "/cloture", exc.fr)
    return _back(BASE + "/courrier", ok="closed")


# --- health profile ------------------------------------------------------------------------

@router.get(BASE + "/profil")
def profile_page(request: Request, p: PagePrincipal, session: SessionDep,
                 ws: WebSessionDep) -> Response:
    space = _gate(request, session, ws, p)
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
def profile_action(request: Request, p: PagePrincipal, session: SessionDep,
        ws: WebSessionDep,
                   action: Annotated[str, Form(max_length=10)] = "",
                   section: Annotated[str, Form(max_length=20)] = "",
                   text: Annotated[str, Form(max_length=200)] = "",
                   when: Annotated[str, Form(max_length=10)] = "",
                   kind: Annotated[str, Form(max_length=20)] = "",
                   value: Annotated[str, Form(max_length=20)] = "",
                   second: Annotated[str, Form(max_length=20)] = "",
                   confirm: Annotated[str, Form(max_length=3)] = "") -> Response:
    space = _gate(request, session, ws, p, write=True)
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
    space = _gate(request, session, ws, p)
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
    space = _gate(request, session, ws, p)
    if isinstance(space, Response):
        return space
    return render(request, "space/agenda.html", {
        **_ctx(request), "upcoming": agenda.upcoming(session, p, space),
        "past": agenda.upcoming(session, p, space, past=True)[:20]}, principal=p, ws=ws)


@router.post(BASE + "/agenda", dependencies=[Csrf])
def agenda_add(request: Request, p: PagePrincipal, session: SessionDep,
        ws: WebSessionDep,
               day: Annotated[str, Form(max_length=10)] = "",
               hour: Annotated[str, Form(max_length=5)] = "",
               minutes: Annotated[int, Form(ge=5, le=600)] = 30,
               what: Annotated[str, Form(max_length=200)] = "",
               with_whom: Annotated[str, Form(max_length=200)] = "") -> Response:
    space = _gate(request, session, ws, p, write=True)
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
