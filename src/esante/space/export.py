"""Everything in a space, for its holder: a FHIR ``collection`` Bundle of her record plus
the original files of her documents, zipped. Downloading it is what allows the closure."""

from __future__ import annotations

import base64
import io
import json
import re
import zipfile
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from esante.core import audit
from esante.core.db import utcnow
from esante.core.policy import Principal
from esante.fhir.models import FhirResource
from esante.fhir.store import Store, fhir_instant
from esante.fhir.values import split_reference
from esante.space.models import Space

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
EXTENSIONS = {"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png"}


def bundle_of(session: Session, space: Space) -> dict[str, Any]:
    store = Store(session)
    rows = session.scalars(select(FhirResource).where(
        ((FhirResource.patient_fid == space.patient_fid)
         | ((FhirResource.resource_type == "Patient") & (FhirResource.fid == space.patient_fid))),
        FhirResource.deleted.is_(False)).order_by(FhirResource.pk)).all()
    entries = [{"fullUrl": f"urn:esante:{r.resource_type}/{r.fid}",
                "resource": store.to_stored(r).resource} for r in rows]
    return {"resourceType": "Bundle", "type": "collection", "timestamp": fhir_instant(utcnow()),
            "entry": entries}


def archive(session: Session, p: Principal, space: Space) -> bytes:
    """The ZIP: ``bundle.json`` and ``documents/`` (each original file)."""
    bundle = bundle_of(session, space)
    binaries = {e["resource"]["id"]: e["resource"] for e in bundle["entry"]
                if e["resource"]["resourceType"] == "Binary"}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("bundle.json", json.dumps(bundle, ensure_ascii=False, indent=1))
        files = 0
        for e in bundle["entry"]:
            doc = e["resource"]
            if doc["resourceType"] != "DocumentReference":
                continue
            for content in doc.get("content", []):
                att = content.get("attachment") or {}
                target = split_reference(att.get("url", ""))
                binary = binaries.get(target[1]) if target else None
                if not binary:
                    continue
                stem = _UNSAFE.sub("_", (att.get("title") or doc["id"]).rsplit(".", 1)[0])[:80]
                ext = EXTENSIONS.get(binary.get("contentType", ""), ".bin")
                z.writestr(f"documents/{doc['id']}-{stem}{ext}",
                           base64.b64decode(binary.get("data", "")))
                files += 1
    space.exported_at = utcnow()
    audit.record(session, actor=p.actor, action="space.export", object_type="space",
                 object_id=space.id, patient_ref=f"Patient/{space.patient_fid}",
                 details={"resources": len(bundle["entry"]), "files": files})
    session.flush()
    return buf.getvalue()
