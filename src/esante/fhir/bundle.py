"""``batch`` and ``transaction`` Bundles. A transaction is all or nothing (one savepoint;
the first failing entry rolls everything back and is named in the answer); a batch runs
each entry on its own. Inside a transaction, ``urn:uuid:`` full URLs of created resources
are replaced by their new ``Type/id`` wherever they are referenced."""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from esante.core.errors import DomainError
from esante.fhir.outcome import FhirError, Issue, from_domain_error, operation_outcome
from esante.fhir.store import check_id, parse_etag

if TYPE_CHECKING:
    from esante.fhir.service import Answer, Fhir

MAX_ENTRIES = 1000
ORDER = {"DELETE": 0, "POST": 1, "PUT": 2, "PATCH": 2, "GET": 3, "HEAD": 3}


def process_bundle(fhir: Fhir, data: Any) -> dict[str, Any]:
    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        raise FhirError(400, "un Bundle est attendu", "a Bundle is expected", code="structure")
    kind = data.get("type")
    if kind not in ("batch", "transaction"):
        raise FhirError(400, f"type de Bundle non traité : {str(kind)[:20]} (batch ou "
                        "transaction)", f"unsupported Bundle type: {str(kind)[:20]}",
                        code="not-supported")
    entries = data.get("entry") or []
    if not isinstance(entries, list) or len(entries) > MAX_ENTRIES:
        raise FhirError(400, f"au plus {MAX_ENTRIES} entrées par Bundle",
                        f"at most {MAX_ENTRIES} entries per Bundle", code="too-costly")
    for i, e in enumerate(entries):
        if not isinstance(e, dict) or not isinstance(e.get("request"), dict) or \
                e["request"].get("method") not in ORDER or not e["request"].get("url"):
            raise FhirError(400, f"entrée {i} : request.method et request.url sont requis",
                            f"entry {i}: request.method and request.url are required",
                            code="required", expression=f"Bundle.entry[{i}].request")
    if kind == "transaction":
        return _transaction(fhir, entries)
    return _batch(fhir, entries)


def _batch(fhir: Fhir, entries: list[dict[str, Any]]) -> dict[str, Any]:
    out = []
    for entry in entries:
        savepoint = fhir.session.begin_nested()
        try:
            answer = _run(fhir, entry)
            savepoint.commit()
            out.append(_response_entry(answer))
        except DomainError as exc:
            savepoint.rollback()
            status, outcome = from_domain_error(exc)
            out.append({"response": {"status": str(status), "outcome": outcome}})
    return {"resourceType": "Bundle", "type": "batch-response", "entry": out}


def _transaction(fhir: Fhir, entries: list[dict[str, Any]]) -> dict[str, Any]:
    # Give created resources their ids first, so references between entries resolve.
    ids: dict[str, str] = {}
    for entry in entries:
        full = entry.get("fullUrl") or ""
        req = entry["request"]
        if req["method"] == "POST" and isinstance(entry.get("resource"), dict) and \
                full.startswith("urn:uuid:"):
            ids[full] = f"{entry['resource'].get('resourceType')}/{uuid.uuid4()}"
    order = sorted(range(len(entries)), key=lambda i: ORDER[entries[i]["request"]["method"]])
    answers: dict[int, Answer] = {}
    savepoint = fhir.session.begin_nested()
    try:
        for i in order:
            entry = _resolve(entries[i], ids)
            answers[i] = _run(fhir, entry, new_id=ids.get(entries[i].get("fullUrl") or ""))
    except DomainError as exc:
        savepoint.rollback()
        status, outcome = from_domain_error(exc)
        issue = outcome["issue"][0]
        issue["diagnostics"] = f"entrée {i} : {issue['diagnostics']} — transaction annulée"
        issue["expression"] = [f"Bundle.entry[{i}]"]
        raise FhirError(status if status >= 400 else 400, issue["diagnostics"],
                        f"entry {i}: {issue['details']['text']} (transaction rolled back)",
                        issues=[Issue(issue["diagnostics"],
                                      f"entry {i}: {issue['details']['text']}",
                                      issue["code"], expression=f"Bundle.entry[{i}]")]) from None
    savepoint.commit()
    return {"resourceType": "Bundle", "type": "transaction-response",
            "entry": [_response_entry(answers[i]) for i in range(len(entries))]}


def _resolve(entry: dict[str, Any], ids: dict[str, str]) -> dict[str, Any]:
    if not ids:
        return entry
    text = json.dumps(entry)
    for urn, ref in ids.items():
        text = text.replace(json.dumps(urn), json.dumps(ref))
    resolved: dict[str, Any] = json.loads(text)
    return resolved


def _run(fhir: Fhir, entry: dict[str, Any], new_id: str | None = None) -> Answer:
    req = entry["request"]
    method = req["method"]
    url = urlsplit(req["url"])
    parts = [p for p in url.path.split("/") if p]
    if parts and parts[0] == "fhir":
        parts = parts[1:]
    if_match = parse_etag(req["ifMatch"]) if req.get("ifMatch") else None
    if method == "POST" and len(parts) == 1:
        fid = new_id.split("/", 1)[1] if new_id else None
        return fhir.create(entry.get("resource"), rtype=parts[0],
                           if_none_exist=req.get("ifNoneExist"), fid=fid)
    if method == "PUT" and len(parts) == 2:
        return fhir.update(parts[0], check_id(parts[1]), entry.get("resource"), if_match=if_match)
    if method == "PATCH" and len(parts) == 2:
        ops = entry.get("resource")
        if isinstance(ops, dict) and ops.get("resourceType") == "Binary":
            import base64

            ops = json.loads(base64.b64decode(ops.get("data", "")))
        return fhir.patch(parts[0], check_id(parts[1]), ops, if_match=if_match)
    if method == "DELETE" and len(parts) == 2:
        return fhir.delete(parts[0], check_id(parts[1]))
    if method in ("GET", "HEAD"):
        if len(parts) == 1:
            return fhir.search(parts[0], parse_qsl(url.query, keep_blank_values=True))
        if len(parts) == 2:
            return fhir.read(parts[0], check_id(parts[1]))
        if len(parts) == 4 and parts[2] == "_history" and parts[3].isdigit():
            return fhir.vread(parts[0], check_id(parts[1]), int(parts[3]))
    raise FhirError(400, f"requête non prise en charge dans un Bundle : {method} {req['url'][:80]}",
                    f"unsupported Bundle request: {method} {req['url'][:80]}",
                    code="not-supported")


def _response_entry(answer: Answer) -> dict[str, Any]:
    response: dict[str, Any] = {"status": str(answer.status)}
    if answer.stored is not None:
        s = answer.stored
        response["location"] = f"{s.resource_type}/{s.fid}/_history/{s.version}"
        response["etag"] = s.etag
        response["lastModified"] = answer.headers.get("Last-Modified", "")
        response["lastModified"] = s.resource.get("meta", {}).get("lastUpdated", "")
    out: dict[str, Any] = {"response": response}
    if answer.resource is not None:
        out["resource"] = answer.resource
    return out


_ = operation_outcome  # re-exported for callers building their own outcomes
