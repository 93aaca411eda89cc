"""The reference directory: the role of the national INSi teleservice in this deployment.

Two searches, each answering with the teleservice's result codes: ``00`` one identity,
``01`` none, ``02`` several. The caller then retries as DOMAIN.md says (each first name
alone, then with the birth place): ``search_with_retries`` does that for the platform's own
desks. Every call is audited (without traits in the record) and rate-limited per account.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from esante.core import audit
from esante.core.audit import Actor, AuditEvent
from esante.core.db import utcnow
from esante.core.errors import TooManyRequests
from esante.core.settings import get_settings
from esante.identity import nir
from esante.identity.models import FormerMatricule, ReferencePerson

FOUND, NONE, SEVERAL = "00", "01", "02"
RESULT_LABELS = {FOUND: "une identité trouvée", NONE: "aucune identité trouvée",
                 SEVERAL: "plusieurs identités trouvées"}
OID_NIR = "1.2.250.1.213.1.4.8"
OID_NIA = "1.2.250.1.213.1.4.9"
AUDIT_ACTION = "identity.directory.search"
# Calls per account and minute (an establishment's software uses one account); unconfirmed
# for the real teleservice, hence a module setting.
MAX_RESULTS = 10


@dataclass(frozen=True)
class TraitQuery:
    birth_name: str
    first_names: list[str]
    sex: str
    birth_date: str
    birth_place: str = ""


@dataclass(frozen=True)
class CardQuery:
    """What a Carte Vitale gives: the insured holder's NIR and the beneficiary's traits."""

    holder_nir: str
    birth_name: str
    first_name: str
    birth_date: str


@dataclass
class Answer:
    code: str
    persons: list[ReferencePerson]
    formers: dict[int, list[FormerMatricule]] = field(default_factory=dict)
    tries: list[str] = field(default_factory=list)  # the retries made, in French

    @property
    def label(self) -> str:
        return RESULT_LABELS[self.code]


def _rate_limit(session: Session, actor: Actor) -> None:
    since = utcnow() - timedelta(minutes=1)
    calls = session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == AUDIT_ACTION, AuditEvent.actor_id == actor.user_id,
        AuditEvent.at >= since)) or 0
    limit = get_settings().identity_directory_rate_per_minute
    if calls >= limit:
        raise TooManyRequests(
            f"trop d'appels à l'annuaire de référence : {limit} par minute "
            "au plus, réessayez dans une minute", "directory rate limit reached",
            code="directory-rate-limit", retry_after=60)


def _first_names_match(wanted: list[str], person: ReferencePerson) -> bool:
    have = person.first_names.split(" ")
    if len(wanted) == 1:
        return wanted[0] in have
    return have[:len(wanted)] == wanted


def _answer(session: Session, persons: list[ReferencePerson]) -> Answer:
    code = FOUND if len(persons) == 1 else NONE if not persons else SEVERAL
    formers: dict[int, list[FormerMatricule]] = {}
    if code == FOUND:
        formers[persons[0].id] = list(session.scalars(select(FormerMatricule).where(
            FormerMatricule.person_id == persons[0].id)))
    return Answer(code=code, persons=persons[:MAX_RESULTS], formers=formers)


def _by_traits(session: Session, q: TraitQuery) -> list[ReferencePerson]:
    stmt = select(ReferencePerson).where(
        ReferencePerson.birth_date == q.birth_date, ReferencePerson.sex == q.sex,
        ReferencePerson.birth_name == q.birth_name)
    if q.birth_place:
        stmt = stmt.where(ReferencePerson.birth_place == q.birth_place)
    return [p for p in session.scalars(stmt.limit(500)) if _first_names_match(q.first_names, p)]


def _record(session: Session, actor: Actor, mode: str, answer: Answer) -> None:
    audit.record(session, actor=actor, action=AUDIT_ACTION, object_type="identity_directory",
                 object_id=mode, details={"mode": mode, "result": answer.code,
                                          "count": len(answer.persons)})


def search_traits(session: Session, actor: Actor, q: TraitQuery) -> Answer:
    """One search by traits, as the teleservice answers it (no retry)."""
    _rate_limit(session, actor)
    answer = _answer(session, _by_traits(session, q))
    _record(session, actor, "traits", answer)
    return answer


def search_card(session: Session, actor: Actor, q: CardQuery) -> Answer:
    """A search with Carte Vitale data: the beneficiaries of the holder's card born that
    day, narrowed by birth name and first name."""
    _rate_limit(session, actor)
    rows = list(session.scalars(select(ReferencePerson).where(
        ReferencePerson.card_holder == nir.check(q.holder_nir).value,
        ReferencePerson.birth_date == q.birth_date).limit(50)))
    if q.birth_name:
        rows = [p for p in rows if p.birth_name == q.birth_name]
    if q.first_name:
        rows = [p for p in rows if q.first_name in p.first_names.split(" ")]
    answer = _answer(session, rows)
    _record(session, actor, "carte_vitale", answer)
    return answer


def search_with_retries(session: Session, actor: Actor, q: TraitQuery) -> Answer:
    """The search a desk makes: the traits without the birth place; on ``02``, each first
    name alone; then, still ``02``, with the birth place. The answer lists the tries."""
    plain = TraitQuery(q.birth_name, q.first_names, q.sex, q.birth_date)
    answer = search_traits(session, actor, plain)
    tries = [f"prénoms « {' '.join(q.first_names)} » : {answer.label}"]
    if answer.code == SEVERAL and len(q.first_names) > 1:
        for first in q.first_names:
            retry = search_traits(session, actor, TraitQuery(
                q.birth_name, [first], q.sex, q.birth_date))
            tries.append(f"prénom « {first} » seul : {retry.label}")
            if retry.code == FOUND:
                retry.tries = tries
                return retry
    if answer.code == SEVERAL and q.birth_place:
        answer = search_traits(session, actor, q)
        tries.append(f"avec le lieu de naissance {q.birth_place} : {answer.label}")
    answer.tries = tries
    return answer


def oid_of(matricule: str) -> str:
    return OID_NIA if matricule[:1] in ("7", "8") else OID_NIR
