"""FHIR interactions as the platform performs them: the access policy first, then the
store, then the audit trail (every read, search hit and write of personal data). Used by
the REST routes and by batch/transaction Bundles alike; knows nothing of HTTP."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.orm import Session

from esante.core import audit
from esante.core.policy import Principal, authorize
from esante.fhir import search as fsearch
from esante.fhir.access import BREAK_GLASS_HOURS, Access
from esante.fhir.outcome import FhirError, Issue, operation_outcome
from esante.fhir.searchparams import DIRECTORY_TYPES
from esante.fhir.store import Store, Stored, fhir_instant
from esante.fhir.validation import check_type, validate


@dataclass
class Answer:
    """What an interaction answers: status, resource (or None), extra headers."""

    status: int
    resource: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    stored: Stored | None = None


def _headers(stored: Stored, base: str) -> dict[str, str]:
    return {
        "ETag": stored.etag,
        "Last-Modified": stored.last_updated.strftime("%a, %d %b %Y %H:%M:%S GMT"),
        "Location": f"{base}/{stored.resource_type}/{stored.fid}/_history/{stored.version}",
    }


class Fhir:
    def __init__(self, session: Session, principal: Principal, *, base: str) -> None:
        self.session = session
        self.p = principal
        self.base = base.rstrip("/")
        self.store = Store(session)
        self.access = Access(session, principal)

    # --- audit ------------------------------------------------------------------------------

    def _audit(self, action: str, stored: Stored | None, *, rtype: str = "", fid: str = "",
               patient: str | None = None, details: dict[str, Any] | None = None,
               justification: str = "") -> None:
        rtype = stored.resource_type if stored else rtype
        if rtype in DIRECTORY_TYPES and action in ("fhir.read", "fhir.search"):
            return  # the public directory: not personal health data
        patient = stored.patient_fid if stored else patient
        audit.append(self.session, actor=self.p.actor, action=action, object_type=rtype,
                     object_id=f"{rtype}/{stored.fid if stored else fid}",
                     patient_ref=f"Patient/{patient}" if patient else None,
                     justification=justification, details=details)

    # --- instance interactions -------------------------------------------------------------

    def read(self, rtype: str, fid: str) -> Answer:
        check_type(rtype)
        row = self.access.row_for_read(rtype, fid)
        stored = self.store.read(rtype, fid, row=row)
        self._audit("fhir.read", stored)
        return Answer(200, stored.resource, _headers(stored, self.base), stored)

    def vread(self, rtype: str, fid: str, version: int) -> Answer:
        check_type(rtype)
        row = self.store.row(rtype, fid)
        if row is not None:
            self.access.authorize_read(rtype, row.patient_fid, fid)
        stored = self.store.vread(rtype, fid, version)
        self._audit("fhir.vread", stored, details={"version": version})
        return Answer(200, stored.resource, _headers(stored, self.base), stored)

    def create(self, data: Any, *, rtype: str | None = None, if_none_exist: str | None = None,
               fid: str | None = None) -> Answer:
        resource = validate(data, expected_type=rtype)
        rtype = resource["resourceType"]
        if if_none_exist:
            found = self._conditional(rtype, if_none_exist)
            if len(found) > 1:
                raise FhirError(412, f"création conditionnelle : {len(found)} ressources "
                                "correspondent", f"conditional create: {len(found)} matches",
                                code="duplicate")
            if found:
                stored = found[0]
                return Answer(200, stored.resource, _headers(stored, self.base), stored)
        patient = self.store._compartment({**resource, "id": "(new)"})
        if rtype == "Patient":
            patient = None  # a new record
        self.access.authorize_write(rtype, patient, None, op="c")
        stored = self.store.create(resource, fid=fid, validated=True)
        if rtype == "Patient" and self.access.professional:
            self.access.declare_care(stored.fid, "création du dossier")
        self._audit("fhir.create", stored)
        return Answer(201, stored.resource, _headers(stored, self.base), stored)

    def update(self, rtype: str, fid: str, data: Any, *, if_match: int | None = None) -> Answer:
        check_type(rtype, writable=True)
        row = self.store.row(rtype, fid)
        resource = validate(data, expected_type=rtype)
        new_patient = self.store._compartment({**resource, "id": fid})
        if row is not None and not row.deleted:
            self.access.authorize_write(rtype, row.patient_fid, fid)
            if new_patient != row.patient_fid and rtype != "Patient":
                # Moving a resource to another patient needs the right on both.
                self.access.authorize_write(rtype, new_patient, None)
        else:
            self.access.authorize_write(rtype, None if rtype == "Patient" else new_patient, None,
                                        op="c")
        stored, created = self.store.update(rtype, fid, resource, if_match=if_match)
        if created and rtype == "Patient" and self.access.professional:
            self.access.declare_care(stored.fid, "création du dossier")
        self._audit("fhir.create" if created else "fhir.update", stored)
        return Answer(201 if created else 200, stored.resource, _headers(stored, self.base),
                      stored)

    def patch(self, rtype: str, fid: str, operations: Any, *, if_match: int | None = None) -> Answer:
        check_type(rtype, writable=True)
        row = self.store.row(rtype, fid)
        if row is not None:
            self.access.authorize_write(rtype, row.patient_fid, fid)
        stored = self.store.patch(rtype, fid, operations, if_match=if_match)
        if row is not None and stored.patient_fid != row.patient_fid and rtype != "Patient":
            self.access.authorize_write(rtype, stored.patient_fid, None)
        self._audit("fhir.patch", stored)
        return Answer(200, stored.resource, _headers(stored, self.base), stored)

    def delete(self, rtype: str, fid: str) -> Answer:
        check_type(rtype, writable=True)
        row = self.store.row(rtype, fid)
        if row is not None and not row.deleted:
            self.access.authorize_write(rtype, row.patient_fid, fid, op="d")
        before = self.store.delete(rtype, fid)
        if before is not None:
            self._audit("fhir.delete", before)
        return Answer(204)

    # --- search and history ---------------------------------------------------------------

    def _conditional(self, rtype: str, query: str) -> list[Stored]:
        from urllib.parse import parse_qsl

        items = parse_qsl(query.lstrip("?"), keep_blank_values=True)
        q = fsearch.Parser(rtype, strict=True, access=self.access.search_filter).parse(items)
        q.count = 2
        result = fsearch.run(self.session, q, self.access.search_filter())
        return self.store.rows_by_pk(result.pks)

    def search(self, rtype: str, items: Sequence[tuple[str, str]], *, strict: bool = False) -> Answer:
        check_type(rtype)
        self.access.authorize_scope(rtype, "s")
        if rtype == "AuditEvent":
            from esante.fhir.auditevents import search_audit_events

            return Answer(200, search_audit_events(self, items, strict=strict))
        authorize(self.p, "fhir.directory.read")  # any signed-in user; token needs read
        q = fsearch.Parser(rtype, strict=strict, access=self.access.search_filter).parse(items)
        result = fsearch.run(self.session, q, self.access.search_filter())
        matches = [self.store.to_stored(row) for row in result.rows]
        included = self.store.rows_by_pk(result.include_pks)
        self._audit_hits(rtype, matches + included, [k for k, _ in items])
        return Answer(200, self.searchset(rtype, result, matches, included))

    def _audit_hits(self, rtype: str, hits: list[Stored], params: list[str]) -> None:
        by_patient: dict[str, list[str]] = {}
        for s in hits:
            if s.patient_fid and s.resource_type not in DIRECTORY_TYPES:
                by_patient.setdefault(s.patient_fid, []).append(f"{s.resource_type}/{s.fid}")
        for patient, refs in by_patient.items():
            self._audit("fhir.search", None, rtype=rtype, fid="?", patient=patient,
                        details={"params": sorted(set(params))[:20], "hits": refs[:50]})

    def searchset(self, rtype: str, result: fsearch.Result, matches: list[Stored],
                  included: list[Stored]) -> dict[str, Any]:
        q = result.query
        bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset",
                                  "total": result.total}

        def link(offset: int) -> str:
            params = [*q.kept, ("_count", str(q.count)), ("_offset", str(offset))]
            return f"{self.base}/{rtype}?{urlencode(params)}"

        links = [{"relation": "self", "url": link(q.offset)}]
        if not q.summary_count:
            if q.offset + q.count < result.total:
                links.append({"relation": "next", "url": link(q.offset + q.count)})
            if q.offset > 0:
                links.append({"relation": "previous", "url": link(max(0, q.offset - q.count))})
        bundle["link"] = links
        entries = []
        for s in matches:
            body = fsearch.elements_only(s.resource, q.elements) if q.elements else s.resource
            entries.append({"fullUrl": f"{self.base}/{s.resource_type}/{s.fid}",
                            "resource": body, "search": {"mode": "match"}})
        for s in included:
            entries.append({"fullUrl": f"{self.base}/{s.resource_type}/{s.fid}",
                            "resource": s.resource, "search": {"mode": "include"}})
        if q.ignored:
            entries.append({"resource": operation_outcome(q.ignored),
                            "search": {"mode": "outcome"}})
        if entries:
            bundle["entry"] = entries
        return bundle

    def history(self, rtype: str | None, fid: str | None, *, count: int = 50,
                offset: int = 0) -> Answer:
        if rtype:
            check_type(rtype)
        if rtype and fid:
            row = self.store.row(rtype, fid)
            if row is None:
                raise FhirError(404, f"{rtype}/{fid} introuvable", f"{rtype}/{fid} not found",
                                code="not-found")
            self.access.authorize_read(rtype, row.patient_fid, fid)
            patients = None
        else:
            patients = self.access.search_filter()
        if count > fsearch.MAX_COUNT:
            raise FhirError(400, f"_count trop grand : {count} (maximum {fsearch.MAX_COUNT})",
                            f"_count too large: {count}", code="too-costly")
        total, versions = self.store.history(rtype, fid, limit=count, offset=offset,
                                             patients=patients)
        entries = []
        for v, body in versions:
            entry: dict[str, Any] = {
                "fullUrl": f"{self.base}/{v.resource_type}/{v.fid}",
                "request": {"method": "DELETE" if v.deleted else v.method,
                            "url": f"{v.resource_type}/{v.fid}"},
                "response": {"status": "204" if v.deleted else "200",
                             "etag": f'W/"{v.version}"',
                             "lastModified": fhir_instant(v.last_updated)},
            }
            if body is not None:
                entry["resource"] = body
            entries.append(entry)
        self._audit("fhir.history", None, rtype=rtype or "*", fid=fid or "*",
                    patient=self.store.row(rtype, fid).patient_fid if rtype and fid else None)  # type: ignore[union-attr]
        bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "history", "total": total}
        if entries:
            bundle["entry"] = entries
        return Answer(200, bundle)

    # --- break-glass ---------------------------------------------------------------------

    def break_glass(self, patient_fid: str, reason: str) -> Answer:
        row = self.store.row("Patient", patient_fid)
        if row is None or row.deleted:
            raise FhirError(404, f"Patient/{patient_fid[:64]} introuvable",
                            f"Patient/{patient_fid[:64]} not found", code="not-found")
        if len(reason.strip()) < 10:
            raise FhirError(422, "un motif d'au moins 10 caractères est exigé pour un accès "
                            "d'urgence", "a reason of 10+ characters is required",
                            code="required")
        authorize(self.p, "fhir.breakglass", self.access.target("Patient", patient_fid))
        self.access.declare_care(patient_fid, f"bris de glace : {reason.strip()}",
                                 hours=BREAK_GLASS_HOURS)
        self._audit("fhir.break-glass", None, rtype="Patient", fid=patient_fid,
                    patient=patient_fid, justification=reason.strip())
        from esante.fhir.notices import notify_holders

        notify_holders(self.session, patient_fid, who=self.p.user.display_name,
                       reason=reason.strip())
        return Answer(200, operation_outcome([Issue(
            f"accès d'urgence accordé pour {BREAK_GLASS_HOURS} h ; le patient en est informé",
            f"emergency access granted for {BREAK_GLASS_HOURS} h; the patient is notified",
            "informational", severity="information")]))

