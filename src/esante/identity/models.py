"""Tables of identities: the reference directory (the INSi role), local identities of each
establishment with their RNIV status and its history, and the identity-vigilance queue."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from esante.core.db import Base, utcnow


class ReferencePerson(Base):
    """A person as the reference directory knows them: the active INS and its traits.

    The directory is the national reference of this deployment; its traits are never
    altered by normalisation. ``card_holder`` is the NIR of the insured person whose Carte
    Vitale carries this person (their own for adults, a parent's for a child)."""

    __tablename__ = "identity_reference_persons"
    __table_args__ = (
        Index("ix_identity_ref_traits", "birth_date", "sex", "birth_name"),
        Index("ix_identity_ref_card", "card_holder", "birth_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    matricule: Mapped[str] = mapped_column(String(15), unique=True)  # 13 + key
    oid: Mapped[str] = mapped_column(String(40))
    birth_name: Mapped[str] = mapped_column(String(100))
    first_names: Mapped[str] = mapped_column(String(200))  # space-separated list
    sex: Mapped[str] = mapped_column(String(1))
    birth_date: Mapped[str] = mapped_column(String(10))  # YYYY-MM-DD, 00 when unknown
    birth_place: Mapped[str] = mapped_column(String(5))
    card_holder: Mapped[str] = mapped_column(String(15))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class FormerMatricule(Base):
    """A matricule the person held before (a NIA replaced by the NIR, a corrected NIR)."""

    __tablename__ = "identity_former_matricules"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(
        ForeignKey("identity_reference_persons.id", ondelete="CASCADE"), index=True)
    matricule: Mapped[str] = mapped_column(String(15), index=True)
    oid: Mapped[str] = mapped_column(String(40))
    until: Mapped[str] = mapped_column(String(10), default="")


class LocalIdentity(Base):
    """An establishment's record of a patient, with its RNIV status.

    The traits (and the INS when there is one) are encrypted at rest in ``traits_enc``;
    only what the real-time duplicate search needs stays in clear: the birth date, the sex
    and the first letters of the names, plus a keyed hash of the NIR."""

    __tablename__ = "identity_local"
    __table_args__ = (
        Index("ix_identity_local_block_date", "finess", "birth_date"),
        Index("ix_identity_local_block_names", "finess", "name_key", "first_key", "birth_date"),
        Index("ix_identity_local_nir", "finess", "nir_hash"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    establishment_id: Mapped[int] = mapped_column(ForeignKey("establishments.id"), index=True)
    finess: Mapped[str] = mapped_column(String(9))
    local_id: Mapped[str] = mapped_column(String(40), default="")  # the establishment's IPP
    status: Mapped[str] = mapped_column(String(5), default="PROV")  # PROV VALI RECUP QUAL
    status_reason: Mapped[str] = mapped_column(String(300), default="")
    attribute: Mapped[str] = mapped_column(String(4), default="")  # "", DOUT, FICT
    traits_enc: Mapped[bytes] = mapped_column(LargeBinary)
    birth_date: Mapped[str] = mapped_column(String(10))
    sex: Mapped[str] = mapped_column(String(1))
    name_key: Mapped[str] = mapped_column(String(4))
    first_key: Mapped[str] = mapped_column(String(4))
    nir_hash: Mapped[str] = mapped_column(String(64), default="")
    reference_person_id: Mapped[int | None] = mapped_column(
        ForeignKey("identity_reference_persons.id"), index=True)
    document_type: Mapped[str] = mapped_column(String(30), default="")
    document_checked_at: Mapped[datetime | None]
    directory_checked_at: Mapped[datetime | None]
    collection_method: Mapped[str] = mapped_column(String(20), default="manual")
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("identity_local.id"))
    # The FR Core Patient of this identity in the FHIR store (``identity.patient``).
    patient_fid: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class IdentityEvent(Base):
    """Who did what to a local identity, when and how: every status change, every
    vigilance decision and its undoing. Append-only."""

    __tablename__ = "identity_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    identity_id: Mapped[int] = mapped_column(ForeignKey("identity_local.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_label: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(30))  # created, status, attribute, merge...
    from_status: Mapped[str] = mapped_column(String(5), default="")
    to_status: Mapped[str] = mapped_column(String(5), default="")
    how: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class VigilancePair(Base):
    """Two local identities of one establishment that may be one person (a duplicate), or
    one record that may be two people (a collision), waiting for the vigilance cell."""

    __tablename__ = "identity_vigilance_pairs"
    __table_args__ = (Index("ix_identity_pairs_queue", "finess", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    finess: Mapped[str] = mapped_column(String(9))
    first_id: Mapped[int] = mapped_column(ForeignKey("identity_local.id"), index=True)
    second_id: Mapped[int] = mapped_column(ForeignKey("identity_local.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20), default="duplicate")  # or collision
    score: Mapped[int] = mapped_column(Integer, default=0)
    reason: Mapped[str] = mapped_column(String(300), default="")
    state: Mapped[str] = mapped_column(String(20), default="open")
    surviving_id: Mapped[int | None] = mapped_column(ForeignKey("identity_local.id"))
    linked: Mapped[bool] = mapped_column(Boolean, default=False)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
