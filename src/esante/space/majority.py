"""At 18 the space passes to its holder, who then decides what her former guardians see.

The hand-over (``guardians.hand_over``) ends every guardianship: by default her former
guardians see nothing more (parental authority ends at majority; an adult's record opens
to no one by inheritance). The delegation page tells her so and lets her, if she wishes,
grant a former guardian continued **read** access to her record, then hide from that
person the documents she chooses, or withdraw the grant. Each choice is a FHIR
``Consent`` of her record, naming the former guardian by her account
(``ACCOUNT_SYSTEM``) with the role ``GUARD``; the FHIR access layer derives its rules
(``permit-account``, and ``hide-resource`` for that account) and applies them to reads
and searches (``esante.fhir.access``). A grant never lets anyone write."""

from __future__ import annotations

from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from esante.core import audit
from esante.core.accounts.models import User
from esante.core.errors import Conflict, Invalid, NotFound
from esante.core.policy import Principal, authorize
from esante.fhir.consent import ACCOUNT_SYSTEM
from esante.fhir.models import ConsentRule
from esante.space.documents import fhir_for
from esante.space.models import Guardianship, Space
from esante.space.privacy import ROLE_SYSTEM, _consent
from esante.space.service import need_second_factor

GUARD_ROLE = "GUARD"


def former_guardians(session: Session, space: Space) -> list[tuple[Guardianship, User]]:
    """The guardians whose delegation ended when she came of age (one row per person)."""
    seen: dict[int, tuple[Guardianship, User]] = {}
    for g, u in session.execute(select(Guardianship, User).join(
            User, User.id == Guardianship.user_id).where(
            Guardianship.space_id == space.id, Guardianship.end_reason == "majority")
            .order_by(Guardianship.id)).all():
        seen.setdefault(u.id, (g, u))
    return list(seen.values())


def _actor(user: User) -> dict[str, Any]:
    return {"role": {"coding": [{"system": ROLE_SYSTEM, "code": GUARD_ROLE}]},
            "reference": {"identifier": {"system": ACCOUNT_SYSTEM, "value": str(user.id)},
                          "display": user.display_name or user.email}}


def _account_of(consent: dict[str, Any]) -> int | None:
    for a in (consent.get("provision") or {}).get("actor", []):
        ident = (a.get("reference") or {}).get("identifier") or {}
        if ident.get("system") == ACCOUNT_SYSTEM and str(ident.get("value", "")).isdigit():
            return int(ident["value"])
    return None


def _consents(session: Session, p: Principal, space: Space) -> list[dict[str, Any]]:
    bundle = fhir_for(session, p).search("Consent", [
        ("patient", space.patient_fid), ("status", "active"), ("_count", "500")]).resource or {}
    return [e["resource"] for e in bundle.get("entry", [])
            if e.get("search", {}).get("mode") == "match"
            and _account_of(e["resource"]) is not None]


def grants(session: Session, p: Principal, space: Space) -> dict[int, dict[str, Any]]:
    """Per former guardian (account id): the grant's Consent id and the documents hidden
    from that person."""
    out: dict[int, dict[str, Any]] = {}
    consents = _consents(session, p, space)
    for c in consents:
        uid = _account_of(c)
        assert uid is not None
        prov = c.get("provision") or {}
        entry = out.setdefault(uid, {"consent": "", "hidden": set()})
        if prov.get("type") == "permit":
            entry["consent"] = c["id"]
        elif prov.get("type") == "deny":
            for d in prov.get("data", []):
                ref = (d.get("reference") or {}).get("reference", "")
                if ref.startswith("DocumentReference/"):
                    entry["hidden"].add(ref.split("/", 1)[1])
    return {uid: e for uid, e in out.items() if e["consent"] or e["hidden"]}


def _former(session: Session, space: Space, user_id: int) -> User:
    for _g, u in former_guardians(session, space):
        if u.id == user_id:
            return u
    raise NotFound("cette personne n'est pas l'un de vos anciens tuteurs",
                   "not a former guardian", code="guardian")


def grant(session: Session, p: Principal, space: Space, user_id: int) -> str:
    """Lets a former guardian read her record again (read only), until she withdraws it."""
    user = _former(session, space, user_id)
    if grants(session, p, space).get(user.id, {}).get("consent"):
        raise Conflict("cette personne a déjà accès à votre dossier", "already granted",
                       code="granted")
    made = fhir_for(session, p).create(_consent(space, {"type": "permit",
                                                        "actor": [_actor(user)]})).resource
    assert made is not None
    audit.record(session, actor=p.actor, action="space.former-guardian-grant",
                 object_type="space", object_id=space.id,
                 patient_ref=f"Patient/{space.patient_fid}", details={"guardian": user.id})
    return str(made["id"])


def _deactivate(session: Session, p: Principal, space: Space, user_id: int,
                kind: str, document: str = "") -> int:
    fhir = fhir_for(session, p)
    n = 0
    for c in _consents(session, p, space):
        prov = c.get("provision") or {}
        if _account_of(c) != user_id or prov.get("type") != kind:
            continue
        refs = {(d.get("reference") or {}).get("reference", "") for d in prov.get("data", [])}
        if document and f"DocumentReference/{document}" not in refs:
            continue
        fhir.update("Consent", c["id"], c | {"status": "inactive"})
        n += 1
    return n


def revoke(session: Session, p: Principal, space: Space, user_id: int) -> None:
    """Withdraws the grant (and the hiding choices that went with it)."""
    user = _former(session, space, user_id)
    if not _deactivate(session, p, space, user.id, "permit"):
        raise Conflict("cette personne n'a pas accès à votre dossier", "not granted",
                       code="not-granted")
    _deactivate(session, p, space, user.id, "deny")
    audit.record(session, actor=p.actor, action="space.former-guardian-revoke",
                 object_type="space", object_id=space.id,
                 patient_ref=f"Patient/{space.patient_fid}", details={"guardian": user.id})


def hide(session: Session, p: Principal, space: Space, user_id: int, document: str) -> None:
    """Hides one document (and its file) from a former guardian she granted access to."""
    user = _former(session, space, user_id)
    state = grants(session, p, space).get(user.id)
    if not state or not state["consent"]:
        raise Conflict("cette personne n'a pas accès à votre dossier : rien à masquer",
                       "not granted", code="not-granted")
    if document in state["hidden"]:
        return
    doc = fhir_for(session, p).read("DocumentReference", document[:64]).resource or {}
    if (doc.get("subject") or {}).get("reference") != f"Patient/{space.patient_fid}":
        raise Invalid("ce document n'est pas dans votre espace", "not your document",
                      code="document")
    fhir_for(session, p).create(_consent(space, {"type": "deny", "actor": [_actor(user)], "data": [
        {"meaning": "instance", "reference": {"reference": f"DocumentReference/{doc['id']}"}}]}))


def show(session: Session, p: Principal, space: Space, user_id: int, document: str) -> None:
    user = _former(session, space, user_id)
    if not _deactivate(session, p, space, user.id, "deny", document[:64]):
        raise Conflict("ce document n'est pas masqué à cette personne", "not hidden",
                       code="not-hidden")


# --- the former guardian's side: a read-only view of what she was allowed -------------------

def _granted_to(user_id: int) -> Any:
    return select(ConsentRule.patient_fid).where(ConsentRule.kind == "permit-account",
                                                 ConsentRule.actor_rpps == f"a:{user_id}")


def shared_with(session: Session, p: Principal) -> list[Space]:
    """The active spaces whose (adult) holder lets this former guardian read her record."""
    return list(session.scalars(select(Space).where(
        Space.status == "active", Space.patient_fid.in_(_granted_to(p.user.id)))
        .order_by(Space.id)))


def granted(session: Session, p: Principal, patient_fid: str) -> bool:
    return bool(session.scalar(select(exists().where(
        ConsentRule.kind == "permit-account", ConsentRule.actor_rpps == f"a:{p.user.id}",
        ConsentRule.patient_fid == patient_fid[:64]))))


def require_shared(session: Session, p: Principal, patient_fid: str, *,
                   second_factor: bool = False) -> Space:
    """The space of a former ward who granted this account read access, behind the second
    factor; each opening audited (she sees it in her access history)."""
    space = session.scalar(select(Space).where(Space.patient_fid == patient_fid[:64]))
    authorize(p, "space.shared.use", (space, space is not None and granted(
        session, p, space.patient_fid)))
    assert space is not None
    need_second_factor(p, second_factor, own=False)
    audit.record(session, actor=p.actor, action="space.shared-access", object_type="space",
                 object_id=space.id, patient_ref=f"Patient/{space.patient_fid}")
    return space
