"""The resource store: versioned writes, reads and history, with the search index kept in
step in the same transaction. It knows nothing of HTTP nor of who asks (see
``fhir.access`` and ``fhir.api``)."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import jsonpatch
from sqlalchemy import delete, func, insert, lambda_stmt, select
from sqlalchemy.orm import Session

from esante.core.crypto import Vault
from esante.core.db import utcnow
from esante.core.settings import Settings
from esante.fhir import validation
from esante.fhir.indexer import compartment_patient, index_rows
from esante.fhir.models import (
    ConsentRule,
    FhirDateIndex,
    FhirRefIndex,
    FhirResource,
    FhirStringIndex,
    FhirTokenIndex,
    FhirVersion,
)
from esante.fhir.outcome import FhirError
from esante.fhir.values import split_reference

ID_RE = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
PURPOSE = "fhir"


@dataclass
class Stored:
    resource_type: str
    fid: str
    version: int
    last_updated: datetime
    deleted: bool
    patient_fid: str | None
    resource: dict[str, Any]
    pk: int = 0

    @property
    def etag(self) -> str:
        return f'W/"{self.version}"'


def fhir_instant(at: datetime) -> str:
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def check_id(fid: str) -> str:
    if not ID_RE.match(fid):
        raise FhirError(400, f"identifiant FHIR invalide : « {fid[:70]} » (1 à 64 caractères "
                        "A-Z a-z 0-9 - .)", f"invalid FHIR id: {fid[:70]!r}", code="value")
    return fid


def parse_etag(value: str) -> int:
    raw = value.strip()
    raw = raw[2:] if raw.startswith("W/") else raw
    raw = raw.strip('"')
    if not raw.isdigit():
        raise FhirError(400, f"If-Match invalide : {value[:30]} (attendu W/\"n\")",
                        f"invalid If-Match: {value[:30]}", code="value")
    return int(raw)


class Store:
    def __init__(self, session: Session, settings: Settings | None = None) -> None:
        self.session = session
        self.vault = Vault(session, settings)

    # --- encoding ---------------------------------------------------------------------------

    def _seal(self, resource: dict[str, Any], rtype: str, fid: str) -> bytes:
        raw = json.dumps(resource, separators=(",", ":"), ensure_ascii=False).encode()
        return self.vault.encrypt_shared(raw, purpose=PURPOSE, context=f"{rtype}/{fid}")

    def _open(self, blob: bytes, rtype: str, fid: str) -> dict[str, Any]:
        resource: dict[str, Any] = json.loads(self.vault.decrypt(blob, context=f"{rtype}/{fid}"))
        return resource

    def to_stored(self, row: FhirResource) -> Stored:
        return Stored(row.resource_type, row.fid, row.version, row.last_updated, row.deleted,
                      row.patient_fid, self._open(row.content, row.resource_type, row.fid),
                      row.pk)

    # --- reads ------------------------------------------------------------------------------

    def row(self, rtype: str, fid: str) -> FhirResource | None:
        # A lambda statement: built once, not on every read.
        return self.session.scalar(lambda_stmt(lambda: select(FhirResource).where(
            FhirResource.resource_type == rtype, FhirResource.fid == fid)))

    def read(self, rtype: str, fid: str, *, row: FhirResource | None = None) -> Stored:
        row = row or self.row(rtype, fid)
        if row is None:
            raise FhirError(404, f"{rtype}/{fid[:64]} introuvable", f"{rtype}/{fid[:64]} not found",
                            code="not-found")
        if row.deleted:
            raise FhirError(410, f"{rtype}/{fid} a été supprimé", f"{rtype}/{fid} was deleted",
                            code="deleted")
        return self.to_stored(row)

    def rows_by_pk(self, pks: Sequence[int]) -> list[Stored]:
        if not pks:
            return []
        rows = self.session.scalars(select(FhirResource).where(FhirResource.pk.in_(pks))).all()
        by_pk = {r.pk: r for r in rows}
        return [self.to_stored(by_pk[pk]) for pk in pks if pk in by_pk]

    def vread(self, rtype: str, fid: str, version: int) -> Stored:
        v = self.session.scalar(select(FhirVersion).where(
            FhirVersion.resource_type == rtype, FhirVersion.fid == fid,
            FhirVersion.version == version))
        if v is None:
            raise FhirError(404, f"{rtype}/{fid}/_history/{version} introuvable",
                            f"{rtype}/{fid}/_history/{version} not found", code="not-found")
        current = self.row(rtype, fid)
        if v.deleted or v.content is None:
            raise FhirError(410, f"{rtype}/{fid} version {version} : suppression",
                            f"{rtype}/{fid} version {version} is a deletion", code="deleted")
        return Stored(rtype, fid, v.version, v.last_updated, False,
                      current.patient_fid if current else None,
                      self._open(v.content, rtype, fid))

    def history(self, rtype: str | None, fid: str | None, *, since: datetime | None = None,
                limit: int = 50, offset: int = 0,
                patients: Any = None) -> tuple[int, list[tuple[FhirVersion, dict[str, Any] | None]]]:
        q = select(FhirVersion)
        if rtype:
            q = q.where(FhirVersion.resource_type == rtype)
        if fid:
            q = q.where(FhirVersion.fid == fid)
        if since:
            q = q.where(FhirVersion.last_updated >= since)
        if patients is not None:  # access filter: versions of resources in those compartments
            q = q.where(select(FhirResource.pk).where(
                FhirResource.resource_type == FhirVersion.resource_type,
                FhirResource.fid == FhirVersion.fid, patients).exists())
        total = self.session.scalar(select(func.count()).select_from(q.subquery())) or 0
        rows = self.session.scalars(q.order_by(FhirVersion.last_updated.desc(),
                                               FhirVersion.version.desc())
                                    .limit(limit).offset(offset)).all()
        return total, [(v, self._open(v.content, v.resource_type, v.fid) if v.content else None)
                       for v in rows]

    # --- writes -----------------------------------------------------------------------------

    def create(self, resource: dict[str, Any], *, fid: str | None = None,
               validated: bool = False) -> Stored:
        if not validated:
            resource = validation.validate(resource)
        rtype = resource["resourceType"]
        fid = check_id(fid) if fid else str(uuid.uuid4())
        if self.row(rtype, fid) is not None:
            raise FhirError(409, f"{rtype}/{fid} existe déjà", f"{rtype}/{fid} already exists",
                            code="duplicate")
        return self._write(rtype, fid, resource, version=1, method="POST", row=None)

    def update(self, rtype: str, fid: str, resource: dict[str, Any], *,
               if_match: int | None = None) -> tuple[Stored, bool]:
        """Update, or create with the client's id. Returns (stored, created)."""
        check_id(fid)
        resource = validation.validate(resource, expected_type=rtype)
        if resource.get("id") != fid:
            raise FhirError(400, f"l'id du corps ({str(resource.get('id'))[:64]}) doit être "
                            f"celui de l'URL ({fid})", "the body id must match the URL id",
                            code="invalid", expression=f"{rtype}.id")
        row = self.row(rtype, fid)
        if row is None:
            if if_match is not None:
                raise FhirError(412, f"{rtype}/{fid} n'existe pas (If-Match)",
                                f"{rtype}/{fid} does not exist (If-Match)", code="conflict")
            return self._write(rtype, fid, resource, version=1, method="PUT", row=None), True
        self._check_version(row, if_match)
        return self._write(rtype, fid, resource, version=row.version + 1, method="PUT",
                           row=row), False

    def patch(self, rtype: str, fid: str, operations: Any, *,
              if_match: int | None = None) -> Stored:
        current = self.read(rtype, fid)
        row = self.row(rtype, fid)
        assert row is not None
        self._check_version(row, if_match)
        try:
            patched = jsonpatch.apply_patch(current.resource, operations)
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, TypeError) as exc:
            raise FhirError(422, f"JSON Patch inapplicable : {exc}"[:300],
                            f"JSON Patch cannot be applied: {exc}"[:300], code="processing") from None
        if not isinstance(patched, dict) or patched.get("id") != fid or \
                patched.get("resourceType") != rtype:
            raise FhirError(422, "le patch ne peut changer ni resourceType ni id",
                            "a patch cannot change resourceType or id", code="processing")
        patched = validation.validate(patched, expected_type=rtype)
        return self._write(rtype, fid, patched, version=row.version + 1, method="PATCH", row=row)

    def delete(self, rtype: str, fid: str) -> Stored | None:
        """Delete (kept in history). Deleting what is absent or deleted is not an error."""
        row = self.row(rtype, fid)
        if row is None or row.deleted:
            return None
        before = self.to_stored(row)
        now = utcnow()
        row.version += 1
        row.last_updated = now
        row.deleted = True
        self._clear_index(row.pk)
        self.session.add(FhirVersion(resource_type=rtype, fid=fid, version=row.version,
                                     last_updated=now, method="DELETE", deleted=True,
                                     content=None))
        self.session.flush()
        return before

    def _check_version(self, row: FhirResource, if_match: int | None) -> None:
        if if_match is not None and if_match != row.version:
            raise FhirError(412, f"conflit de version : {row.resource_type}/{row.fid} est à la "
                            f"version {row.version}, If-Match demandait {if_match}",
                            f"version conflict: current {row.version}, If-Match {if_match}",
                            code="conflict")

    def _write(self, rtype: str, fid: str, resource: dict[str, Any], *, version: int,
               method: str, row: FhirResource | None) -> Stored:
        now = utcnow()
        meta = dict(resource.get("meta") or {})
        meta.update(versionId=str(version), lastUpdated=fhir_instant(now))
        resource = {**resource, "id": fid, "meta": meta}
        resource = {"resourceType": rtype, **{k: v for k, v in resource.items()
                                              if k != "resourceType"}}
        patient = self._compartment(resource)
        sealed = self._seal(resource, rtype, fid)
        if row is None:
            row = FhirResource(resource_type=rtype, fid=fid, version=version, last_updated=now,
                               deleted=False, patient_fid=patient, content=sealed)
            self.session.add(row)
            self.session.flush()
        else:
            row.version, row.last_updated, row.deleted = version, now, False
            row.patient_fid, row.content = patient, sealed
            self._clear_index(row.pk)
        self.session.add(FhirVersion(resource_type=rtype, fid=fid, version=version,
                                     last_updated=now, method=method, deleted=False,
                                     content=sealed))
        self._index(row.pk, resource)
        self.session.flush()
        return Stored(rtype, fid, version, now, False, patient, resource, row.pk)

    def _compartment(self, resource: dict[str, Any]) -> str | None:
        patient = compartment_patient(resource)
        if patient is None and resource["resourceType"] == "Binary":
            # A Binary belongs where the resource of its security context belongs.
            target = split_reference((resource.get("securityContext") or {}).get("reference", ""))
            if target:
                owner = self.row(*target)
                patient = owner.patient_fid if owner else None
        return patient

    def _resolve(self, rtype: str, fid: str) -> dict[str, Any] | None:
        row = self.row(rtype, fid)
        return None if row is None or row.deleted else self.to_stored(row).resource

    # --- index ------------------------------------------------------------------------------

    def _clear_index(self, pk: int) -> None:
        for table in (FhirTokenIndex, FhirStringIndex, FhirDateIndex, FhirRefIndex):
            self.session.execute(delete(table).where(table.res_pk == pk))
        self.session.execute(delete(ConsentRule).where(ConsentRule.consent_pk == pk))

    def _index(self, pk: int, resource: dict[str, Any]) -> None:
        rtype = resource["resourceType"]
        rows = index_rows(resource)
        s = self.session
        if rows.tokens:
            s.execute(insert(FhirTokenIndex), [
                {"res_pk": pk, "resource_type": rtype, "param": p, "system": sy, "code": c}
                for p, sy, c in rows.tokens])
        if rows.strings:
            s.execute(insert(FhirStringIndex), [
                {"res_pk": pk, "resource_type": rtype, "param": p, "norm": n, "exact": e}
                for p, n, e in rows.strings])
        if rows.dates:
            s.execute(insert(FhirDateIndex), [
                {"res_pk": pk, "resource_type": rtype, "param": p, "low": lo, "high": hi}
                for p, lo, hi in rows.dates])
        if rows.refs:
            s.execute(insert(FhirRefIndex), [
                {"res_pk": pk, "resource_type": rtype, "param": p, "target_type": t,
                 "target_fid": f} for p, t, f in rows.refs])
        if rtype == "Consent":
            from esante.fhir.consent import consent_rules

            rules = consent_rules(resource, self._resolve)
            if rules:
                s.execute(insert(ConsentRule), [{"consent_pk": pk, **r} for r in rules])

    # --- erasure ----------------------------------------------------------------------------

    def expunge_compartment(self, patient_fid: str) -> dict[str, int]:
        """Erases a patient's record for good: every resource of her compartment (the
        Patient included), all their versions, index rows and Consent rules, the holders'
        links and the care relationships. For a closed citizen space whose legal period
        ran out; nothing else deletes versions. Returns the count removed per type."""
        from esante.fhir.models import CareRelationship, PatientLink

        rows = self.session.execute(select(FhirResource.pk, FhirResource.resource_type,
                                           FhirResource.fid).where(
            (FhirResource.patient_fid == patient_fid)
            | ((FhirResource.resource_type == "Patient") & (FhirResource.fid == patient_fid))
        )).all()
        counts: dict[str, int] = {}
        for pk, rtype, fid in rows:
            self._clear_index(pk)
            self.session.execute(delete(FhirVersion).where(
                FhirVersion.resource_type == rtype, FhirVersion.fid == fid))
            self.session.execute(delete(FhirResource).where(FhirResource.pk == pk))
            counts[rtype] = counts.get(rtype, 0) + 1
        self.session.execute(delete(ConsentRule).where(ConsentRule.patient_fid == patient_fid))
        for table in (PatientLink, CareRelationship):
            self.session.execute(delete(table).where(table.patient_fid == patient_fid))
        self.session.flush()
        return counts
