"""Who accessed the holder's record — from the platform's audit trail (the one source,
never a copy): who (name, profession, establishment), when, what, why, through which app
(a SMART app's accesses are recorded as ``email (app client_id)``: the app's name is read
from the apps register); filterable, exportable as CSV; break-glass accesses and what
followed them highlighted."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from esante.core.accounts.models import RoleAssignment, User
from esante.core.accounts.service import ROLE_LABELS_FR
from esante.core.audit import AuditEvent
from esante.core.errors import Invalid
from esante.core.orgs.models import Establishment
from esante.core.policy import Principal
from esante.fhir.access import BREAK_GLASS_HOURS
from esante.space.models import Guardianship, Space

ACTION_LABELS = {"fhir.read": "consultation", "fhir.vread": "consultation",
                 "fhir.search": "recherche", "fhir.history": "historique",
                 "fhir.create": "ajout", "fhir.update": "modification", "fhir.patch": "modification",
                 "fhir.delete": "suppression", "fhir.break-glass": "accès d'urgence (bris de glace)",
                 "fhir.export": "export", "fhir.link-holder": "rattachement du titulaire",
                 "space.create": "création de l'espace", "space.activate": "activation",
                 "space.code": "nouveau code d'activation", "space.export": "téléchargement",
                 "space.close": "clôture", "space.object": "opposition",
                 "space.unobject": "retrait de l'opposition",
                 "space.care-declared": "équipe de soins déclarée",
                 "space.code-failed": "code d'activation erroné"}
ACTION_LABELS |= {"space.guardian-access": "ouverture de l'espace par un tuteur",
                  "space.guardian-add": "tuteur enregistré",
                  "space.guardian-removed": "fin de tutelle", "space.guardian-majority":
                  "fin de tutelle (majorité)",
                  "space.former-guardian-grant": "accès accordé à un ancien tuteur",
                  "space.former-guardian-revoke": "accès retiré à un ancien tuteur"}
WHO_FILTERS = {"": "Tous", "pro": "Professionnels", "moi": "Moi"}
_APP = re.compile(r" \(app ([^)]{1,64})\)$")  # esante.apps.tokens.SmartContext.label
PAGE = 200


@dataclass
class Entry:
    at: datetime
    who: str
    profession: str
    establishment: str
    action: str
    what: str
    why: str
    break_glass: bool
    mine: bool
    app: str = ""  # the SMART app's name, when the access came through one


def _day(raw: str, *, end: bool = False) -> datetime | None:
    if not raw:
        return None
    try:
        d = date.fromisoformat(raw)
    except ValueError as exc:
        raise Invalid(f"date invalide : {raw[:20]} (AAAA-MM-JJ)", "invalid date",
                      code="date") from exc
    from datetime import UTC

    return datetime.combine(d, time.max if end else time.min, tzinfo=UTC)


def app_names(session: Session, client_ids: set[str]) -> dict[str, str]:
    from esante.apps.models import App

    if not client_ids:
        return {}
    return dict(session.execute(select(App.client_id, App.name).where(
        App.client_id.in_(client_ids))).all())


def apps_seen(session: Session, space: Space) -> dict[str, str]:
    """The apps through which the record was reached (client_id: name), for the filter."""
    labels = session.scalars(select(AuditEvent.actor_label).distinct().where(
        AuditEvent.patient_ref == f"Patient/{space.patient_fid}",
        AuditEvent.actor_label.like("% (app %)"))).all()
    ids = {m.group(1) for m in map(_APP.search, labels) if m}
    names = app_names(session, ids)
    return {i: names.get(i, i) for i in sorted(ids)}


def entries(session: Session, p: Principal, space: Space, *, since: str = "", until: str = "",
            who: str = "", break_glass_only: bool = False, app: str = "", limit: int = PAGE,
            offset: int = 0) -> tuple[int, list[Entry]]:
    """Accesses to the record, newest first; ``app`` keeps those made through that SMART
    app (its client_id), ``app="-"`` those made without any app."""
    if who not in WHO_FILTERS:
        raise Invalid(f"filtre inconnu : {who[:20]}", "unknown filter", code="who")
    # The columns shown, not the whole events (their JSON details are not shown).
    q = select(AuditEvent.id, AuditEvent.at, AuditEvent.actor_id, AuditEvent.actor_label,
               AuditEvent.action, AuditEvent.object_id, AuditEvent.justification).where(
        AuditEvent.patient_ref == f"Patient/{space.patient_fid}")
    if app == "-":
        q = q.where(AuditEvent.actor_label.not_like("% (app %)"))
    elif app:
        if not re.fullmatch(r"[A-Za-z0-9._~-]{1,64}", app):
            raise Invalid(f"application inconnue : {app[:20]}", "unknown app", code="app")
        safe = app.replace("_", "\\_")
        q = q.where(AuditEvent.actor_label.like(f"% (app {safe})", escape="\\"))
    lo, hi = _day(since), _day(until, end=True)
    if lo:
        q = q.where(AuditEvent.at >= lo)
    if hi:
        q = q.where(AuditEvent.at <= hi)
    if who == "moi":
        q = q.where(AuditEvent.actor_id == p.user.id)
    elif who == "pro":
        q = q.where(AuditEvent.actor_id.is_not(None), AuditEvent.actor_id != p.user.id)
    glass = _break_glass_windows(session, space)
    if break_glass_only:
        if not glass:
            return 0, []
        q = q.where(or_(*(and_(AuditEvent.actor_id == uid, AuditEvent.at >= start,
                               AuditEvent.at <= start + timedelta(hours=BREAK_GLASS_HOURS))
                          for uid, start in glass)))
    total = session.scalar(select(func.count()).select_from(q.subquery())) or 0
    rows = session.execute(q.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
                           .limit(limit).offset(offset)).all()
    people = _people(session, {r.actor_id for r in rows if r.actor_id})
    tutors = set(session.scalars(select(Guardianship.user_id).where(
        Guardianship.space_id == space.id)))
    via = {r.id: m.group(1) for r in rows if (m := _APP.search(r.actor_label or ""))}
    names = app_names(session, set(via.values()))
    windows: dict[int, list[tuple[datetime, datetime]]] = {}
    for uid, start in glass:
        windows.setdefault(uid, []).append((start, start + timedelta(hours=BREAK_GLASS_HOURS)))
    out = []
    for r in rows:
        name, profession, where = people.get(r.actor_id or 0, (r.actor_label, "", ""))
        if r.actor_id in tutors:
            profession = "parent ou tuteur légal"
        in_glass = r.actor_id in windows and any(
            start <= r.at <= end for start, end in windows[r.actor_id])
        mine = r.actor_id == p.user.id
        out.append(Entry(at=r.at, who="Vous" if mine else name, profession=profession,
                         establishment=where, action=ACTION_LABELS.get(r.action, r.action),
                         what=r.object_id, why=r.justification,
                         break_glass=in_glass, mine=mine,
                         app=names.get(via[r.id], via[r.id]) if r.id in via else ""))
    return total, out


def _break_glass_windows(session: Session, space: Space) -> list[tuple[int, datetime]]:
    return [(uid, at) for uid, at in session.execute(
        select(AuditEvent.actor_id, AuditEvent.at).where(
            AuditEvent.patient_ref == f"Patient/{space.patient_fid}",
            AuditEvent.action == "fhir.break-glass")).all() if uid]


def _people(session: Session, ids: set[int]) -> dict[int, tuple[str, str, str]]:
    if not ids:
        return {}
    names = dict(session.execute(select(User.id, User.display_name).where(User.id.in_(ids))).all())
    roles: dict[int, tuple[str, str]] = {}
    for uid, role, ref in session.execute(select(
            RoleAssignment.user_id, RoleAssignment.role, RoleAssignment.scope_ref).where(
            RoleAssignment.user_id.in_(ids))).all():
        if uid not in roles or role == "professional":
            roles[uid] = (role, ref)
    finesses = {ref for _, ref in roles.values() if ref and len(ref) == 9}
    places = dict(session.execute(select(Establishment.finess, Establishment.name).where(
        Establishment.finess.in_(finesses))).all()) if finesses else {}
    return {uid: (names.get(uid, "?"), ROLE_LABELS_FR.get(roles.get(uid, ("", ""))[0], ""),
                  places.get(roles.get(uid, ("", ""))[1], "")) for uid in ids}


CSV_HEADER = ["date", "qui", "profession", "établissement", "action", "objet", "motif",
              "application", "bris de glace"]


def to_csv(rows: list[Entry]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=";")
    w.writerow(CSV_HEADER)
    for e in rows:
        w.writerow([e.at.isoformat(timespec="seconds"), e.who, e.profession, e.establishment,
                    e.action, e.what, e.why, e.app, "oui" if e.break_glass else "non"])
    return buf.getvalue()
