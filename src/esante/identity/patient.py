"""Local identities are FR Core Patients: each one is written to the FHIR store, and
rewritten whenever its traits, status or merge state change.

The resource is what ``formats.to_fhir`` produces from the identity as it may leave the
establishment (``status.outward_ins``: the INS only when qualified), plus the
establishment as ``managingOrganization`` (a logical reference by FINESS), ``active``
false once merged into another record, and a ``replaced-by`` link to the surviving one.
Access to these Patients on ``/fhir`` is decided by ``fhir.access`` (the establishment's
identity desk, or professionals in care); the desk's own routes are audited by
``identity.service``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from esante.core.orgs import service as orgs
from esante.fhir.frcore import FINESS_SYSTEMS
from esante.fhir.store import Store
from esante.identity import formats
from esante.identity.models import LocalIdentity


def _store(session: Session) -> Store:
    """One store per session: its vault loads the key ring once."""
    store = session.info.get("esante.identity.store")
    if store is None:
        store = session.info["esante.identity.store"] = Store(session)
    return store


def resource_of(session: Session, identity: LocalIdentity,
                traits: dict[str, Any]) -> dict[str, Any]:
    """The FR Core Patient of a local identity (without id and meta)."""
    from esante.identity.service import local_oid

    resource = formats.to_fhir(formats.from_local(
        identity, traits, local_oid=local_oid(identity.finess)))
    establishment = orgs.get_establishment(session, identity.finess)
    resource["managingOrganization"] = {
        "identifier": {"system": FINESS_SYSTEMS[0], "value": identity.finess},
        "display": establishment.name}
    resource["active"] = identity.merged_into_id is None
    if identity.merged_into_id is not None:
        survivor = session.get(LocalIdentity, identity.merged_into_id)
        if survivor is not None and survivor.patient_fid:
            resource["link"] = [{"other": {"reference": f"Patient/{survivor.patient_fid}"},
                                 "type": "replaced-by"}]
    return resource


def sync(session: Session, identity: LocalIdentity,
         traits: dict[str, Any] | None = None) -> str:
    """Write (or rewrite) the identity's Patient; returns its FHIR id."""
    from esante.identity.service import decode_traits

    traits = traits if traits is not None else decode_traits(session, identity)
    resource = resource_of(session, identity, traits)
    store = _store(session)
    if identity.patient_fid is None:
        stored = store.create(resource)
        identity.patient_fid = stored.fid
        session.flush()
    else:
        store.update("Patient", identity.patient_fid, {**resource, "id": identity.patient_fid})
    return identity.patient_fid


def finess_of(session: Session, patient_fid: str) -> str | None:
    """The establishment whose local identity this Patient is, or None."""
    return session.scalar(select(LocalIdentity.finess).where(
        LocalIdentity.patient_fid == patient_fid))


def patient_fids_of(finesses: list[str]) -> Select[Any]:
    """The Patients of these establishments' local identities (a subquery for searches)."""
    return select(LocalIdentity.patient_fid).where(LocalIdentity.finess.in_(finesses),
                                                   LocalIdentity.patient_fid.is_not(None))
