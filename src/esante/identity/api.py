"""JSON routes of identities (``/api/identity``): NIR checks, the reference directory for
establishments' software, local identities, and the identity-vigilance queue."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from sqlalchemy.orm import Session

from esante.core import policy
from esante.core.errors import Invalid
from esante.identity import directory, formats, nir, service, vigilance
from esante.identity import status as rniv
from esante.identity.models import LocalIdentity, ReferencePerson, VigilancePair
from esante.identity.schemas import (
    AnswerOut,
    AttributeIn,
    CandidateOut,
    CardIn,
    CreatedOut,
    DecisionIn,
    DirectoryTraitsIn,
    DocumentIn,
    EventOut,
    FormerOut,
    IdentityDetailOut,
    IdentityIn,
    IdentityOut,
    InsCheckIn,
    InsCheckOut,
    InsOut,
    PairOut,
    PersonOut,
)
from esante.identity.traits import Traits, normalise, normalise_name
from esante.web.deps import ApiPrincipal, SessionDep

router = APIRouter(prefix="/identity", tags=["identités (INS)"])


def identity_out(session: Session, identity: LocalIdentity,
                 data: dict[str, Any] | None = None) -> IdentityOut:
    data = data if data is not None else service.decode_traits(session, identity)
    data = {k: v for k, v in data.items() if k != "desk_traits"}
    return IdentityOut(
        id=identity.id, finess=identity.finess, local_id=identity.local_id,
        status=identity.status, status_label=rniv.STATUS_LABELS[identity.status],
        status_reason=identity.status_reason, attribute=identity.attribute, traits=data,
        document_type=identity.document_type, collection_method=identity.collection_method,
        merged_into_id=identity.merged_into_id, created_at=identity.created_at,
        patient_fid=identity.patient_fid)


def person_out(answer: directory.Answer, person: ReferencePerson) -> PersonOut:
    report = nir.check(person.matricule, from_directory=True)
    return PersonOut(
        matricule=person.matricule, oid=person.oid,
        key_warning=next((w for w in report.warnings if w.startswith("clé")), ""),
        birth_name=person.birth_name, first_names=person.first_names.split(" "),
        sex=person.sex, birth_date=person.birth_date, birth_place=person.birth_place,
        former_matricules=[FormerOut(matricule=f.matricule, oid=f.oid)
                           for f in answer.formers.get(person.id, [])])


def answer_out(answer: directory.Answer) -> AnswerOut:
    return AnswerOut(code=answer.code, label=answer.label, tries=answer.tries,
                     persons=[person_out(answer, x) for x in answer.persons])


@router.post("/ins/check", summary="Contrôler un NIR ou un NIA (format, clé, sens)")
def ins_check(body: InsCheckIn, p: ApiPrincipal) -> InsCheckOut:
    policy.authorize(p, "identity.ins.check")
    report = nir.check(body.value)
    return InsCheckOut(valid=report.valid, **vars(report))


@router.post("/directory/traits",
             summary="Annuaire de référence : recherche par traits (codes 00, 01, 02)")
def directory_traits(body: DirectoryTraitsIn, p: ApiPrincipal, session: SessionDep) -> AnswerOut:
    policy.authorize(p, "identity.directory.query")
    clean = normalise(Traits(body.birth_name, body.first_names, body.sex, body.birth_date,
                             body.birth_place))
    return answer_out(directory.search_traits(session, p.actor, directory.TraitQuery(
        clean.birth_name, clean.first_names, clean.sex, clean.birth_date, clean.birth_place)))


@router.post("/directory/carte-vitale",
             summary="Annuaire de référence : recherche avec les données de la Carte Vitale")
def directory_card(body: CardIn, p: ApiPrincipal, session: SessionDep) -> AnswerOut:
    policy.authorize(p, "identity.directory.query")
    return answer_out(directory.search_card(session, p.actor, _card(body)))


def _card(body: CardIn) -> directory.CardQuery:
    return directory.CardQuery(
        holder_nir=body.holder_nir,
        birth_name=normalise_name(body.birth_name, what="nom de naissance"),
        first_name=normalise_name(body.first_name, what="prénom"), birth_date=body.birth_date)


@router.get("/establishments/{finess}/identities",
            summary="Rechercher les identités locales de l'établissement")
def search(finess: str, p: ApiPrincipal, session: SessionDep,
           birth_name: Annotated[str, Query(max_length=100)] = "",
           first_name: Annotated[str, Query(max_length=100)] = "",
           birth_date: Annotated[str, Query(max_length=10)] = "") -> list[IdentityOut]:
    rows = service.search(session, p, finess=finess, birth_name=birth_name,
                          first_name=first_name, birth_date=birth_date)
    return [identity_out(session, i, d) for i, d in rows]


def _traits(body: IdentityIn) -> Traits:
    t = body.traits
    return Traits(t.birth_name, t.first_names, t.sex, t.birth_date, t.birth_place,
                  t.used_name, t.used_first_name)


def _candidates(found: list[service.Candidate]) -> list[CandidateOut]:
    return [CandidateOut(id=c.identity.id, score=c.score, reasons=c.reasons,
                         status=c.identity.status,
                         traits={k: v for k, v in c.traits.items() if k != "desk_traits"})
            for c in found]


@router.post("/establishments/{finess}/candidates",
             summary="Doublons possibles d'une identité, avant de l'enregistrer")
def preview(finess: str, body: IdentityIn, p: ApiPrincipal,
            session: SessionDep) -> list[CandidateOut]:
    from esante.identity import duplicates

    policy.authorize(p, "identity.local.write", finess)
    clean, matricule = service.prepare(_traits(body), body.nir or "")
    found = duplicates.candidates(session, finess, service.traits_record(
        clean, matricule=matricule))
    for c in found:
        service.read(session, p, c.identity)  # candidates are reads of personal data
    return _candidates(found)


@router.post("/establishments/{finess}/identities", status_code=status.HTTP_201_CREATED,
             summary="Créer une identité locale (statut RNIV et doublons possibles)")
def create(finess: str, body: IdentityIn, p: ApiPrincipal, session: SessionDep) -> CreatedOut:
    identity, found = service.create(
        session, p, finess=finess, traits=_traits(body), matricule=body.nir or "",
        attribute=body.attribute, document=body.document, method=body.collection_method,
        local_id=body.local_id)
    return CreatedOut(identity=identity_out(session, identity), candidates=_candidates(found))


@router.post("/establishments/{finess}/carte-vitale",
             summary="Créer une identité depuis la Carte Vitale et l'annuaire de référence")
def create_from_card(finess: str, body: CardIn, p: ApiPrincipal,
                     session: SessionDep) -> dict[str, Any]:
    answer, identity, found = service.from_card(session, p, finess=finess, card=_card(body))
    return {"answer": answer_out(answer),
            "identity": identity_out(session, identity) if identity else None,
            "candidates": _candidates(found)}


@router.post("/establishments/{finess}/identities/from-message",
             status_code=status.HTTP_201_CREATED,
             summary="Créer une identité locale depuis un Patient FR Core ou un segment PID HL7 v2")
async def create_from_message(finess: str, request: Request, p: ApiPrincipal,
                              session: SessionDep) -> CreatedOut:
    """The sender's status is not inherited: the identity starts provisional here (the
    RNIV asks each establishment to check for itself); its INS is kept as typed, checked."""
    policy.authorize(p, "identity.local.write", finess)
    raw = await request.body()
    if len(raw) > 64 * 1024:
        raise Invalid("message trop gros : 64 Ko au plus", "message too large")
    kind = request.headers.get("content-type", "").split(";")[0].strip()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Invalid(f"encodage illisible à l'octet {exc.start} (UTF-8 attendu)",
                      "body is not UTF-8") from None
    if kind in ("application/fhir+json", "application/json"):
        try:
            resource = json.loads(text)
        except ValueError:
            raise Invalid("JSON illisible", "unreadable JSON") from None
        incoming = formats.from_fhir(resource if isinstance(resource, dict) else {})
    elif kind in ("x-application/hl7-v2+er7", "text/plain"):
        incoming = formats.from_pid(text)
    else:
        raise Invalid("type de contenu attendu : application/fhir+json ou "
                      "x-application/hl7-v2+er7", "unsupported content type")
    identity, found = service.create(
        session, p, finess=finess, method="import", local_id=incoming.local_id,
        matricule=incoming.matricule,
        traits=Traits(incoming.birth_name, incoming.first_names, incoming.sex,
                      incoming.birth_date, incoming.birth_place, incoming.used_name,
                      incoming.used_first_name))
    return CreatedOut(identity=identity_out(session, identity), candidates=_candidates(found))


@router.get("/identities/{identity_id}", summary="Une identité locale et son historique")
def get_identity(identity_id: int, p: ApiPrincipal, session: SessionDep) -> IdentityDetailOut:
    identity = service.get(session, p, identity_id)
    data = service.read(session, p, identity)
    return IdentityDetailOut(**identity_out(session, identity, data).model_dump(), history=[
        EventOut(at=e.at, actor=e.actor_label, kind=e.kind, from_status=e.from_status,
                 to_status=e.to_status, how=e.how) for e in service.history(session, identity)])


@router.post("/identities/{identity_id}/document",
             summary="Enregistrer le contrôle d'une pièce d'identité")
def document(identity_id: int, body: DocumentIn, p: ApiPrincipal,
             session: SessionDep) -> IdentityOut:
    identity = service.get(session, p, identity_id, write=True)
    return identity_out(session, service.check_document(session, p, identity, body.document))


@router.post("/identities/{identity_id}/attribute",
             summary="Marquer une identité douteuse ou fictive (ou lever l'attribut)")
def attribute(identity_id: int, body: AttributeIn, p: ApiPrincipal,
              session: SessionDep) -> IdentityOut:
    identity = service.get(session, p, identity_id, write=True)
    return identity_out(session, service.set_attribute(session, p, identity, body.attribute,
                                                       body.note))


@router.post("/identities/{identity_id}/directory",
             summary="Interroger l'annuaire de référence pour cette identité")
def match(identity_id: int, p: ApiPrincipal, session: SessionDep) -> dict[str, Any]:
    identity = service.get(session, p, identity_id, write=True)
    answer = service.match_directory(session, p, identity)
    return {"answer": answer_out(answer), "identity": identity_out(session, identity)}


@router.get("/identities/{identity_id}/ins",
            summary="L'INS transmissible à un tiers (identité qualifiée seulement)")
def outward(identity_id: int, p: ApiPrincipal, session: SessionDep) -> InsOut:
    identity = service.get(session, p, identity_id)
    return InsOut(**service.outward_ins(session, p, identity))


@router.get("/identities/{identity_id}/export",
            summary="L'identité en FR Core Patient, segment PID HL7 v2 ou patientRole CDA")
def export(identity_id: int, p: ApiPrincipal, session: SessionDep,
           format_: Annotated[str, Query(alias="format", pattern="^(fhir|hl7|cda)$")] = "fhir",
           ) -> Response:
    identity = service.get(session, p, identity_id)
    out = formats.from_local(identity, service.read(session, p, identity),
                             local_oid=service.local_oid(identity.finess))
    if format_ == "hl7":
        return PlainTextResponse(formats.to_v2(out), media_type="x-application/hl7-v2+er7")
    if format_ == "cda":
        return Response(formats.to_cda(out), media_type="application/xml")
    return JSONResponse(formats.to_fhir(out), media_type="application/fhir+json")


def pair_out(session: Session, pair: VigilancePair) -> PairOut:
    first, second = session.get(LocalIdentity, pair.first_id), \
        session.get(LocalIdentity, pair.second_id)
    assert first is not None and second is not None
    return PairOut(id=pair.id, kind=pair.kind, score=pair.score, reason=pair.reason,
                   state=pair.state, surviving_id=pair.surviving_id,
                   first=identity_out(session, first), second=identity_out(session, second))


@router.get("/establishments/{finess}/vigilance",
            summary="File d'identitovigilance de l'établissement (doublons, collisions)")
def queue(finess: str, p: ApiPrincipal, session: SessionDep,
          state: Annotated[str, Query(pattern="^(open|merge|link|not_duplicate)$")] = "open",
          ) -> list[PairOut]:
    pairs = vigilance.queue(session, p, finess, state=state)
    out = [pair_out(session, x) for x in pairs]
    for pair in pairs:
        for identity_id in (pair.first_id, pair.second_id):
            identity = session.get(LocalIdentity, identity_id)
            assert identity is not None
            service.read(session, p, identity)
    return out


@router.post("/vigilance/{pair_id}/decision",
             summary="Décider : fusion (dossier conservé), lien, ou pas un doublon")
def decide(pair_id: int, body: DecisionIn, p: ApiPrincipal, session: SessionDep) -> PairOut:
    pair = vigilance.get_pair(session, p, pair_id)
    return pair_out(session, vigilance.decide(session, p, pair, body.decision,
                                              surviving_id=body.surviving_id))


@router.post("/vigilance/{pair_id}/undo", summary="Annuler une décision (défusion comprise)")
def undo(pair_id: int, p: ApiPrincipal, session: SessionDep) -> PairOut:
    pair = vigilance.get_pair(session, p, pair_id)
    return pair_out(session, vigilance.undo(session, p, pair))
