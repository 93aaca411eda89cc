"""The opt-out register: citizens object to the reuse of their health data for research.

The register never holds a NIR: it keeps an HMAC-SHA-256 of it, under a key derived from
the platform's secret key (so that a copy of the table alone cannot be tested against a
list of NIRs). The pipeline asks, at extraction time, which of the people it is about to
extract objected (``opted_out_ids`` / ``opted_out_person_ids``), and reports the count."""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.fr import nir as stdnir

from esante.core import audit, policy
from esante.core.audit import Actor
from esante.core.db import utcnow
from esante.core.errors import Conflict, Invalid, NotFound
from esante.core.policy import Principal
from esante.core.settings import Settings, get_settings
from esante.datahub import access  # noqa: F401 - registers the hub's permissions
from esante.datahub.models import OptOut

_CONTEXT = b"esante.datahub.opt-out.v1"


def register_key(settings: Settings | None = None) -> bytes:
    """The HMAC key of the register, derived from the platform's secret key."""
    secret = (settings or get_settings()).secret_key.encode()
    return hmac.digest(secret, _CONTEXT, "sha256")


def digest(kind: str, value: str, key: bytes | None = None) -> str:
    return hmac.digest(key or register_key(), f"{kind}:{value}".encode(), "sha256").hex()


def normalise_nir(raw: str) -> str:
    """A NIR as 15 characters, with a precise error when it is not one."""
    value = "".join(raw.split()).upper()
    try:
        value = stdnir.validate(value)
    except StdnumError as exc:
        reason = {"InvalidLength": "15 caractères attendus (clé comprise)",
                  "InvalidFormat": "chiffres attendus (2A ou 2B pour la Corse)",
                  "InvalidChecksum": "la clé ne correspond pas au numéro"}.get(
            type(exc).__name__, "numéro non reconnu")
        raise Invalid(f"NIR invalide : {reason}", f"invalid NIR: {exc}", code="nir") from None
    if value[0] not in "12378":
        raise Invalid("NIR invalide : le premier chiffre (sexe) doit être 1 ou 2 (3, 7 ou 8 "
                      "pour un numéro provisoire)", "invalid NIR: sex digit", code="nir-sex")
    return value


def list_mine(session: Session, p: Principal) -> list[OptOut]:
    policy.authorize(p, "datahub.optout.read")
    return list(session.scalars(select(OptOut).where(OptOut.user_id == p.user.id)
                                .order_by(OptOut.recorded_at.desc(), OptOut.id.desc())))


def record(session: Session, p: Principal, *, nir: str, channel: str = "web") -> OptOut:
    policy.authorize(p, "datahub.optout.self")
    value = normalise_nir(nir)
    key = digest("nir", value)
    row = session.scalar(select(OptOut).where(OptOut.digest == key,
                                              OptOut.user_id == p.user.id))
    if row is not None and row.withdrawn_at is None:
        raise Conflict("vous avez déjà enregistré une opposition pour ce numéro",
                       "you already recorded an objection for this number", code="opted-out")
    now = utcnow()
    if row is None:
        row = OptOut(digest=key, kind="nir")
        session.add(row)
    row.user_id, row.channel, row.recorded_at, row.withdrawn_at = p.user.id, channel, now, None
    session.flush()
    audit.record(session, actor=p.actor, action="datahub.optout.record", object_type="opt_out",
                 object_id=row.id, subject_user_id=p.user.id, details={"channel": channel})
    return row


def withdraw(session: Session, p: Principal, opt_out_id: int) -> OptOut:
    policy.authorize(p, "datahub.optout.self")
    row = session.get(OptOut, opt_out_id)
    if row is None or row.user_id != p.user.id:
        raise NotFound("opposition introuvable", "objection not found")
    if row.withdrawn_at is not None:
        raise Conflict("cette opposition est déjà retirée", "already withdrawn", code="withdrawn")
    row.withdrawn_at = utcnow()
    audit.record(session, actor=p.actor, action="datahub.optout.withdraw", object_type="opt_out",
                 object_id=row.id, subject_user_id=p.user.id)
    session.flush()
    return row


def count_active(session: Session, p: Principal | None = None) -> int:
    if p is not None:
        policy.authorize(p, "datahub.optout.count")
    return session.scalar(select(func.count(func.distinct(OptOut.digest))).where(
        OptOut.withdrawn_at.is_(None))) or 0


def _active_digests(session: Session, kind: str) -> set[str]:
    return set(session.scalars(select(OptOut.digest).where(OptOut.kind == kind,
                                                           OptOut.withdrawn_at.is_(None))))


def opted_out_ids(session: Session, *, actor: Actor, nirs: Iterable[str],
                  project_id: int | None = None) -> set[str]:
    """The NIRs among ``nirs`` whose holder objects, at this moment. Audited with the count
    (never the numbers)."""
    active = _active_digests(session, "nir")
    key = register_key()
    found = {n for n in nirs
             if hmac.digest(key, f"nir:{n}".encode(), "sha256").hex() in active} if active else set()
    audit.record(session, actor=actor, action="datahub.optout.lookup", object_type="project",
                 object_id=project_id if project_id is not None else "-",
                 details={"opted_out": len(found)})
    return found


def opted_out_person_ids(session: Session, *, actor: Actor, people: Path,
                         nir_column: str = "nir", id_column: str = "person_id",
                         project_id: int | None = None, batch: int = 1_000_000) -> set[int]:
    """The person ids of a people file (Parquet) whose holder objects, read in batches.
    Two people sharing a NIR (a collision) are both left out: the safe side."""
    active = {bytes.fromhex(d) for d in _active_digests(session, "nir")}
    key = register_key()
    out: set[int] = set()
    if active:
        for chunk in pq.ParquetFile(people).iter_batches(batch_size=batch,
                                                         columns=[id_column, nir_column]):
            nirs = pc.binary_join_element_wise(
                "nir:", chunk.column(1), "").cast(pa.binary()).to_pylist()
            ids = chunk.column(0)
            out.update(ids[i].as_py() for i, n in enumerate(nirs)
                       if n is not None and hmac.digest(key, n, "sha256") in active)
    audit.record(session, actor=actor, action="datahub.optout.lookup", object_type="project",
                 object_id=project_id if project_id is not None else "-",
                 details={"opted_out": len(out), "file": people.name})
    return out
