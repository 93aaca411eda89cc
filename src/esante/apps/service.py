"""The rules of the apps domain: app files and their review, suspension, and the grants
(connections) a person gives to apps. Plain functions; the caller commits."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from esante.apps import access as _access  # noqa: F401 - registers the rules
from esante.apps import scopes as smart
from esante.apps.checks import run_checks
from esante.apps.models import App, AppGrant, AppReview, IssuedToken, LaunchContext
from esante.apps.schemas import AppFileIn
from esante.core import audit
from esante.core.accounts.models import User
from esante.core.audit import AuditEvent
from esante.core.db import utcnow
from esante.core.errors import Conflict, Invalid, NotFound, Unauthenticated
from esante.core.policy import Principal, authorize
from esante.fhir.models import PatientLink

RE_REVIEW_DAYS = 365


def get_app(session: Session, app_id: int) -> App:
    app = session.get(App, app_id)
    if app is None:
        raise NotFound(f"application {app_id} introuvable", f"app {app_id} not found")
    return app


def app_by_client_id(session: Session, client_id: str) -> App | None:
    return session.scalar(select(App).where(App.client_id == client_id[:64]))


def readable_app(session: Session, p: Principal | None, app_id: int) -> App:
    app = get_app(session, app_id)
    if app.status != "published":
        if p is None:
            raise Unauthenticated("connectez-vous pour consulter ce dossier",
                                  "authentication required", code="token-missing")
        authorize(p, "apps.file.read", app)
    return app


# --- app files -------------------------------------------------------------------------------

def create_app(session: Session, p: Principal, data: AppFileIn, *,
               service_user: User | None = None) -> App:
    authorize(p, "apps.file.create")
    if data.client_kind == "backend" and not data.jwks.get("keys"):
        raise Invalid("une application d'établissement déclare ses clés publiques (JWKS)",
                      "a backend app must register its public keys (JWKS)", code="jwks")
    if data.client_kind == "backend" and service_user is None:
        raise Invalid("une application d'établissement agit au nom d'un compte de service : "
                      "la déposer avec « esante apps create --service-user »",
                      "a backend app needs a service account", code="service-user")
    app = App(client_id=secrets.token_urlsafe(18), owner_id=p.user.id, status="draft",
              service_user_id=service_user.id if service_user else None,
              **data.model_dump(exclude={"scopes"}), scopes=[s.model_dump() for s in data.scopes])
    app.checks = run_checks(app)
    session.add(app)
    session.flush()
    audit.record(session, actor=p.actor, action="apps.file.create", object_type="App",
                 object_id=app.id, details={"name": app.name})
    return app


def update_app(session: Session, p: Principal, app: App, data: AppFileIn) -> App:
    authorize(p, "apps.file.write", app)
    if app.status not in ("draft", "rejected"):
        raise Conflict("seul un dossier en brouillon ou refusé se modifie",
                       "only a draft or rejected file can be edited")
    for key, value in data.model_dump(exclude={"scopes"}).items():
        setattr(app, key, value)
    app.scopes = [s.model_dump() for s in data.scopes]
    app.checks = run_checks(app)
    audit.record(session, actor=p.actor, action="apps.file.update", object_type="App",
                 object_id=app.id)
    return app


def submit(session: Session, p: Principal, app: App) -> App:
    authorize(p, "apps.file.write", app)
    if app.status not in ("draft", "rejected"):
        raise Conflict("ce dossier est déjà soumis ou publié", "file already submitted")
    app.checks = run_checks(app)
    app.status, app.submitted_at = "submitted", utcnow()
    audit.record(session, actor=p.actor, action="apps.file.submit", object_type="App",
                 object_id=app.id)
    return app


def decide(session: Session, p: Principal, app: App, decision: str, reasons: str) -> App:
    authorize(p, "apps.review", app)
    allowed = {"publish": ("submitted",), "reject": ("submitted",),
               "suspend": ("published",), "reinstate": ("suspended",)}[decision]
    if app.status not in allowed:
        raise Conflict(f"décision « {decision} » impossible sur un dossier « {app.status} »",
                       f"cannot {decision} an app in status {app.status}")
    if decision in ("publish", "reinstate"):
        app.checks = run_checks(app)
        failed = [c["requirement"] for c in app.checks if not c["ok"]]
        if failed:
            raise Conflict("publication impossible : exigences non satisfaites "
                           f"({', '.join(failed)})", f"failed requirements: {', '.join(failed)}",
                           code="doctrine")
        app.status, app.published_at = "published", utcnow()
        app.suspended_at = None
        app.review_due_on = (utcnow() + timedelta(days=RE_REVIEW_DAYS)).date()
    elif decision == "reject":
        app.status = "rejected"
    else:
        app.status, app.suspended_at = "suspended", utcnow()
        revoke_all_tokens(session, app)
    session.add(AppReview(app_id=app.id, reviewer_id=p.user.id, decision=decision,
                          reasons=reasons.strip()))
    audit.record(session, actor=p.actor, action=f"apps.review.{decision}", object_type="App",
                 object_id=app.id, justification=reasons.strip())
    session.flush()
    return app


def revoke_all_tokens(session: Session, app: App) -> int:
    result = session.execute(update(IssuedToken).where(
        IssuedToken.app_id == app.id, IssuedToken.revoked_at.is_(None)).values(
        revoked_at=utcnow()).execution_options(synchronize_session=False))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def list_apps(session: Session, *, status: str | None = "published", query: str = "",
              category: str = "") -> list[App]:
    stmt = select(App).order_by(App.name)
    if status:
        stmt = stmt.where(App.status == status)
    if category:
        stmt = stmt.where(App.category == category)
    apps = list(session.scalars(stmt))
    if query:
        q = query.casefold()
        apps = [a for a in apps if q in f"{a.name} {a.publisher_name} {a.purpose} "
                f"{a.description}".casefold()]
    return apps


def due_for_review(session: Session, *, on: date | None = None) -> list[App]:
    """Published apps whose periodic re-review is due."""
    day = on or utcnow().date()
    return list(session.scalars(select(App).where(
        App.status == "published", App.review_due_on.is_not(None), App.review_due_on <= day)
        .order_by(App.review_due_on)))


def reviews_of(session: Session, app: App) -> list[AppReview]:
    return list(session.scalars(select(AppReview).where(AppReview.app_id == app.id)
                                .order_by(AppReview.at)))


# --- grants (connections) --------------------------------------------------------------------

def patients_of(session: Session, user: User) -> list[str]:
    return list(session.scalars(select(PatientLink.patient_fid)
                                .where(PatientLink.user_id == user.id)
                                .order_by(PatientLink.patient_fid)))


def start_launch(session: Session, p: Principal, app: App, patient_fid: str) -> LaunchContext:
    """EHR launch: a professional opens an app from a patient's record she may read."""
    from esante.fhir.access import Access

    authorize(p, "apps.launch", app)
    if app.status != "published" or not app.launch_url:
        raise Conflict("cette application ne se lance pas depuis un dossier",
                       "this app has no EHR launch", code="no-launch")
    Access(session, p).authorize_read("Patient", patient_fid[:64], patient_fid[:64])
    ctx = LaunchContext(id=secrets.token_urlsafe(16), app_id=app.id, user_id=p.user.id,
                        patient_fid=patient_fid[:64], expires_at=utcnow() + timedelta(minutes=5))
    session.add(ctx)
    session.flush()
    audit.record(session, actor=p.actor, action="apps.launch", object_type="App",
                 object_id=app.id, patient_ref=f"Patient/{ctx.patient_fid}")
    return ctx


def launch_context(session: Session, p: Principal, app: App, launch_id: str) -> LaunchContext | None:
    ctx = session.get(LaunchContext, launch_id[:32])
    if ctx is None or ctx.app_id != app.id or ctx.user_id != p.user.id or ctx.expires_at <= utcnow():
        return None
    return ctx


def record_consent(session: Session, p: Principal, app: App, scope: str,
                   patient_fid: str | None, *, launched: bool = False) -> AppGrant:
    """The person said yes on the consent screen. A launched app's patient is the one of
    the launch (read access checked again); otherwise the person's own record."""
    if launched and patient_fid is not None:
        from esante.fhir.access import Access

        Access(session, p).authorize_read("Patient", patient_fid, patient_fid)
    elif patient_fid is not None and patient_fid not in patients_of(session, p.user):
        raise Invalid("ce dossier n'est pas le vôtre", "not the user's own record")
    grant = AppGrant(app_id=app.id, user_id=p.user.id, patient_fid=patient_fid, scope=scope)
    session.add(grant)
    session.flush()
    audit.record(session, actor=p.actor, action="apps.grant", object_type="AppGrant",
                 object_id=grant.id, subject_user_id=p.user.id,
                 patient_ref=f"Patient/{patient_fid}" if patient_fid else None,
                 details={"app": app.client_id, "scope": scope})
    return grant


@dataclass
class Connection:
    grant: AppGrant
    app: App
    scopes_fr: list[str]
    last_accesses: list[AuditEvent]

    def as_dict(self) -> dict[str, Any]:
        return {"grant_id": self.grant.id, "app": self.app.name, "client_id": self.app.client_id,
                "scopes": smart.split(self.grant.scope), "scopes_fr": self.scopes_fr,
                "granted_at": self.grant.created_at.isoformat(),
                "last_accesses": [f"{e.at.isoformat()} {e.action} {e.object_id}"
                                  for e in self.last_accesses]}


def connections(session: Session, p: Principal, *, last: int = 5) -> list[Connection]:
    """The apps a person allowed and has not revoked, with their last accesses read from
    the audit trail (every FHIR access an app makes is recorded with its client id)."""
    authorize(p, "apps.connections.read")
    rows = session.execute(select(AppGrant, App).join(App, App.id == AppGrant.app_id).where(
        AppGrant.user_id == p.user.id, AppGrant.revoked_at.is_(None))
        .order_by(AppGrant.created_at.desc())).all()
    out = []
    for grant, app in rows:
        events = list(session.scalars(select(AuditEvent).where(
            AuditEvent.actor_id == p.user.id,
            AuditEvent.actor_label.like(f"% (app {app.client_id})"),
            AuditEvent.action.like("fhir.%")).order_by(AuditEvent.id.desc()).limit(last)))
        out.append(Connection(grant, app, [smart.describe_fr(s) for s in smart.split(grant.scope)],
                              events))
    return out


def revoke_connection(session: Session, p: Principal, grant_id: int) -> AppGrant:
    authorize(p, "apps.connections.revoke")
    grant = session.get(AppGrant, grant_id)
    if grant is None or grant.user_id != p.user.id:
        raise NotFound(f"autorisation {grant_id} introuvable", f"grant {grant_id} not found")
    if grant.revoked_at is None:
        grant.revoked_at = utcnow()
        session.execute(update(IssuedToken).where(
            IssuedToken.grant_id == grant.id, IssuedToken.revoked_at.is_(None)).values(
            revoked_at=utcnow()).execution_options(synchronize_session=False))
        audit.record(session, actor=p.actor, action="apps.grant.revoke", object_type="AppGrant",
                     object_id=grant.id, subject_user_id=p.user.id)
    return grant
