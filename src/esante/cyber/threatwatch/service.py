"""Advisories: publication (form or CSAF 2.0), matching against every inventory, alerts,
their follow-up and the national patch progress."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session

from esante.core import audit, policy
from esante.core.accounts.models import Role, ScopeKind
from esante.core.db import utcnow
from esante.core.errors import Conflict, Invalid, NotFound
from esante.core.notifications import service as notifications
from esante.core.orgs.models import Establishment, Region
from esante.core.policy import Principal
from esante.cyber.scopes import ESTABLISHMENT_STAFF, in_cell
from esante.cyber.threatwatch import cpe as cpes
from esante.cyber.threatwatch import csaf, scoring, versions
from esante.cyber.threatwatch.access import Reach
from esante.cyber.threatwatch.matching import InventoryIndex, Range
from esante.cyber.threatwatch.models import (
    Advisory,
    AffectedProduct,
    Alert,
    AlertEvent,
    InstalledProduct,
)
from esante.cyber.threatwatch.schemas import AdvisoryIn

STATUS_LABELS = {"new": "nouvelle", "acknowledged": "prise en compte", "patched": "corrigée",
                 "not_affected": "non concerné", "accepted_risk": "risque accepté"}
RESOLVED = ("patched", "not_affected", "accepted_risk")
NEEDS_NOTE = ("not_affected", "accepted_risk")


# --- publication -----------------------------------------------------------------------------

def publish(session: Session, p: Principal, body: AdvisoryIn) -> Advisory:
    """Publish an advisory typed by the cell, then match it against every inventory."""
    policy.authorize(p, "cyber.tw.advisory.publish")
    ranges: list[tuple[Range, str]] = []
    for n, a in enumerate(body.affected):
        try:
            name = cpes.parse(a.cpe)
        except Invalid as exc:
            raise Invalid(f"produit affecté n° {n + 1} : {exc.fr}", exc.en, code="cpe") from None
        bounds = {"start_including": a.version_start_including,
                  "start_excluding": a.version_start_excluding,
                  "end_including": a.version_end_including,
                  "end_excluding": a.version_end_excluding}
        if name.has_version and any(bounds.values()):
            raise Invalid(f"produit affecté n° {n + 1} : un nom CPE avec une version "
                          f"({name.plain_version}) ne prend pas de bornes ; mettez « * » comme "
                          "version", "a versioned CPE takes no range", code="range")
        if (bounds["start_including"] and bounds["start_excluding"]) or \
                (bounds["end_including"] and bounds["end_excluding"]):
            raise Invalid(f"produit affecté n° {n + 1} : une seule borne basse et une seule "
                          "borne haute", "one lower and one upper bound at most", code="range")
        ranges.append((Range(name.part, name.vendor, name.product,
                             name.plain_version if name.has_version else "*", **bounds),
                       name.uri()))
    _check_ranges(ranges)
    reference = body.reference or _next_reference(session)
    return _save(session, p, reference=reference, revision="1", title=body.title,
                 summary=body.summary, cve_ids=list(dict.fromkeys(body.cve_ids)),
                 vector=body.cvss_vector, recommendations=body.recommendations,
                 references=[str(u) for u in body.references], tlp=body.tlp, source="form",
                 ranges=ranges)


def import_csaf(session: Session, p: Principal | None, document: Any, *,
                tlp: str | None = None) -> tuple[Advisory, list[str]]:
    """Import a CSAF 2.0 advisory; its TLP unless ``tlp`` is given, AMBER when it has none.
    Returns the advisory and the affected products that had no CPE name (not matchable).
    ``p`` None: the platform's operator (the ``esante cyber advisories import`` command)."""
    if p is not None:
        policy.authorize(p, "cyber.tw.advisory.publish")
    draft = csaf.parse(document)
    _check_ranges(draft.affected)
    advisory = _save(session, p, reference=draft.reference, revision=draft.version,
                     title=draft.title, summary=draft.summary, cve_ids=draft.cve_ids,
                     vector=draft.cvss_vector, recommendations=draft.recommendations,
                     references=draft.references, tlp=tlp or draft.tlp or "AMBER",
                     source="csaf", ranges=draft.affected)
    return advisory, draft.skipped


def _check_ranges(ranges: list[tuple[Range, str]]) -> None:
    for r, name in ranges:
        for bound in r.bounds():
            if len(bound) > 200 or not bound.strip():
                raise Invalid(f"borne de version invalide pour {name}", "invalid version bound",
                              code="range")
        low = r.start_including or r.start_excluding
        high = r.end_including or r.end_excluding
        if low and high:
            order = versions.compare(low, high)
            if order > 0 or (order == 0 and not (r.start_including and r.end_including)):
                raise Invalid(f"intervalle de versions vide pour {name} : de {low} à {high}",
                              "empty version range", code="range")


def _next_reference(session: Session) -> str:
    year = datetime.now(UTC).year
    prefix = f"CERT-SANTE-{year}-"
    count = session.scalar(select(func.count()).select_from(Advisory).where(
        Advisory.reference.like(prefix + "%"))) or 0
    return f"{prefix}{count + 1:04d}"


def _save(session: Session, p: Principal | None, *, reference: str, revision: str, title: str,
          summary: str, cve_ids: list[str], vector: str | None, recommendations: str,
          references: list[str], tlp: str, source: str,
          ranges: list[tuple[Range, str]]) -> Advisory:
    if tlp not in ("CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"):
        raise Invalid(f"TLP « {tlp} » inconnu (CLEAR, GREEN, AMBER, AMBER+STRICT, RED)",
                      "unknown TLP", code="tlp")
    scored = scoring.score(vector) if vector else None
    if session.scalar(select(Advisory.id).where(Advisory.reference == reference)):
        raise Conflict(f"un avis de référence « {reference} » existe déjà",
                       "an advisory with this reference exists", code="reference")
    advisory = Advisory(
        reference=reference, revision=revision, title=title, summary=summary, cve_ids=cve_ids,
        cvss_vector=scored.vector if scored else None,
        cvss_score=scored.base if scored else None,
        severity=scored.severity if scored else None, recommendations=recommendations,
        references=references, tlp=tlp, source=source, status="open",
        published_by=p.user.id if p else None)
    session.add(advisory)
    session.flush()
    session.add_all(AffectedProduct(
        advisory_id=advisory.id, cpe=name, part=r.part, vendor=r.vendor, product=r.product,
        version=r.version, start_including=r.start_including,
        start_excluding=r.start_excluding, end_including=r.end_including,
        end_excluding=r.end_excluding) for r, name in ranges)
    session.flush()
    alerts = match_advisory(session, advisory)
    actor = p.actor if p else audit.Actor.system("esante cyber advisories import")
    audit.record(session, actor=actor, action="cyber.tw.advisory.publish",
                 object_type="advisory", object_id=advisory.id,
                 details={"reference": reference, "source": source, "alerts": len(alerts)})
    return advisory


# --- matching --------------------------------------------------------------------------------

def ranges_of(session: Session, advisory_ids: Iterable[int]) -> dict[int, list[Range]]:
    out: dict[int, list[Range]] = defaultdict(list)
    ids = list(advisory_ids)
    if not ids:
        return out
    for a in session.scalars(select(AffectedProduct).where(AffectedProduct.advisory_id.in_(ids))):
        out[a.advisory_id].append(Range(a.part, a.vendor, a.product, a.version,
                                        a.start_including, a.start_excluding,
                                        a.end_including, a.end_excluding))
    return out


def match_advisory(session: Session, advisory: Advisory) -> list[Alert]:
    """Alert every establishment whose inventory holds an affected product (once)."""
    ranges = ranges_of(session, [advisory.id])[advisory.id]
    keys = sorted({r.key for r in ranges})
    hits: dict[int, list[dict[str, str]]] = defaultdict(list)
    for chunk in (keys[i:i + 200] for i in range(0, len(keys), 200)):
        rows = session.execute(select(
            InstalledProduct.part, InstalledProduct.vendor, InstalledProduct.product,
            InstalledProduct.version, InstalledProduct.establishment_id, InstalledProduct.cpe,
        ).where(or_(*(and_(InstalledProduct.part == a, InstalledProduct.vendor == b,
                           InstalledProduct.product == c) for a, b, c in chunk))))
        index = InventoryIndex((r[0], r[1], r[2], r[3], (r[4], r[5])) for r in rows)
        for (est_id, name), version in index.match(ranges):
            if not any(m["cpe"] == name for m in hits[est_id]):
                hits[est_id].append({"cpe": name, "version": version})
    return _alert(session, advisory, hits)


def rematch_establishment(session: Session, est: Establishment) -> list[Alert]:
    """After an inventory change: alerts for the open advisories it now matches."""
    rows = session.execute(select(
        InstalledProduct.part, InstalledProduct.vendor, InstalledProduct.product,
        InstalledProduct.version, InstalledProduct.cpe,
    ).where(InstalledProduct.establishment_id == est.id)).all()
    if not rows:
        return []
    index = InventoryIndex((r[0], r[1], r[2], r[3], r[4]) for r in rows)
    products = sorted({r[2] for r in rows})
    keys = {(r[0], r[1], r[2]) for r in rows}
    already = set(session.scalars(select(Alert.advisory_id).where(
        Alert.establishment_id == est.id)))
    candidates: set[int] = set()
    for chunk in (products[i:i + 500] for i in range(0, len(products), 500)):
        for adv_id, part, vendor, product in session.execute(select(
                AffectedProduct.advisory_id, AffectedProduct.part, AffectedProduct.vendor,
                AffectedProduct.product).join(Advisory).where(
                Advisory.status == "open", AffectedProduct.product.in_(chunk))):
            if (part, vendor, product) in keys and adv_id not in already:
                candidates.add(adv_id)
    out: list[Alert] = []
    for adv_id, ranges in ranges_of(session, sorted(candidates)).items():
        matched = [{"cpe": name, "version": version} for name, version in index.match(ranges)]
        if matched:
            advisory = session.get(Advisory, adv_id)
            assert advisory is not None
            out += _alert(session, advisory, {est.id: unique_matches(matched)})
    return out


def unique_matches(matched: list[dict[str, str]]) -> list[dict[str, str]]:
    return list({m["cpe"]: m for m in matched}.values())


def _alert(session: Session, advisory: Advisory,
           hits: dict[int, list[dict[str, str]]]) -> list[Alert]:
    if not hits:
        return []
    existing = set(session.scalars(select(Alert.establishment_id).where(
        Alert.advisory_id == advisory.id)))
    new_ids = [i for i in hits if i not in existing]
    ests = {e.id: e for e in session.scalars(select(Establishment).where(
        Establishment.id.in_(new_ids)))} if new_ids else {}
    now = utcnow()
    alerts = [Alert(advisory_id=advisory.id, establishment_id=i, finess=ests[i].finess,
                    region_code=ests[i].region_code, status="new", matched=hits[i][:200],
                    created_at=now, updated_at=now) for i in new_ids]
    session.add_all(alerts)
    session.flush()
    severity = scoring.SEVERITY_LABELS.get(advisory.severity or "", "non cotée")
    for alert in alerts:
        products = ", ".join(m["cpe"].split(":")[4] + " " + m["version"] for m in alert.matched[:5])
        for role in ESTABLISHMENT_STAFF:
            notifications.notify_role(
                session, role=role, scope_kind=ScopeKind.ESTABLISHMENT, scope_ref=alert.finess,
                title=f"Avis de sécurité {advisory.reference} : {advisory.title}"[:200],
                body=f"Gravité {severity} ({advisory.cvss_score or '—'}). Produits de votre "
                     f"inventaire concernés : {products}. TLP:{advisory.tlp}.",
                link=f"/cyber/veille/avis/{advisory.id}", level="warning")
    return alerts


# --- reading ---------------------------------------------------------------------------------

def _my_finesses(p: Principal) -> list[str]:
    return sorted({g.scope_ref for g in p.grants_for(*ESTABLISHMENT_STAFF)
                   if g.scope_kind == ScopeKind.ESTABLISHMENT})


def _my_regions(p: Principal) -> list[str]:
    return sorted({g.scope_ref for g in p.grants_for(Role.REGIONAL_OFFICER)
                   if g.scope_kind == ScopeKind.REGION})


def visible(p: Principal) -> Any:
    """The SQL condition on advisories that the TLP rule of ``access`` lets ``p`` read."""
    if in_cell(p):
        return Advisory.id.is_not(None)
    mine = select(Alert.advisory_id).where(Alert.finess.in_(_my_finesses(p) or [""]))
    regional = select(Alert.advisory_id).where(Alert.region_code.in_(_my_regions(p) or [""]))
    return or_(Advisory.tlp.in_(("CLEAR", "GREEN")), Advisory.id.in_(mine),
               and_(Advisory.tlp == "AMBER", Advisory.id.in_(regional)))


def reach(session: Session, advisory: Advisory) -> Reach:
    rows = session.execute(select(Alert.finess, Alert.region_code).where(
        Alert.advisory_id == advisory.id)).all()
    return Reach(advisory, frozenset(r[0] for r in rows), frozenset(r[1] for r in rows))


def list_advisories(session: Session, p: Principal, *, status: str | None = None,
                    limit: int = 50, offset: int = 0) -> tuple[int, list[Advisory]]:
    policy.authorize(p, "cyber.tw.watch")
    stmt: Select[Any] = select(Advisory).where(visible(p))
    if status:
        stmt = stmt.where(Advisory.status == status)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = list(session.scalars(stmt.order_by(Advisory.published_at.desc(), Advisory.id.desc())
                                .limit(limit).offset(offset)))
    return total, rows


def get_advisory(session: Session, p: Principal, advisory_id: int) -> Advisory:
    """An advisory the viewer may read; one they may not read does not exist for them."""
    policy.authorize(p, "cyber.tw.watch")
    advisory = session.get(Advisory, advisory_id)
    if advisory is None or not policy.can(p, "cyber.tw.advisory.read", reach(session, advisory)):
        raise NotFound("avis de sécurité introuvable", "advisory not found")
    return advisory


def affected_of(session: Session, advisory: Advisory) -> list[AffectedProduct]:
    return list(session.scalars(select(AffectedProduct).where(
        AffectedProduct.advisory_id == advisory.id).order_by(AffectedProduct.id)))


def alerted_count(session: Session, advisory: Advisory) -> int:
    return session.scalar(select(func.count()).select_from(Alert).where(
        Alert.advisory_id == advisory.id)) or 0


def close_advisory(session: Session, p: Principal, advisory: Advisory) -> Advisory:
    """Close an advisory (the cell): inventory changes no longer match it; its alerts stay."""
    policy.authorize(p, "cyber.tw.advisory.publish")
    if advisory.status != "closed":
        advisory.status = "closed"
        audit.record(session, actor=p.actor, action="cyber.tw.advisory.close",
                     object_type="advisory", object_id=advisory.id)
        session.flush()
    return advisory


# --- alerts ----------------------------------------------------------------------------------

def alerts_visible(p: Principal) -> Any:
    if in_cell(p):
        return Alert.id.is_not(None)
    return or_(Alert.finess.in_(_my_finesses(p) or [""]),
               Alert.region_code.in_(_my_regions(p) or [""]))


def list_alerts(session: Session, p: Principal, *, finess: str | None = None,
                status: str | None = None, advisory_id: int | None = None, limit: int = 50,
                offset: int = 0) -> tuple[int, list[Alert]]:
    policy.authorize(p, "cyber.tw.watch")
    stmt: Select[Any] = select(Alert).where(alerts_visible(p))
    if finess:
        stmt = stmt.where(Alert.finess == finess)
    if status:
        stmt = stmt.where(Alert.status == status)
    if advisory_id:
        stmt = stmt.where(Alert.advisory_id == advisory_id)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = list(session.scalars(stmt.order_by(Alert.created_at.desc(), Alert.id.desc())
                                .limit(limit).offset(offset)))
    return total, rows


def get_alert(session: Session, p: Principal, alert_id: int) -> Alert:
    policy.authorize(p, "cyber.tw.watch")
    alert = session.get(Alert, alert_id)
    if alert is None or not policy.can(p, "cyber.tw.alert.read", alert):
        raise NotFound("alerte introuvable", "alert not found")
    return alert


def update_alert(session: Session, p: Principal, alert: Alert, *, status: str,
                 note: str) -> Alert:
    policy.authorize(p, "cyber.tw.alert.update", alert)
    if status not in STATUS_LABELS or status == "new":
        raise Invalid(f"statut « {status} » impossible (prise en compte, corrigée, non "
                      "concerné ou risque accepté)", "invalid status", code="status")
    note = note.strip()
    if status in NEEDS_NOTE and not note:
        raise Invalid(f"« {STATUS_LABELS[status]} » demande une justification en note",
                      "this status needs a note", code="note")
    now = utcnow()
    alert.status, alert.note, alert.updated_at, alert.updated_by = status, note, now, p.user.id
    session.add(AlertEvent(alert_id=alert.id, at=now, actor_id=p.user.id,
                           actor_label=p.user.email, status=status, note=note))
    audit.record(session, actor=p.actor, action="cyber.tw.alert.update", object_type="alert",
                 object_id=alert.id, details={"status": status})
    session.flush()
    return alert


def alert_events(session: Session, alert: Alert) -> list[AlertEvent]:
    return list(session.scalars(select(AlertEvent).where(AlertEvent.alert_id == alert.id)
                                .order_by(AlertEvent.at, AlertEvent.id)))


# --- national progress -----------------------------------------------------------------------

def progress(session: Session, p: Principal, advisory: Advisory) -> dict[str, Any]:
    policy.authorize(p, "cyber.tw.progress.read")
    rows = session.execute(select(Alert.region_code, Alert.status, func.count()).where(
        Alert.advisory_id == advisory.id).group_by(Alert.region_code, Alert.status)).all()
    names = {r.code: r.name for r in session.scalars(select(Region))}
    by_status = dict.fromkeys(STATUS_LABELS, 0)
    regions: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(STATUS_LABELS, 0))
    for region, status, count in rows:
        by_status[status] += count
        regions[region][status] += count
    return {
        "advisory_id": advisory.id, "alerted": sum(by_status.values()),
        "resolved": sum(by_status[s] for s in RESOLVED),
        "by_status": [{"status": s, "label": STATUS_LABELS[s], "count": c}
                      for s, c in by_status.items()],
        "by_region": [{"region_code": code, "region": names.get(code, code),
                       "total": sum(counts.values()), "counts": counts}
                      for code, counts in sorted(regions.items())],
    }

