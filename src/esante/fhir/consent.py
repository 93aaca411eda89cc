"""What a citizen's Consent resources forbid, as rows the access policy can query:
a professional blocked (by RPPS) and resources hidden from professionals.

Only ``active`` Consents with ``deny`` provisions make rules. An actor is named by a
``Practitioner/id`` reference or by an RPPS identifier; data by reference. A hidden
DocumentReference hides the Binary files it points to.

A citizen account (``ACCOUNT_SYSTEM``: a former guardian, once the minor came of age) is
named ``a:<account id>``: a ``permit`` provision for it makes a ``permit-account`` rule
(read access), a ``deny`` with data hides those resources from that person."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from esante.fhir.frcore import RPPS_SYSTEM
from esante.fhir.values import split_reference

Resolver = Callable[[str, str], dict[str, Any] | None]
ACCOUNT_SYSTEM = "https://esante.fr/fhir/sid/compte-citoyen"


def _provisions(provision: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield provision
    for nested in provision.get("provision", []):
        yield from _provisions(nested)


def practitioner_rpps(practitioner: dict[str, Any] | None) -> str:
    for ident in (practitioner or {}).get("identifier", []):
        if ident.get("system") == RPPS_SYSTEM and ident.get("value"):
            value = str(ident["value"])
            return value[1:] if len(value) == 12 and value.startswith("8") else value
    return ""


def _actor_rpps(ref: dict[str, Any], resolve: Resolver) -> str:
    ident = ref.get("identifier") or {}
    if ident.get("system") == ACCOUNT_SYSTEM and str(ident.get("value", "")).isdigit():
        return f"a:{ident['value']}"
    if ident.get("system") == RPPS_SYSTEM:
        return practitioner_rpps({"identifier": [ident]})
    target = split_reference(ref.get("reference", ""))
    if target and target[0] == "Practitioner":
        return practitioner_rpps(resolve(*target))
    if target and target[0] == "PractitionerRole":
        role = resolve(*target) or {}
        inner = split_reference((role.get("practitioner") or {}).get("reference", ""))
        return practitioner_rpps(resolve(*inner)) if inner else ""
    return ""


def consent_rules(consent: dict[str, Any], resolve: Resolver) -> list[dict[str, str]]:
    if consent.get("status") != "active":
        return []
    patient = split_reference((consent.get("patient") or {}).get("reference", ""))
    if not patient or patient[0] != "Patient":
        return []
    rules: list[dict[str, str]] = []
    for prov in _provisions(consent.get("provision") or {}):
        actors = [_actor_rpps(a.get("reference") or {}, resolve) for a in prov.get("actor", [])]
        actors = [a for a in actors if a]
        if prov.get("type") == "permit" and not prov.get("data"):
            rules.extend({"patient_fid": patient[1], "kind": "permit-account", "actor_rpps": a}
                         for a in actors if a.startswith("a:"))
        if prov.get("type") != "deny":
            continue
        targets = []
        authors: list[tuple[str, list[tuple[str, str]]]] = []  # (RPPS, what they wrote)
        for item in prov.get("data", []):
            target = split_reference((item.get("reference") or {}).get("reference", ""))
            if target:
                targets.append(target)
                if target[0] == "DocumentReference":
                    doc = resolve(*target)
                    written = [target, *_binaries(doc)]
                    targets.extend(written[1:])
                    authors.extend((rpps, written) for rpps in _author_rpps(doc, resolve))
        base = {"patient_fid": patient[1]}
        if targets:
            for actor in actors or [""]:
                rules.extend({**base, "kind": "hide-resource", "actor_rpps": actor,
                              "target_type": t, "target_fid": f} for t, f in targets)
            if not actors:  # hidden from every professional: its author still sees it
                rules.extend({**base, "kind": "author-sees", "actor_rpps": rpps,
                              "target_type": t, "target_fid": f}
                             for rpps, written in authors for t, f in written)
        else:
            rules.extend({**base, "kind": "block-actor", "actor_rpps": a} for a in actors)
    return rules


def _author_rpps(doc: dict[str, Any] | None, resolve: Resolver) -> list[str]:
    """The RPPS of the practitioners a document names as its authors."""
    found = [_actor_rpps(a, resolve) for a in (doc or {}).get("author", [])]
    return sorted({r for r in found if r})


def _binaries(doc: dict[str, Any] | None) -> list[tuple[str, str]]:
    out = []
    for content in (doc or {}).get("content", []):
        target = split_reference((content.get("attachment") or {}).get("url", ""))
        if target and target[0] == "Binary":
            out.append(target)
    return out
