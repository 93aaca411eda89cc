"""Pages of identities (French, DSFR): the desk's search and creation with duplicate
candidates, an identity with its status badge, reason and history, Carte Vitale entry,
and the identity-vigilance queue with candidate records side by side."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from esante.core import policy
from esante.core.errors import DomainError, Forbidden, Invalid
from esante.core.orgs import service as orgs
from esante.core.policy import Principal
from esante.identity import directory, duplicates, nir, service, vigilance
from esante.identity import status as rniv
from esante.identity.access import desk_establishments
from esante.identity.models import LocalIdentity
from esante.identity.traits import Traits, normalise_name
from esante.web.deps import Csrf, PagePrincipal, SessionDep, WebSessionDep
from esante.web.render import render

router = APIRouter(include_in_schema=False)
BASE = "/identite"
LABELS = {"status_labels": rniv.STATUS_LABELS, "badges": rniv.STATUS_BADGES,
          "documents": rniv.DOCUMENTS, "attributes": rniv.ATTRIBUTE_LABELS,
          "methods": rniv.COLLECTION_METHODS, "decisions": vigilance.DECISIONS,
          "pair_kinds": vigilance.KIND_LABELS, "state_labels": vigilance.STATE_LABELS}
FIELDS = ("finess", "birth_name", "first_names", "sex", "birth_date", "birth_place",
          "used_name", "used_first_name", "nir", "document", "attribute", "local_id")


def _desk(p: Principal, finess: str = "") -> str:
    """The establishment the desk works for: the one asked, or the first of the principal."""
    mine = desk_establishments(p)
    if not mine:
        raise Forbidden("réservé à l'accueil et à la cellule d'identitovigilance d'un "
                        "établissement", "identity desk only")
    if finess and finess not in mine:
        raise Forbidden("vous ne travaillez pas pour cet établissement",
                        "not your establishment")
    return finess or mine[0]


def _context(session: Session, p: Principal, finess: str) -> dict[str, Any]:
    return {"finess": finess, "est": orgs.get_establishment(session, finess),
            "mine": desk_establishments(p),
            "is_vigilance": policy.can(p, "identity.vigilance.read", finess), **LABELS}


@router.get(BASE)
def desk(request: Request, p: PagePrincipal, session: SessionDep, ws: WebSessionDep,
         finess: str = Query(default="", max_length=9),
         nom: str = Query(default="", max_length=100),
         prenom: str = Query(default="", max_length=100),
         naissance: str = Query(default="", max_length=10)) -> Response:
    finess = _desk(p, finess)
    rows: list[Any] = []
    error = ""
    if nom or prenom or naissance:
        try:
            rows = service.search(session, p, finess=finess, birth_name=nom, first_name=prenom,
                                  birth_date=naissance)
        except DomainError as exc:
            error = exc.fr
    return render(request, "identity/desk.html", {
        **_context(session, p, finess), "rows": rows, "error": error,
        "q": {"nom": nom, "prenom": prenom, "naissance": naissance}}, principal=p, ws=ws)


def _form(request: Request, p: Principal, session: Session, ws: Any, *,
          values: dict[str, str], error: str = "", candidates: list[Any] | None = None,
          status_code: int = 200) -> Response:
    finess = _desk(p, values.get("finess", ""))
    return render(request, "identity/form.html", {
        **_context(session, p, finess), "values": values, "error": error,
        "candidates": candidates}, principal=p, ws=ws, status_code=status_code)


@router.get(f"{BASE}/nouvelle")
def new_identity(request: Request, p: PagePrincipal, session: SessionDep, ws: WebSessionDep,
                 finess: str = Query(default="", max_length=9)) -> Response:
    return _form(request, p, session, ws, values={"finess": finess})


def _values(form: FormData) -> dict[str, str]:
    return {k: str(form.get(k) or "").strip()[:200] for k in FIELDS}


def _traits(v: dict[str, str]) -> Traits:
    return Traits(v["birth_name"], v["first_names"].split(" "), v["sex"], v["birth_date"],
                  v["birth_place"], v["used_name"], v["used_first_name"])


@router.post(f"{BASE}/nouvelle", dependencies=[Csrf])
async def create_identity(request: Request, p: PagePrincipal, session: SessionDep,
                          ws: WebSessionDep) -> Response:
    form = await request.form()
    values = _values(form)
    finess = _desk(p, values["finess"])
    try:
        if str(form.get("action") or "") == "preview":
            policy.authorize(p, "identity.local.write", finess)
            clean, matricule = service.prepare(_traits(values), values["nir"])
            found = duplicates.candidates(session, finess, service.traits_record(
                clean, matricule=matricule))
            for c in found:
                service.read(session, p, c.identity)
            return _form(request, p, session, ws, values=values, candidates=found)
        identity, _found = service.create(
            session, p, finess=finess, traits=_traits(values), matricule=values["nir"],
            attribute=values["attribute"], document=values["document"],
            local_id=values["local_id"])
    except DomainError as exc:
        session.rollback()
        return _form(request, p, session, ws, values=values, error=exc.fr, status_code=422)
    return RedirectResponse(f"{BASE}/{identity.id}", status_code=303)


@router.get(f"{BASE}/carte-vitale")
def card_form(request: Request, p: PagePrincipal, session: SessionDep, ws: WebSessionDep,
              finess: str = Query(default="", max_length=9)) -> Response:
    finess = _desk(p, finess)
    return render(request, "identity/card.html", {**_context(session, p, finess),
                                                  "values": {}, "answer": None, "error": ""},
                  principal=p, ws=ws)


@router.post(f"{BASE}/carte-vitale", dependencies=[Csrf])
async def card_submit(request: Request, p: PagePrincipal, session: SessionDep,
                      ws: WebSessionDep) -> Response:
    form = await request.form()
    values = {k: str(form.get(k) or "").strip()[:100]
              for k in ("finess", "holder_nir", "birth_name", "first_name", "birth_date")}
    finess = _desk(p, values["finess"])
    answer = None
    try:
        card = directory.CardQuery(
            holder_nir=nir.validate(values["holder_nir"], kinds=("NIR",)),
            birth_name=normalise_name(values["birth_name"], what="nom de naissance"),
            first_name=normalise_name(values["first_name"], what="prénom"),
            birth_date=values["birth_date"])
        if not card.birth_date:
            raise Invalid("date de naissance du bénéficiaire obligatoire", "birth date required")
        answer, identity, _found = service.from_card(session, p, finess=finess, card=card)
        if identity is not None:
            return RedirectResponse(f"{BASE}/{identity.id}", status_code=303)
        error = f"Annuaire de référence : {answer.label} (code {answer.code})"
    except DomainError as exc:
        session.rollback()
        error = exc.fr
    return render(request, "identity/card.html", {
        **_context(session, p, finess), "values": values, "answer": answer, "error": error},
        principal=p, ws=ws, status_code=422 if answer is None else 200)


@router.get(f"{BASE}/vigilance")
def queue_page(request: Request, p: PagePrincipal, session: SessionDep, ws: WebSessionDep,
               finess: str = Query(default="", max_length=9),
               etat: str = Query(default="open", max_length=20)) -> Response:
    finess = _desk(p, finess)
    state = etat if etat in vigilance.STATE_LABELS else "open"
    pairs = vigilance.queue(session, p, finess, state=state)
    sides = []
    for pair in pairs:
        a, b = session.get(LocalIdentity, pair.first_id), session.get(LocalIdentity, pair.second_id)
        assert a is not None and b is not None
        sides.append((pair, (a, service.read(session, p, a)), (b, service.read(session, p, b))))
    return render(request, "identity/queue.html", {
        **_context(session, p, finess), "sides": sides, "state": state,
        "error": request.query_params.get("erreur", "")[:300]}, principal=p, ws=ws)


@router.post(f"{BASE}/vigilance/{{pair_id}}", dependencies=[Csrf])
async def queue_action(pair_id: int, request: Request, p: PagePrincipal,
                       session: SessionDep) -> Response:
    form = await request.form()
    pair = vigilance.get_pair(session, p, pair_id)
    back = f"{BASE}/vigilance?finess={pair.finess}"
    try:
        action = str(form.get("action") or "")
        if action == "undo":
            vigilance.undo(session, p, pair)
        else:
            raw = str(form.get("surviving_id") or "")
            vigilance.decide(session, p, pair, action,
                             surviving_id=int(raw) if raw.isdigit() else None)
    except DomainError as exc:
        session.rollback()
        return RedirectResponse(f"{back}&erreur={quote(exc.fr[:300])}", status_code=303)
    return RedirectResponse(back + ("&etat=" + pair.state if pair.state != "open" else ""),
                            status_code=303)


@router.get(f"{BASE}/{{identity_id}}")
def identity_page(identity_id: int, request: Request, p: PagePrincipal, session: SessionDep,
                  ws: WebSessionDep) -> Response:
    identity = service.get(session, p, identity_id)
    data = service.read(session, p, identity)
    return render(request, "identity/identity.html", {
        **_context(session, p, identity.finess), "identity": identity, "traits": data,
        "history": service.history(session, identity),
        "ins": rniv.outward_ins(identity, data),
        "can_write": policy.can(p, "identity.local.write", identity.finess),
        "error": request.query_params.get("erreur", "")[:300],
        "info": request.query_params.get("info", "")[:300]}, principal=p, ws=ws)


@router.post(f"{BASE}/{{identity_id}}/action", dependencies=[Csrf])
async def identity_action(identity_id: int, request: Request, p: PagePrincipal,
                          session: SessionDep) -> Response:
    form = await request.form()
    identity = service.get(session, p, identity_id)
    page = f"{BASE}/{identity_id}"
    info = ""
    try:
        action = str(form.get("action") or "")
        if action == "document":
            service.check_document(session, p, identity, str(form.get("document") or ""))
        elif action == "directory":
            answer = service.match_directory(session, p, identity)
            info = f"Annuaire de référence : {answer.label} (code {answer.code})"
        elif action == "attribute":
            service.set_attribute(session, p, identity, str(form.get("attribute") or ""),
                                  str(form.get("note") or "")[:300])
        else:
            raise Invalid("action inconnue", "unknown action")
    except DomainError as exc:
        session.rollback()
        return RedirectResponse(f"{page}?erreur={quote(exc.fr[:300])}", status_code=303)
    return RedirectResponse(page + (f"?info={quote(info)}" if info else ""), status_code=303)
