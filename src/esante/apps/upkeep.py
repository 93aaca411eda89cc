"""Upkeep of the apps domain, run by the worker and by ``esante apps purge`` /
``esante apps remind``: the authorisation server's bookkeeping tables lose what has expired,
and the periodic re-review of each published app is announced when it falls due."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from esante.apps import limits
from esante.apps.models import (
    App,
    AuthorizationCode,
    ClientAssertion,
    IssuedToken,
    LaunchContext,
    PendingAuthorization,
)
from esante.apps.service import due_for_review
from esante.core import audit
from esante.core.accounts.models import Role, RoleAssignment, User
from esante.core.audit import Actor
from esante.core.db import utcnow
from esante.core.notifications import service as notifications

# What is purged, in French for the CLI's report, in the order of the report.
PURGED = {
    "pending": "demandes d'autorisation en attente de connexion",
    "launches": "lancements depuis le dossier",
    "assertions": "identifiants d'assertions client",
    "codes": "codes d'autorisation",
    "tokens": "jetons",
    "calls": "appels notés pour les limites de débit",
}


def _deleted(session: Session, stmt: object) -> int:
    return int(getattr(session.execute(stmt), "rowcount", 0) or 0)  # type: ignore[call-overload]


def purge(session: Session, now: datetime | None = None) -> dict[str, int]:
    """Deletes what has expired and returns the count per table. Each row is useless once
    expired: a pending request or a launch cannot be resumed, an assertion past its ``exp``
    is refused before its id is looked at, an expired code or token is refused whether its
    row exists or not (a grant's own record stays: the person still sees and revokes it)."""
    now = now or utcnow()
    counts = {
        "pending": _deleted(session, delete(PendingAuthorization)
                            .where(PendingAuthorization.expires_at <= now)),
        "launches": _deleted(session, delete(LaunchContext)
                             .where(LaunchContext.expires_at <= now)),
        "assertions": _deleted(session, delete(ClientAssertion)
                               .where(ClientAssertion.expires_at <= now)),
        # Tokens before codes: a token names the code it came from.
        "tokens": _deleted(session, delete(IssuedToken).where(IssuedToken.expires_at <= now)),
        "codes": _deleted(session, delete(AuthorizationCode)
                          .where(AuthorizationCode.expires_at <= now)),
        "calls": limits.purge(session, now=now),
    }
    if any(counts.values()):
        audit.record(session, actor=Actor.system("esante apps purge"), action="apps.purge",
                     object_type="App", object_id="*",
                     justification=", ".join(f"{k}={v}" for k, v in counts.items()))
    session.flush()
    return {k: counts[k] for k in PURGED}


def remind_due_reviews(session: Session, on: date | None = None) -> list[App]:
    """Tells the reviewers and the app's publisher that its periodic re-review is due,
    once per due date (a new publication sets a new date, hence a new reminder)."""
    day = on or utcnow().date()
    reminded = []
    reviewers = list(session.scalars(
        select(User).join(RoleAssignment).where(RoleAssignment.role == Role.APP_REVIEWER,
                                                User.is_active.is_(True)).distinct()))
    for app in due_for_review(session, on=day):
        if app.review_reminded_on == app.review_due_on:
            continue
        assert app.review_due_on is not None
        due = f"{app.review_due_on:%d/%m/%Y}"
        people = {u.id: u for u in reviewers}
        owner = session.get(User, app.owner_id) if app.owner_id else None
        if owner is not None and owner.is_active:
            people[owner.id] = owner
        for user in people.values():
            mine = owner is not None and user.id == owner.id
            notifications.notify(
                session, user=user, level="warning",
                title=f"Réexamen périodique dû : {app.name}"[:200],
                body=(f"Le réexamen périodique de « {app.name} » est dû depuis le {due}. "
                      + ("Mettez à jour le dossier de l'application si besoin : les "
                         "relecteurs vont le réexaminer." if mine else
                         "Réexaminez le dossier au regard de la doctrine en vigueur.")),
                link=f"/applications/{app.id}")
        app.review_reminded_on = app.review_due_on
        audit.record(session, actor=Actor.system("esante apps remind"),
                     action="apps.review.reminder", object_type="App", object_id=app.id,
                     justification=f"réexamen dû le {due}, {len(people)} destinataire(s)")
        reminded.append(app)
    session.flush()
    return reminded
