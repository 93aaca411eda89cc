"""Local identities of an establishment: creation with duplicate candidates, document
check, reference-directory match, attributes, and reading (every read audited)."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from esante.core import audit, policy
from esante.core.crypto import Vault
from esante.core.db import utcnow
from esante.core.errors import Conflict, Invalid, NotFound
from esante.core.orgs import service as orgs
from esante.core.policy import Principal
from esante.core.settings import get_settings
from esante.identity import access, cog, directory, nir, patient, status
from esante.identity.models import IdentityEvent, LocalIdentity, ReferencePerson
from esante.identity.traits import Traits, name_key, normalise

PURPOSE = "identity.traits"
# The NIR hash key: a data key of its own (``core.crypto``), never ESANTE_SECRET_KEY.
NIR_KEY_NAME, NIR_KEY_INFO = "identity-nir-hash", "esante.identity.nir-hash.v1"
RULES = access  # the access rules register on import


@dataclass
class Candidate:
    identity: LocalIdentity
    traits: dict[str, Any]
    score: int
    reasons: list[str]


def nir_hash(session: Session, matricule: str) -> str:
    """A keyed hash (HMAC-SHA256) of the 13 characters, so that a NIR is found without
    being in clear. The key is derived (HKDF) from a data key of its own, wrapped by the
    master key: rotating ESANTE_SECRET_KEY or the master key leaves every hash valid."""
    if not matricule:
        return ""
    key = _vault(session).derived_key(NIR_KEY_NAME, info=NIR_KEY_INFO)
    return hmac.new(key, matricule[:13].encode(), hashlib.sha256).hexdigest()


def rehash_nirs(session: Session, finess: str | None = None) -> int:
    """Recompute the stored NIR hashes (after an upgrade from hashes keyed by
    ESANTE_SECRET_KEY); returns how many changed."""
    changed = 0
    query = select(LocalIdentity).where(LocalIdentity.nir_hash != "")
    if finess:
        query = query.where(LocalIdentity.finess == finess)
    for identity in session.scalars(query):
        fresh = nir_hash(session, decode_traits(session, identity).get("matricule", ""))
        if fresh != identity.nir_hash:
            identity.nir_hash, changed = fresh, changed + 1
    session.flush()
    return changed


def _vault(session: Session) -> Vault:
    """One vault per session: loading the key ring for every record would dominate."""
    vault = session.info.get("esante.identity.vault")
    if vault is None:
        vault = session.info["esante.identity.vault"] = Vault(session)
    return vault


def encode_traits(session: Session, data: dict[str, Any]) -> bytes:
    return _vault(session).encrypt_shared(json.dumps(data, ensure_ascii=False).encode(),
                                         purpose=PURPOSE)


def decode_traits(session: Session, identity: LocalIdentity) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(_vault(session).decrypt(identity.traits_enc))
    return data


def check_birth_place(code: str) -> str:
    if not code:
        return ""
    if cog.load().place(code) is None:
        raise Invalid(f"lieu de naissance {code} inconnu du code officiel géographique "
                      "(commune ou pays)", f"unknown birth place {code}", code="birth-place")
    return code


def _minor(birth_date: str) -> bool:
    year, month = int(birth_date[:4]), int(birth_date[5:7]) or 1
    today = date.today()
    return (today.year - year) * 12 + today.month - month < 18 * 12


def _event(session: Session, p: Principal, identity: LocalIdentity, kind: str, how: str,
           before: str = "", data: dict[str, Any] | None = None) -> None:
    session.add(IdentityEvent(identity_id=identity.id, actor_id=p.user.id,
                              actor_label=p.user.email, kind=kind, from_status=before,
                              to_status=identity.status, how=how, data=data or {}))


def _audit(session: Session, p: Principal, action: str, identity: LocalIdentity,
           **details: Any) -> None:
    audit.record(session, actor=p.actor, action=action, object_type="identity_local",
                 object_id=identity.id, details={"finess": identity.finess, **details})


def traits_record(traits: Traits, *, matricule: str = "", oid: str = "",
                  from_directory: bool = False) -> dict[str, Any]:
    out = asdict(traits)
    out.pop("extra", None)
    return out | {"matricule": matricule, "oid": oid, "from_directory": from_directory}


def _apply_keys(session: Session, identity: LocalIdentity, data: dict[str, Any]) -> None:
    identity.birth_date = data["birth_date"]
    identity.sex = data["sex"]
    identity.name_key = name_key(data["birth_name"])
    identity.first_key = name_key(data["first_names"][0]) if data["first_names"] else ""
    identity.nir_hash = nir_hash(session, data.get("matricule", ""))


def prepare(traits: Traits, matricule: str = "") -> tuple[Traits, str]:
    """Normalised traits and the cleaned NIR typed in by the desk, or ``Invalid``."""
    clean = normalise(traits)
    check_birth_place(clean.birth_place)
    if matricule:
        matricule = nir.validate(matricule)
    return clean, matricule


def create(session: Session, p: Principal, *, finess: str, traits: Traits, matricule: str = "",
           attribute: str = "", document: str = "", method: str = "manual",
           local_id: str = "") -> tuple[LocalIdentity, list[Candidate]]:
    """A new local identity: normalised traits, its status and why, and the likely
    existing matches of the establishment (queued for the vigilance cell)."""
    from esante.identity import duplicates, vigilance

    policy.authorize(p, "identity.local.write", finess)
    est = orgs.get_establishment(session, finess)
    if attribute not in status.ATTRIBUTE_LABELS:
        raise Invalid("attribut : DOUT (douteuse) ou FICT (fictive)", "bad attribute")
    if document and document not in status.DOCUMENTS:
        raise Invalid(f"type de pièce inconnu : {document[:30]}", "unknown document type")
    if method not in status.COLLECTION_METHODS:
        raise Invalid(f"mode de recueil inconnu : {method[:30]}", "unknown collection method")
    clean, matricule = prepare(traits, matricule)
    data = traits_record(clean, matricule=matricule,
                         oid=directory.oid_of(matricule) if matricule else "")
    found = duplicates.candidates(session, finess, data)
    checked = bool(document) and status.is_high_trust(document, minor=_minor(clean.birth_date))
    identity = LocalIdentity(
        establishment_id=est.id, finess=finess, local_id=local_id[:40], attribute=attribute,
        status=status.status_of(from_directory=False, document_checked=checked,
                                attribute=attribute),
        status_reason=status.reason_of(from_directory=False,
                                       document=document if checked else "",
                                       attribute=attribute),
        traits_enc=encode_traits(session, data), document_type=document if checked else "",
        document_checked_at=utcnow() if checked else None, collection_method=method,
        created_by=p.user.id)
    _apply_keys(session, identity, data)
    session.add(identity)
    session.flush()
    _event(session, p, identity, "created",
           f"création ({status.COLLECTION_METHODS[method]})", data={"document": document})
    _audit(session, p, "identity.local.create", identity, status=identity.status)
    patient.sync(session, identity, data)
    vigilance.enqueue(session, identity, found)
    return identity, found


def get(session: Session, p: Principal, identity_id: int, *, write: bool = False) -> LocalIdentity:
    """A local identity of one of the principal's establishments; others do not exist."""
    identity = session.get(LocalIdentity, identity_id)
    if identity is None or not policy.can(p, "identity.local.read", identity.finess):
        raise NotFound("identité introuvable", "identity not found")
    if write:
        policy.authorize(p, "identity.local.write", identity.finess)
    return identity


def read(session: Session, p: Principal, identity: LocalIdentity) -> dict[str, Any]:
    """The decrypted traits of an identity, the read being audited."""
    _audit(session, p, "identity.local.read", identity)
    return decode_traits(session, identity)


def search(session: Session, p: Principal, *, finess: str, birth_name: str = "",
           first_name: str = "", birth_date: str = "", limit: int = 50,
           ) -> list[tuple[LocalIdentity, dict[str, Any]]]:
    """Identities of the establishment by birth date and/or the first letters of the
    names (the clear keys), then filtered on the decrypted traits. Audited."""
    policy.authorize(p, "identity.local.read", finess)
    clean_name = normalise(Traits(birth_name or "X", [first_name or "X"], "M",
                                  birth_date or "2000-01-01"))
    conds = [LocalIdentity.finess == finess, LocalIdentity.merged_into_id.is_(None)]
    if birth_date:
        conds.append(LocalIdentity.birth_date == clean_name.birth_date)
    if birth_name:
        conds.append(LocalIdentity.name_key == name_key(clean_name.birth_name))
    if first_name:
        conds.append(LocalIdentity.first_key == name_key(clean_name.first_name))
    if len(conds) == 2:
        raise Invalid("indiquez au moins un nom, un prénom ou une date de naissance",
                      "a search criterion is required", code="search-empty")
    out = []
    for identity in session.scalars(select(LocalIdentity).where(and_(*conds))
                                    .order_by(LocalIdentity.id).limit(500)):
        data = decode_traits(session, identity)
        names = {data["birth_name"], data.get("used_name", "")}
        if birth_name and clean_name.birth_name not in names:
            continue
        if first_name and clean_name.first_name not in data["first_names"] + [
                data.get("used_first_name", "")]:
            continue
        out.append((identity, data))
        if len(out) >= limit:
            break
    audit.record(session, actor=p.actor, action="identity.local.search",
                 object_type="identity_local", object_id=finess,
                 details={"finess": finess, "results": len(out)})
    return out


def _set_status(session: Session, p: Principal, identity: LocalIdentity, data: dict[str, Any],
                how: str) -> None:
    before = identity.status
    identity.status = status.status_of(
        from_directory=bool(data.get("from_directory")),
        document_checked=identity.document_checked_at is not None, attribute=identity.attribute)
    identity.status_reason = status.reason_of(
        from_directory=bool(data.get("from_directory")), document=identity.document_type,
        attribute=identity.attribute)
    identity.updated_at = utcnow()
    _event(session, p, identity, "status", how, before=before)
    _audit(session, p, "identity.local.status", identity, before=before, after=identity.status,
           how=how)
    patient.sync(session, identity, data)


def check_document(session: Session, p: Principal, identity: LocalIdentity,
                   document: str) -> LocalIdentity:
    """An identity document was checked at the desk: high trust validates the identity
    (qualifies it when its traits came from the directory); low trust changes nothing but
    is recorded."""
    policy.authorize(p, "identity.local.write", identity.finess)
    if document not in status.DOCUMENTS:
        raise Invalid(f"type de pièce inconnu : {document[:30]}", "unknown document type")
    data = decode_traits(session, identity)
    label = status.DOCUMENTS[document][0]
    if not status.is_high_trust(document, minor=_minor(data["birth_date"])):
        _event(session, p, identity, "document", f"pièce à faible niveau de confiance : {label}"
               " (statut inchangé)", before=identity.status)
        _audit(session, p, "identity.local.document", identity, document=document)
        return identity
    identity.document_type, identity.document_checked_at = document, utcnow()
    _set_status(session, p, identity, data, f"contrôle de pièce : {label}")
    return identity


def set_attribute(session: Session, p: Principal, identity: LocalIdentity, attribute: str,
                  note: str) -> LocalIdentity:
    """Doubtful or fictitious: the identity goes back to provisional."""
    policy.authorize(p, "identity.local.write", identity.finess)
    if attribute not in status.ATTRIBUTE_LABELS:
        raise Invalid("attribut : DOUT (douteuse), FICT (fictive) ou vide", "bad attribute")
    identity.attribute = attribute
    label = status.ATTRIBUTE_LABELS[attribute]
    _set_status(session, p, identity, decode_traits(session, identity),
                f"attribut : {label}" + (f" — {note[:200]}" if note else ""))
    return identity


def adopt_reference(session: Session, p: Principal, identity: LocalIdentity,
                    person: ReferencePerson, how: str) -> None:
    """The directory's traits replace the desk's, untouched (never normalised)."""
    data = decode_traits(session, identity)
    reference = {"birth_name": person.birth_name, "first_names": person.first_names.split(" "),
                 "sex": person.sex, "birth_date": person.birth_date,
                 "birth_place": person.birth_place, "matricule": person.matricule,
                 "oid": person.oid, "from_directory": True}
    data = {**data, **reference, "desk_traits": {k: data.get(k) for k in reference}}
    identity.traits_enc = encode_traits(session, data)
    identity.reference_person_id = person.id
    identity.directory_checked_at = utcnow()
    _apply_keys(session, identity, data)
    _set_status(session, p, identity, data, how)


def match_directory(session: Session, p: Principal,
                    identity: LocalIdentity) -> directory.Answer:
    """Query the directory with the identity's traits (with the retries); on ``00`` the
    identity takes the reference traits and INS and becomes recovered (or qualified)."""
    from esante.identity import vigilance

    policy.authorize(p, "identity.local.write", identity.finess)
    if not status.may_call_directory(identity.attribute):
        raise Conflict("identité douteuse ou fictive : l'annuaire de référence ne peut pas être"
                       " interrogé", "doubtful or fictitious identity", code="directory-forbidden")
    data = decode_traits(session, identity)
    answer = directory.search_with_retries(session, p.actor, directory.TraitQuery(
        data["birth_name"], data["first_names"], data["sex"], data["birth_date"],
        data.get("birth_place", "")))
    if answer.code == directory.FOUND:
        person = answer.persons[0]
        adopt_reference(session, p, identity, person,
                        "annuaire de référence : " + " ; ".join(answer.tries))
        vigilance.check_collision(session, identity)
    else:
        _event(session, p, identity, "directory", "annuaire de référence : "
               + " ; ".join(answer.tries), before=identity.status)
    return answer


def from_card(session: Session, p: Principal, *, finess: str, card: directory.CardQuery,
              ) -> tuple[directory.Answer, LocalIdentity | None, list[Candidate]]:
    """Carte Vitale data entered at the desk: the directory is asked; one match creates
    the local identity with the reference traits (recovered)."""
    policy.authorize(p, "identity.local.write", finess)
    answer = directory.search_card(session, p.actor, card)
    if answer.code != directory.FOUND:
        return answer, None, []
    person = answer.persons[0]
    identity, found = create(
        session, p, finess=finess, method="carte_vitale",
        traits=Traits(person.birth_name, person.first_names.split(" "), person.sex,
                      person.birth_date, person.birth_place))
    adopt_reference(session, p, identity, person, "Carte Vitale et annuaire de référence : "
                    + answer.label)
    return answer, identity, found


def history(session: Session, identity: LocalIdentity) -> list[IdentityEvent]:
    return list(session.scalars(select(IdentityEvent).where(
        IdentityEvent.identity_id == identity.id).order_by(IdentityEvent.id)))


def local_oid(finess: str) -> str:
    """The assigning authority of an establishment's local identifiers (IPP): the OID the
    establishment registered (setting ``ESANTE_IDENTITY_LOCAL_OIDS``), else an OID derived
    from a UUID under the ``2.25`` arc (ITU-T X.667: unique without registration), the
    UUID being name-based on the FINESS so that every export names it the same way."""
    configured = get_settings().identity_local_oids.get(finess)
    if configured:
        return configured
    return f"2.25.{uuid.uuid5(uuid.NAMESPACE_URL, f'https://finess.esante.gouv.fr/{finess}/ipp').int}"


def outward_ins_or_none(session: Session, identity: LocalIdentity) -> dict[str, str] | None:
    """For exports (FHIR, HL7 v2, CDA, messages): the INS when it may travel, else None."""
    return status.outward_ins(identity, decode_traits(session, identity))


def outward_ins(session: Session, p: Principal, identity: LocalIdentity) -> dict[str, str]:
    """The INS for another party: only a qualified identity carries it (``status``)."""
    policy.authorize(p, "identity.local.read", identity.finess)
    ins = status.require_outward_ins(identity, decode_traits(session, identity))
    _audit(session, p, "identity.local.ins", identity)
    return ins
