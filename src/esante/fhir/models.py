"""FHIR tables: the current version of each resource, every version (history), the
search index (one table per search-parameter kind) and the access rules derived from
Consent resources and care relationships.

The resource body is stored encrypted (envelope AES-GCM, see ``core.crypto``); searches
never read it: they go through the index tables."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from esante.core.db import Base

BigId = BigInteger().with_variant(Integer, "sqlite")


class FhirResource(Base):
    """The current version of a resource (deleted ones are kept, flagged)."""

    __tablename__ = "fhir_resources"
    __table_args__ = (
        UniqueConstraint("resource_type", "fid"),
        Index("ix_fhir_resources_type_updated", "resource_type", "last_updated"),
    )

    pk: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    resource_type: Mapped[str] = mapped_column(String(40))
    fid: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    last_updated: Mapped[datetime]
    deleted: Mapped[bool] = mapped_column(default=False)
    # The Patient whose compartment holds this resource (its own id for a Patient), or
    # None for directory resources (Practitioner, Organization...). Access rules use it.
    patient_fid: Mapped[str | None] = mapped_column(String(64), index=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)


class FhirVersion(Base):
    """Every version of every resource, the current one included (history, vread)."""

    __tablename__ = "fhir_versions"
    __table_args__ = (UniqueConstraint("resource_type", "fid", "version"),)

    pk: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    resource_type: Mapped[str] = mapped_column(String(40))
    fid: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    last_updated: Mapped[datetime] = mapped_column(index=True)
    method: Mapped[str] = mapped_column(String(10))  # POST, PUT, PATCH, DELETE
    deleted: Mapped[bool] = mapped_column(default=False)
    content: Mapped[bytes | None] = mapped_column(LargeBinary)


def _res_fk() -> Mapped[int]:
    return mapped_column(BigId, ForeignKey("fhir_resources.pk", ondelete="CASCADE"))


class FhirTokenIndex(Base):
    __tablename__ = "fhir_idx_token"
    __table_args__ = (Index("ix_fhir_idx_token_lookup", "resource_type", "param", "code", "system"),
                      Index("ix_fhir_idx_token_res", "res_pk"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    res_pk: Mapped[int] = _res_fk()
    resource_type: Mapped[str] = mapped_column(String(40))
    param: Mapped[str] = mapped_column(String(64))
    system: Mapped[str] = mapped_column(String(200), default="")
    code: Mapped[str] = mapped_column(String(200))


class FhirStringIndex(Base):
    __tablename__ = "fhir_idx_string"
    # varchar_pattern_ops on PostgreSQL: the index then serves the prefix searches
    # (``norm LIKE 'dup%'``, FHIR's default string match) under any collation.
    __table_args__ = (Index("ix_fhir_idx_string_lookup", "resource_type", "param", "norm",
                            postgresql_ops={"norm": "varchar_pattern_ops"}),
                      Index("ix_fhir_idx_string_res", "res_pk"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    res_pk: Mapped[int] = _res_fk()
    resource_type: Mapped[str] = mapped_column(String(40))
    param: Mapped[str] = mapped_column(String(64))
    norm: Mapped[str] = mapped_column(String(200))  # lower case, no accents
    exact: Mapped[str] = mapped_column(String(200))


class FhirDateIndex(Base):
    __tablename__ = "fhir_idx_date"
    __table_args__ = (Index("ix_fhir_idx_date_lookup", "resource_type", "param", "low", "high"),
                      Index("ix_fhir_idx_date_res", "res_pk"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    res_pk: Mapped[int] = _res_fk()
    resource_type: Mapped[str] = mapped_column(String(40))
    param: Mapped[str] = mapped_column(String(64))
    low: Mapped[datetime]
    high: Mapped[datetime]


class FhirRefIndex(Base):
    __tablename__ = "fhir_idx_ref"
    __table_args__ = (
        Index("ix_fhir_idx_ref_lookup", "resource_type", "param", "target_type", "target_fid"),
        Index("ix_fhir_idx_ref_target", "target_type", "target_fid"),
        Index("ix_fhir_idx_ref_res", "res_pk"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    res_pk: Mapped[int] = _res_fk()
    resource_type: Mapped[str] = mapped_column(String(40))
    param: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str] = mapped_column(String(40))
    target_fid: Mapped[str] = mapped_column(String(64))


class PatientLink(Base):
    """A user account that holds a Patient record: the citizen herself (or a guardian)."""

    __tablename__ = "fhir_patient_links"
    __table_args__ = (UniqueConstraint("user_id", "patient_fid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    patient_fid: Mapped[str] = mapped_column(String(64), index=True)
    relation: Mapped[str] = mapped_column(String(20), default="self")  # self, guardian
    created_at: Mapped[datetime]


class CareRelationship(Base):
    """A professional who takes part in a patient's care may reach her compartment."""

    __tablename__ = "fhir_care_relationships"
    __table_args__ = (Index("ix_fhir_care_user_patient", "user_id", "patient_fid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    patient_fid: Mapped[str] = mapped_column(String(64), index=True)
    reason: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime]
    ends_at: Mapped[datetime | None]


class ConsentRule(Base):
    """Rules derived from active Consent resources: a blocked professional (by RPPS) or a
    hidden resource. Rebuilt whenever the Consent is written."""

    __tablename__ = "fhir_consent_rules"
    __table_args__ = (Index("ix_fhir_consent_patient_kind", "patient_fid", "kind"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    consent_pk: Mapped[int] = _res_fk()
    patient_fid: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(20))  # block-actor, hide-resource
    actor_rpps: Mapped[str] = mapped_column(String(20), default="")
    target_type: Mapped[str] = mapped_column(String(40), default="")
    target_fid: Mapped[str] = mapped_column(String(64), default="")
