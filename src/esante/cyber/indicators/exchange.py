"""Exchange formats: STIX 2.1 bundles (``stix2``), MISP JSON (``pymisp``) and CSV out; STIX
and MISP in. Exports take the events the caller already obtained through the visibility
rule; imports create one event per STIX report (or bundle) or MISP event."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from esante.core.errors import Invalid
from esante.cyber.indicators.models import Indicator, IocEvent
from esante.cyber.indicators.schemas import IndicatorIn

# The OASIS TLP 2.0 marking definitions (extension-definition--60a3c5c5...).
TLP2_EXTENSION = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
TLP2_IDS = {
    "clear": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "green": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "amber": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    "amber+strict": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    "red": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}
# TLP 1.0 markings that stix2 ships (files from older producers).
TLP1_IDS = {
    "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": "clear",
    "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": "green",
    "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": "amber",
    "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": "red",
}
STIX_PATTERN = {
    "domain": "domain-name:value", "url": "url:value", "email": "email-addr:value",
    "md5": "file:hashes.MD5", "sha1": "file:hashes.'SHA-1'", "sha256": "file:hashes.'SHA-256'",
}
_COMPARISON = re.compile(
    r"(ipv4-addr|ipv6-addr|domain-name|url|email-addr):value\s*=\s*'((?:[^'\\]|\\.)*)'"
    r"|file:hashes\.'?(MD5|SHA-1|SHA-256|SHA1|SHA256)'?\s*=\s*'([0-9A-Fa-f]+)'")
_STIX_KIND = {"ipv4-addr": "ip", "ipv6-addr": "ip", "domain-name": "domain", "url": "url",
              "email-addr": "email"}
_HASH_KIND = {"MD5": "md5", "SHA-1": "sha1", "SHA1": "sha1", "SHA-256": "sha256",
              "SHA256": "sha256"}
MISP_TYPE = {"ip": "ip-dst", "domain": "domain", "url": "url", "email": "email-src",
             "md5": "md5", "sha1": "sha1", "sha256": "sha256"}
_MISP_KIND = {"ip-dst": "ip", "ip-src": "ip", "domain": "domain", "hostname": "domain",
              "url": "url", "link": "url", "uri": "url", "email": "email", "email-src": "email",
              "email-dst": "email", "md5": "md5", "sha1": "sha1", "sha256": "sha256"}
CSV_FIELDS = ("event_uuid", "event_title", "tlp", "pap", "source", "kind", "value", "comment",
              "warning", "created_at", "expires_at")


def _stamp(dt: datetime | None) -> datetime | None:
    if dt is None:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


# --- STIX 2.1 --------------------------------------------------------------------------------

def tlp_marking(tlp: str) -> Any:
    import stix2

    return stix2.MarkingDefinition(
        id=TLP2_IDS[tlp], created="2022-10-01T00:00:00.000Z",
        name="TLP:" + tlp.upper(),
        extensions={TLP2_EXTENSION: {"extension_type": "property-extension",
                                     "tlp_2_0": tlp}})


def _pattern(ind: Indicator) -> str:
    if ind.kind == "ip":
        path = "ipv6-addr:value" if ":" in ind.value else "ipv4-addr:value"
    else:
        path = STIX_PATTERN[ind.kind]
    escaped = ind.value.replace("\\", "\\\\").replace("'", "\\'")
    return f"[{path} = '{escaped}']"


def to_stix(events: Sequence[tuple[IocEvent, list[Indicator]]]) -> str:
    """A STIX 2.1 bundle: an identity per source, a report per event, an indicator per
    value, every object marked with its event's TLP (2.0 marking definitions)."""
    import stix2

    objects: list[Any] = []
    markings: dict[str, Any] = {}
    identities: dict[str, Any] = {}
    for ev, inds in events:
        mark = markings.setdefault(ev.tlp, tlp_marking(ev.tlp))
        ident = identities.setdefault(ev.source_label, stix2.Identity(
            name=ev.source_label, identity_class="organization"))
        refs = []
        created = _stamp(ev.created_at)
        for ind in inds:
            obj = stix2.Indicator(
                id=f"indicator--{ind.uuid}", name=f"{ind.kind}: {ind.value}"[:250],
                description=ind.comment or None, pattern=_pattern(ind), pattern_type="stix",
                valid_from=_stamp(ind.created_at) or created,
                valid_until=_stamp(ind.expires_at or ev.expires_at),
                indicator_types=["malicious-activity"], created_by_ref=ident.id,
                object_marking_refs=[mark.id], labels=[f"pap:{ev.pap}"])
            objects.append(obj)
            refs.append(obj.id)
        if refs:
            objects.append(stix2.Report(
                id=f"report--{ev.uuid}", name=ev.title, description=ev.description or None,
                published=created, object_refs=refs, created_by_ref=ident.id,
                report_types=["threat-report"], object_marking_refs=[mark.id],
                labels=[f"pap:{ev.pap}"]))
    bundle = stix2.Bundle(*markings.values(), *identities.values(), *objects)
    return str(bundle.serialize(pretty=True))


@dataclass
class ImportedEvent:
    title: str
    description: str = ""
    tlp: str | None = None
    pap: str | None = None
    indicators: list[IndicatorIn] = field(default_factory=list)
    skipped: int = 0


def _tlp_of_refs(refs: Sequence[str], defs: dict[str, Any]) -> str | None:
    for ref in refs or ():
        for tlp, mid in TLP2_IDS.items():
            if ref == mid:
                return tlp
        if ref in TLP1_IDS:
            return TLP1_IDS[ref]
        md = defs.get(ref)
        ext = (md.get("extensions") or {}).get(TLP2_EXTENSION) if md else None
        if ext and ext.get("tlp_2_0"):
            return str(ext["tlp_2_0"]).lower()
        if md is not None and md.get("definition_type") == "tlp":
            return {"white": "clear"}.get(md["definition"]["tlp"], md["definition"]["tlp"])
    return None


def _pap_of(labels: Sequence[str] | None) -> str | None:
    for lab in labels or ():
        if lab.lower().startswith("pap:"):
            return lab.split(":", 1)[1].lower()
    return None


def _indicators_of_pattern(pattern: str, comment: str, expires: datetime | None
                           ) -> list[IndicatorIn]:
    out = []
    for m in _COMPARISON.finditer(pattern):
        if m.group(1):
            kind, value = _STIX_KIND[m.group(1)], m.group(2).replace("\\'", "'")
        else:
            kind, value = _HASH_KIND[m.group(3).upper()], m.group(4)
        out.append(IndicatorIn.model_validate({"kind": kind, "value": value,
                                               "comment": comment[:500],
                                               "expires_at": expires}))
    return out


def from_stix(raw: bytes | str) -> list[ImportedEvent]:
    """Events of a STIX 2.1 bundle (validated by the stix2 parser): one per report, plus
    one for the indicators no report names."""
    import stix2
    from stix2.exceptions import STIXError

    try:
        bundle = stix2.parse(raw, allow_custom=True)
    except (STIXError, ValueError, TypeError) as exc:
        raise Invalid(f"fichier STIX 2.1 invalide : {str(exc)[:300]}", "invalid STIX bundle",
                      code="stix") from None
    objs = list(getattr(bundle, "objects", None) or [])
    if getattr(bundle, "type", "") != "bundle":
        raise Invalid("fichier STIX invalide : un bundle STIX 2.1 est attendu",
                      "a STIX bundle is expected", code="stix")
    defs = {o["id"]: o for o in objs if o["type"] == "marking-definition"}
    by_id = {o["id"]: o for o in objs if o["type"] == "indicator"}
    events: list[ImportedEvent] = []
    claimed: set[str] = set()
    for rep in (o for o in objs if o["type"] in ("report", "grouping")):
        ev = ImportedEvent(title=str(rep.get("name") or "Rapport STIX")[:200],
                           description=str(rep.get("description") or "")[:10_000],
                           tlp=_tlp_of_refs(rep.get("object_marking_refs", []), defs),
                           pap=_pap_of(rep.get("labels")))
        for ref in rep.get("object_refs", []):
            if ref in by_id:
                claimed.add(ref)
                _take_indicator(ev, by_id[ref], defs)
        events.append(ev)
    rest = [o for i, o in by_id.items() if i not in claimed]
    if rest:
        ev = ImportedEvent(title="Indicateurs STIX importés")
        for o in rest:
            _take_indicator(ev, o, defs)
        events.append(ev)
    if not any(e.indicators for e in events):
        raise Invalid("le fichier STIX ne contient aucun indicateur reconnu (IP, domaine, URL, "
                      "adresse, empreinte)", "no usable indicator in the bundle", code="empty")
    return events


def _take_indicator(ev: ImportedEvent, obj: Any, defs: dict[str, Any]) -> None:
    if obj.get("pattern_type", "stix") != "stix":
        ev.skipped += 1
        return
    got = _indicators_of_pattern(obj["pattern"], str(obj.get("description") or ""),
                                 obj.get("valid_until"))
    ev.skipped += 0 if got else 1
    ev.indicators.extend(got)
    ev.tlp = ev.tlp or _tlp_of_refs(obj.get("object_marking_refs", []), defs)
    ev.pap = ev.pap or _pap_of(obj.get("labels"))


# --- MISP ------------------------------------------------------------------------------------

def to_misp(ev: IocEvent, inds: list[Indicator]) -> dict[str, Any]:
    """One event as MISP JSON (``{"Event": {...}}``), tagged ``tlp:...`` and ``PAP:...``."""
    from pymisp import MISPAttribute, MISPEvent

    me = MISPEvent()
    me.uuid = ev.uuid
    me.info = ev.title
    me.date = (ev.created_at or datetime.now(UTC)).date()
    me.distribution = 3 if ev.tlp == "clear" else (1 if ev.tlp == "green" else 0)
    me.threat_level_id = 2
    me.analysis = 2
    me.published = ev.status == "published"
    me.add_tag(f"tlp:{ev.tlp}")
    me.add_tag(f"PAP:{ev.pap.upper()}")
    if ev.description:
        me.add_attribute("comment", ev.description[:65_000], to_ids=False)
    for ind in inds:
        attr = me.add_attribute(MISP_TYPE[ind.kind], ind.value, to_ids=ind.to_ids,
                                comment=ind.comment or "", uuid=ind.uuid)
        if ind.expires_at and isinstance(attr, MISPAttribute):
            attr.last_seen = ind.expires_at.replace(tzinfo=ind.expires_at.tzinfo or UTC)
    out: dict[str, Any] = json.loads(me.to_json())
    return out if "Event" in out else {"Event": out}


def from_misp(raw: bytes | str) -> list[ImportedEvent]:
    """Events of a MISP JSON file: one event, or a list/``response`` of events."""
    from pymisp import MISPEvent

    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Invalid(f"fichier MISP invalide : JSON illisible ({str(exc)[:200]})",
                      "invalid MISP JSON", code="misp") from None
    items = data.get("response", data) if isinstance(data, dict) else data
    items = items if isinstance(items, list) else [items]
    out = []
    for item in items:
        me = MISPEvent()
        try:
            me.load(item)
        except Exception as exc:  # pymisp raises bare exceptions on malformed events
            raise Invalid(f"fichier MISP invalide : {str(exc)[:300]}", "invalid MISP event",
                          code="misp") from None
        ev = ImportedEvent(title=str(me.info or "Événement MISP")[:200])
        for tag in me.tags:
            name = tag.name.lower()
            if name.startswith("tlp:"):
                ev.tlp = name.removeprefix("tlp:")
            elif name.startswith("pap:"):
                ev.pap = name.removeprefix("pap:")
        for attr in me.attributes:
            kind = _MISP_KIND.get(attr.type)
            if attr.type == "comment" and not ev.description:
                ev.description = str(attr.value)[:10_000]
                continue
            if kind is None and "|" in attr.type:  # filename|sha256 and the like
                _left, _, right = attr.type.partition("|")
                kind = _MISP_KIND.get(right)
                value = str(attr.value).split("|")[-1] if kind else ""
            else:
                value = str(attr.value)
            if kind is None:
                ev.skipped += 1
                continue
            ev.indicators.append(IndicatorIn.model_validate(
                {"kind": kind, "value": value, "comment": str(attr.get("comment") or "")[:500]}))
        out.append(ev)
    if not any(e.indicators for e in out):
        raise Invalid("le fichier MISP ne contient aucun attribut reconnu (ip-dst, domain, url, "
                      "email, md5, sha1, sha256)", "no usable attribute", code="empty")
    return out


# --- CSV -------------------------------------------------------------------------------------

def to_csv(events: Sequence[tuple[IocEvent, list[Indicator]]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(CSV_FIELDS)
    for ev, inds in events:
        for ind in inds:
            exp = ind.expires_at or ev.expires_at
            w.writerow([ev.uuid, ev.title, "TLP:" + ev.tlp.upper(), "PAP:" + ev.pap.upper(),
                        ev.source_label, ind.kind, ind.value, ind.comment, ind.warning or "",
                        ev.created_at.isoformat(), exp.isoformat() if exp else ""])
    return buf.getvalue()


def load_pairs(session: Session, events: Sequence[IocEvent]) -> list[tuple[IocEvent,
                                                                          list[Indicator]]]:
    from esante.cyber.indicators.service import indicators_of

    return [(ev, indicators_of(session, ev)) for ev in events]
