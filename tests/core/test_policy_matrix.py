"""The access-policy matrix: every route of the app, every persona, allowed or denied.

The tables below are the intended policy, written out by hand from ``core.policy`` and the
architecture's security model; ``test_every_route_is_in_the_matrix`` fails as soon as a
route is added (or removed) without its line here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.routing import Mount

from esante.core.accounts import service as accounts
from esante.core.accounts.models import ApiToken, User
from esante.core.audit import AuditEvent
from esante.core.notifications import service as notifications
from esante.core.notifications.models import Notification
from esante.core.orgs.models import Establishment
from esante.core.policy import Principal
from esante.cyber.incidents import service as incidents
from esante.cyber.incidents.models import Incident, IncidentEvent
from esante.cyber.incidents.schemas import IncidentFields
from esante.cyber.lessons import service as lessons
from esante.cyber.lessons.models import Lesson
from esante.cyber.lessons.schemas import LessonFields
from esante.cyber.mutualaid import service as mutualaid
from esante.cyber.mutualaid.models import AidEvent, AidMatch, AidPost
from esante.cyber.mutualaid.schemas import PostIn
from tests.core.policy_base import (
    ANONYMOUS,
    EVERYONE,
    FORM_AGAIN,
    PERSONAS,
    REFUSED_ON_PAGE,
    Case,
    _c,
    _p,
    domain_modules,
    domain_table,
)
from tests.cyber.conftest import declaration
from tests.factories import PASSWORD, Personas, finess

NEW_PASSWORD = "lavande-orage-cadran-piano-73"


def iter_routes(app: FastAPI) -> Iterator[tuple[str, str, Any]]:
    """(method, path, route) for every route the app serves, included routers flattened."""
    try:  # FastAPI >= 0.165 keeps included routers as nodes of app.routes
        from fastapi.routing import iter_route_contexts

        contexts = [(c.route, c.path) for c in iter_route_contexts(app.routes)]
    except ImportError:  # pragma: no cover - older FastAPI: app.routes is already flat
        contexts = [(r, getattr(r, "path", None)) for r in app.routes]
    for route, path in contexts:
        if isinstance(route, Mount):
            yield "MOUNT", route.path, route
            continue
        for method in sorted(getattr(route, "methods", None) or ()):
            if method != "HEAD":
                yield method, path, route


# --- the API table ---------------------------------------------------------------------------

STAFF_OF_A = frozenset({"rssi_a", "director_a", "regional", "analyst", "admin"})  # Paris, 11
STAFF_OF_B = frozenset({"rssi_b", "analyst", "admin"})  # Lyon, 84
STAFF_OF_C = frozenset({"analyst", "admin"})  # Marseille, 93: nobody's establishment


# Incidents (/api/cyber): the establishment's security officer and director declare and
# complete; the regional agency of region 11 (A's) and the national cell read; the cell
# triages; agency and cell annotate. An incident one may not read does not exist (404);
# one that can be read but not acted upon answers 403.
EST_A_STAFF = frozenset({"rssi_a", "director_a"})
INCIDENT_READERS = EST_A_STAFF | {"regional", "analyst"}
CELL = frozenset({"analyst"})
AGENCY_AND_CELL = frozenset({"regional", "analyst"})
READ_BUT_NOT_EDIT = {"regional": 403, "analyst": 403}
READ_BUT_NOT_TRIAGE = {"rssi_a": 403, "director_a": 403, "regional": 403}
READ_BUT_NOT_NOTE = {"rssi_a": 403, "director_a": 403}
INCIDENT_LISTERS = EST_A_STAFF | {"rssi_b", "regional", "analyst"}
INC = "/api/cyber/incidents/{incident_id}"
PDF = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"


def _inc(method: str, suffix: str, allowed: frozenset[str], *, at: str = "{incident}",
         **kw: Any) -> Case:
    """A line on an incident of A declared by rssi_a (``at``: which one, see _resolve)."""
    return _c(method, INC + suffix, allowed, label=f"/api/cyber/incidents/{at}{suffix}", **kw)


# Lessons learned (/api/cyber/lessons), mutual aid (/api/cyber/aid), dashboards.
LESSON_READERS = frozenset({"rssi_a", "rssi_b", "director_a", "regional", "analyst"})
READ_BUT_NOT_WRITE_LESSON = dict.fromkeys(LESSON_READERS - CELL, 403)
LESSON_TEXT = {
    "title": "Rançongiciel : restaurer l'annuaire depuis une sauvegarde hors ligne",
    "summary": "Un rançongiciel a chiffré les serveurs ; la restauration a pris neuf jours.",
    "narrative": "Le week-end, les serveurs de fichiers ont été chiffrés.",
    "recommendations": "Tester la restauration de l'annuaire deux fois par an.",
    "tags": ["rançongiciel", "sauvegardes"],
}
AID_BOARD = LESSON_READERS  # the same five: establishments' security staff, agencies, cell
AID_A_READERS = INCIDENT_READERS  # a territory post of A: A, region 11, the cell
DASH_EST = "/api/cyber/dashboards/establishment/{finess}"


def _les(method: str, suffix: str, allowed: frozenset[str], *, at: str = "{lesson}",
         **kw: Any) -> Case:
    """A line on a lesson (``at``: a published one by default, see _resolve)."""
    return _c(method, "/api/cyber/lessons/{lesson_id}" + suffix, allowed,
              label=f"/api/cyber/lessons/{at}{suffix}", **kw)


def _aid(method: str, suffix: str, allowed: frozenset[str], *, at: str = "{aid_a}",
         **kw: Any) -> Case:
    """A line on a mutual-aid post (``at``: A's territory request by default)."""
    return _c(method, "/api/cyber/aid/{post_id}" + suffix, allowed,
              label=f"/api/cyber/aid/{at}{suffix}", **kw)


API_CASES: list[Case] = [
    # one's own account: everyone who is logged in
    _c("GET", "/api/me", EVERYONE),
    _c("POST", "/api/me/password", EVERYONE, ok=(204,),
       body={"current_password": PASSWORD, "new_password": NEW_PASSWORD}),
    _c("GET", "/api/me/audit", EVERYONE),
    _c("GET", "/api/tokens", EVERYONE),
    _c("POST", "/api/tokens", EVERYONE, ok=(201,), body={"name": "matrix", "scopes": ["read"]}),
    _c("DELETE", "/api/tokens/{token_id}", EVERYONE, label="/api/tokens/{own}", ok=(204,)),
    # someone else's token does not exist for you, whoever you are
    _c("DELETE", "/api/tokens/{token_id}", frozenset({"citizen"}), label="/api/tokens/{citizen}",
       denied=404, ok=(204,)),
    _c("GET", "/api/notifications", EVERYONE),
    _c("POST", "/api/notifications/{notification_id}/read", EVERYONE,
       label="/api/notifications/{own}/read"),
    _c("POST", "/api/notifications/{notification_id}/read", frozenset({"citizen"}),
       label="/api/notifications/{citizen}/read", denied=404),
    # account administration: administrators; a person reads their own account
    _c("GET", "/api/users", frozenset({"admin"})),
    _c("POST", "/api/users", frozenset({"admin"}), ok=(201,),
       body={"email": "created@test.esante.fr", "password": NEW_PASSWORD,
             "display_name": "Compte créé"}),
    _c("GET", "/api/users/{user_id}", frozenset({"citizen", "admin"}),
       label="/api/users/{citizen}"),
    # the FINESS directory is public information, but login is required
    _c("GET", "/api/regions", EVERYONE),
    _c("GET", "/api/national-cell", EVERYONE),
    _c("GET", "/api/establishments", EVERYONE),
    _c("GET", "/api/establishments/{finess}", EVERYONE, label="/api/establishments/{B}"),
    _c("POST", "/api/establishments", frozenset({"admin"}), ok=(201,),
       body={"finess": finess("75000099"), "name": "Hôpital Matrice", "category": "CH",
             "department": "75"}),
    # the establishment's card: its director, or an administrator
    _c("PATCH", "/api/establishments/{finess}", frozenset({"director_a", "admin"}),
       label="/api/establishments/{A}", body={"town": "Paris 13e"}),
    _c("PATCH", "/api/establishments/{finess}", frozenset({"admin"}),
       label="/api/establishments/{B}", body={"town": "Lyon 3e"}),
    # security staff of an establishment: its own staff, its region's ARS, the nation
    _c("GET", "/api/establishments/{finess}/staff", STAFF_OF_A,
       label="/api/establishments/{A}/staff"),
    _c("GET", "/api/establishments/{finess}/staff", STAFF_OF_B,
       label="/api/establishments/{B}/staff"),
    _c("GET", "/api/establishments/{finess}/staff", STAFF_OF_C,
       label="/api/establishments/{C}/staff"),
    # broadcasting: the national cyber cell and administrators
    _c("POST", "/api/notifications", frozenset({"analyst", "admin"}), ok=(201,),
       body={"role": "security_officer", "scope_kind": "region", "scope_ref": "11",
             "title": "Alerte de test"}),
    # breached-password ranges (k-anonymity): anyone logged in
    _c("GET", "/api/passwords/range/{prefix}", EVERYONE, label="/api/passwords/range/5BAA6"),
    # the platform's audit trail: administrators only
    _c("GET", "/api/audit", frozenset({"admin"})),
    _c("GET", "/api/audit/verify", frozenset({"admin"})),
    # incidents: the security profile of an establishment
    _c("GET", "/api/cyber/establishments/{finess}/profile", INCIDENT_READERS,
       label="/api/cyber/establishments/{A}/profile"),
    _c("PUT", "/api/cyber/establishments/{finess}/profile", EST_A_STAFF,
       label="/api/cyber/establishments/{A}/profile",
       body={"nis2_in_scope": True, "director": "Mme la Directrice",
             "referents": [{"name": "RSSI A", "email": "rssi@chu-paris.test.esante.fr"}]}),
    # incidents: declaring (for A), listing
    _c("POST", "/api/cyber/incidents", EST_A_STAFF, ok=(201,),
       body=declaration("{A}", idempotency_key="matrix-declaration")),
    _c("GET", "/api/cyber/incidents", INCIDENT_LISTERS),
    # an incident of A: reading
    _inc("GET", "", INCIDENT_READERS, denied=404),
    _inc("GET", "/timeline", INCIDENT_READERS, denied=404),
    _inc("GET", "/obligations", INCIDENT_READERS, denied=404),
    _c("GET", INC + "/reports/{obligation}/draft", INCIDENT_READERS, denied=404,
       label="/api/cyber/incidents/{incident}/reports/cnil/draft"),
    _c("GET", INC + "/attachments/{attachment_id}", INCIDENT_READERS, denied=404,
       label="/api/cyber/incidents/{incident}/attachments/{attachment}"),
    # ... completing it: the establishment; those who read it are refused, the others
    # do not see it
    _inc("PATCH", "", EST_A_STAFF, denied=404, denied_for=READ_BUT_NOT_EDIT,
         body={"measures_taken": "Réinstallation des postes, changement des mots de passe."}),
    _inc("POST", "/submit", EST_A_STAFF, denied=404, denied_for=READ_BUT_NOT_EDIT),
    _c("POST", INC + "/info-answers", EST_A_STAFF, denied=404, denied_for=READ_BUT_NOT_EDIT,
       label="/api/cyber/incidents/{incident}/info-answers", ok=(201,),
       body={"request_id": "{info_request}", "text": "Le prestataire est la société X."}),
    _c("POST", INC + "/reports/{obligation}", EST_A_STAFF, denied=404,
       denied_for=READ_BUT_NOT_EDIT, label="/api/cyber/incidents/{incident}/reports/cnil",
       ok=(201,), body={"text": ""}),
    _inc("POST", "/attachments", EST_A_STAFF, denied=404, denied_for=READ_BUT_NOT_EDIT,
         ok=(201,), extra={"files": {"file": ("rapport.pdf", PDF, "application/pdf")}}),
    _c("POST", INC + "/tasks/{task_id}/done", EST_A_STAFF, denied=404,
       denied_for=READ_BUT_NOT_EDIT,
       label="/api/cyber/incidents/{incident}/tasks/{establishment_task}/done"),
    # ... a task of the cell is the cell's to close
    _c("POST", INC + "/tasks/{task_id}/done", CELL, denied=404,
       denied_for=READ_BUT_NOT_TRIAGE,
       label="/api/cyber/incidents/{incident}/tasks/{cell_task}/done"),
    # ... triage: the national cell
    _inc("POST", "/status", CELL, denied=404, denied_for=READ_BUT_NOT_TRIAGE,
         body={"status": "acknowledged"}),
    _inc("POST", "/qualification", CELL, denied=404, denied_for=READ_BUT_NOT_TRIAGE,
         body={"care": 1, "data": 1, "spread": 0}),
    _inc("POST", "/assignee", CELL, denied=404, denied_for=READ_BUT_NOT_TRIAGE,
         body={"analyst_id": "{analyst_id}"}),
    _inc("POST", "/info-requests", CELL, denied=404, denied_for=READ_BUT_NOT_TRIAGE, ok=(201,),
         body={"text": "Quel est le prestataire d'infogérance ?"}),
    _inc("POST", "/tasks", CELL, denied=404, denied_for=READ_BUT_NOT_TRIAGE, ok=(201,),
         body={"title": "Restaurer l'annuaire", "owner": "establishment"}),
    _inc("POST", "/escalations", CELL, denied=404, denied_for=READ_BUT_NOT_TRIAGE, ok=(201,),
         body={"targets": ["ars"], "reason": "Incident majeur en cours"}),
    # ... notes: the regional agency and the cell
    _inc("POST", "/notes", AGENCY_AND_CELL, denied=404, denied_for=READ_BUT_NOT_NOTE, ok=(201,),
         body={"text": "L'ARS prévient le GHT."}),
    # a draft is its establishment's alone: neither the agency nor the cell sees it
    _inc("GET", "", EST_A_STAFF, at="{draft}", denied=404),
    _inc("POST", "/submit", EST_A_STAFF, at="{draft}", denied=404),
    # lessons learned: the security staff of every establishment, the agencies and the
    # cell read what is published; the cell alone writes, and alone sees a draft
    _c("GET", "/api/cyber/lessons", LESSON_READERS),
    _c("GET", "/api/cyber/lessons/tags", LESSON_READERS),
    _les("GET", "", LESSON_READERS, denied=404),
    _les("GET", "", CELL, at="{lesson_draft}", denied=404),
    _c("POST", "/api/cyber/lessons", CELL, ok=(201,),
       body={"incident_id": "{closed_incident}", **LESSON_TEXT}),
    _les("PATCH", "", CELL, at="{lesson_draft}", denied=404,
         body={"summary": "Neuf jours de restauration ; l'annuaire d'abord."}),
    _les("POST", "/check", CELL, at="{lesson_draft}", denied=404),
    _les("POST", "/publish", CELL, at="{lesson_checked}", denied=404),
    # ... a published lesson is read by the staff, who may not withdraw it
    _les("POST", "/withdraw", CELL, denied=404, denied_for=READ_BUT_NOT_WRITE_LESSON),
    # mutual aid: the board is the security staff's, the agencies' and the cell's; a post
    # is seen by its establishment, its region (and GHT), everyone when it is national,
    # the cell; a post one may not see does not exist (404)
    _c("GET", "/api/cyber/aid", AID_BOARD),
    _aid("GET", "", AID_A_READERS, denied=404),
    _aid("GET", "", AID_BOARD, at="{aid_b}", denied=404),
    _aid("GET", "/candidates", AID_A_READERS, denied=404),
    # ... posting for one's own establishment
    _c("POST", "/api/cyber/aid", EST_A_STAFF, label="/api/cyber/aid (A)", ok=(201,),
       body={"finess": "{A}", "kind": "request", "topic": "workstations",
             "title": "Besoin de 40 postes de travail", "description": "Parc chiffré."}),
    _c("POST", "/api/cyber/aid", frozenset({"rssi_b"}), label="/api/cyber/aid (B)", ok=(201,),
       body={"finess": "{B}", "kind": "offer", "topic": "expertise", "visibility": "national",
             "title": "Expertise Active Directory", "contact": "Cellule de crise"}),
    # ... matching: either establishment, the agency of the request's region, the cell
    _aid("POST", "/matches", AID_BOARD, at="{aid_a_national}", denied=404, ok=(201,),
         body={"other_id": "{aid_b}"}),
    _aid("POST", "/matches", AID_BOARD - {"regional"}, at="{aid_b_request}", denied=404,
         denied_for={"regional": 403}, ok=(201,), body={"other_id": "{aid_a_offer}"}),
    # ... closing: the post's establishment, the cell; those who see it are refused
    _aid("POST", "/close", EST_A_STAFF | CELL, denied=404, denied_for={"regional": 403},
         body={"note": "Postes reçus du GHT."}),
    _aid("POST", "/close", frozenset({"rssi_b", "analyst"}), at="{aid_b}", denied=404,
         denied_for={"rssi_a": 403, "director_a": 403, "regional": 403},
         body={"note": "Expertise fournie."}),
    # dashboards: the cell sees all; a regional agency its region and its establishments;
    # an establishment's staff their own; the administrator none
    _c("GET", "/api/cyber/dashboards/national", CELL),
    _c("GET", "/api/cyber/dashboards/region/{code}", AGENCY_AND_CELL,
       label="/api/cyber/dashboards/region/11"),
    _c("GET", "/api/cyber/dashboards/region/{code}", CELL,
       label="/api/cyber/dashboards/region/84"),
    _c("GET", DASH_EST, INCIDENT_READERS, label="/api/cyber/dashboards/establishment/{A}"),
    _c("GET", DASH_EST, frozenset({"rssi_b", "analyst"}),
       label="/api/cyber/dashboards/establishment/{B}"),
    _c("GET", DASH_EST, CELL, label="/api/cyber/dashboards/establishment/{C}"),
    # public
    _c("GET", "/api/openapi.json", EVERYONE, public=True),
]
API_CASES += domain_table("API_CASES")


class _Targets:
    """The objects a test's placeholders name, created once per test (an info request and
    the answer to it must be on the same incident)."""

    def __init__(self, personas: Personas, db: Session) -> None:
        self.personas, self.db = personas, db
        self._made: dict[str, Any] = {}

    def once(self, key: str, make: Any) -> Any:
        if key not in self._made:
            self._made[key] = make()
        return self._made[key]

    def principal(self, who: str) -> Principal:
        return Principal.of(self.personas.users[who])

    def _declare(self, *, submit: bool) -> Incident:
        body = declaration(self.personas.est["A"].finess, submit=submit)
        fields = IncidentFields.model_validate(
            {k: v for k, v in body.items() if k not in ("finess", "idempotency_key", "submit")})
        incident, _ = incidents.save_declaration(
            self.db, self.principal("rssi_a"), finess=body["finess"],
            idempotency_key=body["idempotency_key"], fields=fields, submit=submit)
        assert incident.status == ("declared" if submit else "draft")
        return incident

    def incident(self, *, submit: bool = True) -> Incident:
        return self.once("incident" if submit else "draft",  # type: ignore[no-any-return]
                          lambda: self._declare(submit=submit))

    def closed_incident(self) -> int:
        def make() -> int:
            cell, incident = self.principal("analyst"), self._declare(submit=True)
            incidents.qualify(self.db, cell, incident, care=2, data=1, spread=0)
            incidents.transition(self.db, cell, incident, "closed",
                                 reason="Sauvegardes restaurées.")
            return incident.id

        return self.once("closed_incident", make)  # type: ignore[no-any-return]

    def lesson(self, stage: str) -> int:
        """A lesson of a closed incident, left at ``stage``: draft, checked or published."""
        def make() -> int:
            cell = self.principal("analyst")
            lesson = lessons.create(self.db, cell, incident_id=self.closed_incident(),
                                    fields=LessonFields.model_validate(LESSON_TEXT))
            if stage in ("checked", "published"):
                lessons.check(self.db, cell, lesson)
            if stage == "published":
                lessons.publish(self.db, cell, lesson)
            assert lesson.status == stage
            return lesson.id

        return self.once(f"lesson-{stage}", make)  # type: ignore[no-any-return]

    def aid(self, key: str) -> int:
        """A mutual-aid post: ``a`` A's territory request; ``a_national`` A's national
        request and ``b`` B's national offer (workstations, a match); ``b_request`` B's
        national request and ``a_offer`` A's national offer (expertise, a match)."""
        who, est, kind, topic, visibility = {
            "a": ("rssi_a", "A", "request", "workstations", "territory"),
            "a_national": ("rssi_a", "A", "request", "workstations", "national"),
            "b": ("rssi_b", "B", "offer", "workstations", "national"),
            "b_request": ("rssi_b", "B", "request", "expertise", "national"),
            "a_offer": ("director_a", "A", "offer", "expertise", "national"),
        }[key]
        body = PostIn(finess=self.personas.est[est].finess, kind=kind, topic=topic,
                      visibility=visibility, title=f"Entraide {key}")
        return self.once(f"aid-{key}", lambda: mutualaid.create(  # type: ignore[no-any-return]
            self.db, self.principal(who), body).id)

    def info_request(self) -> int:
        return self.once("info_request", lambda: incidents.request_info(
            self.db, self.principal("analyst"), self.incident(), "Quel prestataire ?").id)

    def task(self, owner: str) -> int:
        return self.once(f"task-{owner}", lambda: incidents.add_task(
            self.db, self.principal("analyst"), self.incident(), "Une tâche", owner).id)

    def attachment(self) -> int:
        return self.once("attachment", lambda: incidents.add_attachment(
            self.db, self.principal("rssi_a"), self.incident(), filename="rapport.pdf",
            declared_type="application/pdf", data=PDF).id)


def _resolve_body(body: Any, name: str, personas: Personas, db: Session,
                  targets: _Targets) -> Any:
    """A body with its placeholders resolved: a string that is a placeholder becomes the
    value itself (an id stays an integer), placeholders inside strings are replaced."""
    if isinstance(body, dict):
        return {k: _resolve_body(v, name, personas, db, targets) for k, v in body.items()}
    if isinstance(body, list):
        return [_resolve_body(v, name, personas, db, targets) for v in body]
    if isinstance(body, str) and "{" in body:
        table = _table(name, personas, db, targets)
        if body in table:
            value = table[body]()
            db.flush()
            return value
        return _resolve(body, name, personas, db, targets)
    return body


def _table(name: str, personas: Personas, db: Session,
           targets: _Targets) -> dict[str, Any]:
    def own_token() -> str:
        return str(accounts.list_tokens(db, user=personas.users[name])[0].id)

    def token_of_citizen() -> str:
        return str(accounts.list_tokens(db, user=personas.users["citizen"])[0].id)

    def note_of(who: str) -> str:
        return str(notifications.notify(db, user=personas.users[who], title="Test",
                                        email=False).id)

    table = {
        "{A}": lambda: personas.est["A"].finess,
        "{B}": lambda: personas.est["B"].finess,
        "{C}": lambda: personas.est["C"].finess,
        "/api/tokens/{own}": lambda: "/api/tokens/" + own_token(),
        "/api/tokens/{citizen}": lambda: "/api/tokens/" + token_of_citizen(),
        "/api/notifications/{own}": lambda: "/api/notifications/" + note_of(name),
        "/api/notifications/{citizen}": lambda: "/api/notifications/" + note_of("citizen"),
        "/api/users/{citizen}": lambda: f"/api/users/{personas.users['citizen'].id}",
        "{incident}": lambda: targets.incident().id,
        "{draft}": lambda: targets.incident(submit=False).id,
        "{info_request}": targets.info_request,
        "{establishment_task}": lambda: targets.task("establishment"),
        "{cell_task}": lambda: targets.task("cell"),
        "{attachment}": targets.attachment,
        "{analyst_id}": lambda: personas.users["analyst"].id,
        "{closed_incident}": targets.closed_incident,
        "{lesson}": lambda: targets.lesson("published"),
        "{lesson_draft}": lambda: targets.lesson("draft"),
        "{lesson_checked}": lambda: targets.lesson("checked"),
        "{aid_a}": lambda: targets.aid("a"),
        "{aid_a_national}": lambda: targets.aid("a_national"),
        "{aid_b}": lambda: targets.aid("b"),
        "{aid_b_request}": lambda: targets.aid("b_request"),
        "{aid_a_offer}": lambda: targets.aid("a_offer"),
    }
    for module in domain_modules():
        if hasattr(module, "placeholders"):
            table |= module.placeholders(targets, name)
    return table


def _resolve(label: str, name: str, personas: Personas, db: Session,
             targets: _Targets | None = None) -> str:
    targets = targets or _Targets(personas, db)
    for key, value in _table(name, personas, db, targets).items():
        if key in label:
            label = label.replace(key, str(value()))
    assert "{" not in label, label
    db.flush()
    return label


def _api_params() -> list[Any]:
    params = []
    for case in API_CASES:
        for name in (*PERSONAS, ANONYMOUS):
            allowed = case.public if name == ANONYMOUS else name in case.allowed
            verdict = "allowed" if allowed else "denied"
            params.append(pytest.param(case, name, allowed,
                                       id=f"{case.method} {case.label}-{name}-{verdict}"))
    return params


def _counts(db: Session) -> tuple[int, ...]:
    db.expire_all()
    return tuple(db.scalar(select(func.count()).select_from(m)) or 0
                 for m in (AuditEvent, User, ApiToken, Establishment, Incident, IncidentEvent,
                           Notification, Lesson, AidPost, AidMatch, AidEvent, *DOMAIN_COUNTED))


@pytest.mark.parametrize(("case", "name", "allowed"), _api_params())
def test_api_policy(client, personas, db, case, name, allowed):
    as_name = name if name != ANONYMOUS else "citizen"
    targets = _Targets(personas, db)
    path = _resolve(case.target, as_name, personas, db, targets)
    headers = personas.auth(name) if name != ANONYMOUS else {}
    kwargs: dict[str, Any] = {"headers": headers}
    if case.body is not None:
        kwargs["json"] = _resolve_body(case.body, as_name, personas, db, targets)
    if "files" in case.extra:
        kwargs["files"] = case.extra["files"]
    before = _counts(db)
    r = client.request(case.method, path, **kwargs)
    if allowed:
        assert r.status_code in case.ok, r.text
        return
    expected = 401 if name == ANONYMOUS else case.refusal(name)
    assert r.status_code == expected, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["detail"]  # a French message
    assert _counts(db) == before  # a refusal writes nothing, not even an audit record


# --- the page table ------------------------------------------------------------------------

LOGIN_PAGE = "page"  # GET, logged in: 200 for every persona; anonymous: to /login
FORM = "form"  # POST with CSRF, logged in: done; anonymous: to /login
PUBLIC = "public"  # anyone: 200
FLOW = "login-flow"  # steps of the login itself: see test_auth.py; anonymous: back to /login
STATIC = "static"

PAGE_ROUTES: dict[tuple[str, str], str] = {
    ("GET", "/"): LOGIN_PAGE,
    ("GET", "/account"): LOGIN_PAGE,
    ("GET", "/account/totp"): LOGIN_PAGE,
    ("GET", "/notifications"): LOGIN_PAGE,
    ("GET", "/organisations"): LOGIN_PAGE,
    ("POST", "/account/password"): FORM,
    ("POST", "/account/totp"): FORM,
    ("POST", "/account/tokens"): FORM,
    ("POST", "/account/tokens/{token_id}/revoke"): FORM,
    ("POST", "/notifications/read-all"): FORM,
    ("POST", "/logout"): FORM,
    ("GET", "/login"): PUBLIC,
    ("GET", "/api/docs"): PUBLIC,
    ("GET", "/health"): PUBLIC,
    ("POST", "/login"): FLOW,
    ("GET", "/login/otp"): FLOW,
    ("POST", "/login/otp"): FLOW,
    ("GET", "/login/enrol"): FLOW,
    ("POST", "/login/enrol"): FLOW,
    ("MOUNT", "/static"): STATIC,
}
PAGE_ROUTES |= dict(domain_table("PAGE_ROUTES"))

# Role-restricted pages (the cyber domains): each line is a Case as for the API, run for
# every persona; a page the persona may not open answers 403, or 404 when its object is
# hidden from them; an anonymous caller is sent to /login. A POST form is sent with its
# browser session's CSRF token (the one every page of the session carries) and a valid
# body; an allowed form writes, a refused one writes nothing. Some forms refuse on the page
# itself: back to it with ``erreur`` (REFUSED_ON_PAGE), or the form again with its error
# (FORM_AGAIN: a staff member of another establishment). ``extra``: ``to``, where an
# allowed form leads; ``rewrites``, a form that only changes rows; ``redirects``, personas
# sent on to another page (the dashboards' landing page).
CYBER_BOARD = LESSON_READERS  # rssi_a, rssi_b, director_a, regional, analyst
EST_STAFF = EST_A_STAFF | {"rssi_b"}  # the security staff of an establishment, A or B
INC_PAGE = "/cyber/incidents/{incident_id}"
LES_PAGE = "/cyber/retours-experience/{lesson_id}"
AID_PAGE = "/cyber/entraide/{post_id}"
DASH_PAGE = "/cyber/tableaux-de-bord"


ROLE_PAGES: list[Case] = [
    # incidents: the list for the security staff, the agencies and the cell; the form for
    # the staff of an establishment; an incident for those who read it
    _p("GET", "/cyber/incidents", INCIDENT_LISTERS),
    _p("GET", "/cyber/incidents/nouveau", EST_STAFF),
    _p("POST", "/cyber/incidents/nouveau", EST_A_STAFF, denied_for={"rssi_b": FORM_AGAIN},
       body={"finess": "{A}", "idempotency_key": "matrix-page-declaration",
             "title": "Rançongiciel sur le serveur de fichiers", "action": "save"},
       extra={"to": "/cyber/incidents/"}),
    _p("GET", INC_PAGE, INCIDENT_READERS, label="/cyber/incidents/{incident}", denied=404),
    _p("GET", INC_PAGE, EST_A_STAFF, label="/cyber/incidents/{draft}", denied=404),
    _p("GET", INC_PAGE + "/rapport/{obligation}", INCIDENT_READERS, denied=404,
       label="/cyber/incidents/{incident}/rapport/cnil"),
    _p("POST", INC_PAGE + "/action", AGENCY_AND_CELL, label="/cyber/incidents/{incident}/action",
       denied=404, denied_for=dict.fromkeys(EST_A_STAFF, REFUSED_ON_PAGE),
       body={"action": "note", "text": "L'ARS prévient le GHT."},
       extra={"to": "/cyber/incidents/{incident}"}),
    _p("POST", INC_PAGE + "/action", EST_A_STAFF, label="/cyber/incidents/{incident}/action (task)",
       denied=404, denied_for=dict.fromkeys(AGENCY_AND_CELL, REFUSED_ON_PAGE),
       body={"action": "task_done", "task_id": "{establishment_task}"},
       extra={"to": "/cyber/incidents/{incident}"}),
    # the security profile: read by A, its region and the cell; written by A
    _p("GET", "/cyber/profil/{finess}", INCIDENT_READERS, label="/cyber/profil/{A}"),
    _p("POST", "/cyber/profil/{finess}", EST_A_STAFF, label="/cyber/profil/{A}",
       body={"director": "Mme la Directrice", "nis2_in_scope": "on", "ref0_name": "RSSI A",
             "ref0_email": "rssi@chu-paris.test.esante.fr"},
       extra={"to": "/cyber/profil/{A}?ok=1"}),
    # lessons learned
    _p("GET", "/cyber/retours-experience", LESSON_READERS),
    _p("GET", "/cyber/retours-experience/nouveau", CELL),
    _p("POST", "/cyber/retours-experience/nouveau", CELL,
       body={"incident_id": "{closed_incident}", **LESSON_TEXT, "tags": "rançongiciel"},
       extra={"to": "/cyber/retours-experience/"}),
    _p("GET", LES_PAGE, LESSON_READERS, label="/cyber/retours-experience/{lesson}", denied=404),
    _p("GET", LES_PAGE, CELL, label="/cyber/retours-experience/{lesson_draft}", denied=404),
    _p("GET", LES_PAGE + "/modifier", CELL,
       label="/cyber/retours-experience/{lesson_draft}/modifier"),
    _p("POST", LES_PAGE + "/modifier", CELL,
       label="/cyber/retours-experience/{lesson_draft}/modifier",
       body={"action": "save", "version": "1", **LESSON_TEXT, "tags": "sauvegardes"},
       extra={"to": "/cyber/retours-experience/{lesson_draft}/modifier", "rewrites": True}),
    # mutual aid
    _p("GET", "/cyber/entraide", AID_BOARD),
    _p("GET", "/cyber/entraide/nouveau", EST_STAFF),
    _p("POST", "/cyber/entraide/nouveau", EST_A_STAFF, denied_for={"rssi_b": FORM_AGAIN},
       body={"finess": "{A}", "kind": "request", "topic": "workstations",
             "visibility": "territory", "title": "Besoin de postes", "description": "Urgent.",
             "contact": "Cellule de crise"},
       extra={"to": "/cyber/entraide/"}),
    _p("GET", AID_PAGE, AID_A_READERS, label="/cyber/entraide/{aid_a}", denied=404),
    _p("GET", AID_PAGE, AID_BOARD, label="/cyber/entraide/{aid_b}", denied=404),
    _p("POST", AID_PAGE + "/action", EST_A_STAFF | CELL, label="/cyber/entraide/{aid_a}/action",
       denied=404, denied_for={"regional": REFUSED_ON_PAGE},
       body={"action": "close", "note": "Postes reçus."},
       extra={"to": "/cyber/entraide/{aid_a}"}),
    _p("POST", AID_PAGE + "/action", AID_BOARD - {"regional"}, denied=404,
       label="/cyber/entraide/{aid_b_request}/action", denied_for={"regional": REFUSED_ON_PAGE},
       body={"action": "match", "other_id": "{aid_a_offer}"},
       extra={"to": "/cyber/entraide/{aid_b_request}"}),
    # the password test page and its range (page session): anyone logged in
    _p("GET", "/cyber/mots-de-passe", EVERYONE),
    _p("GET", "/cyber/mots-de-passe/plage/{prefix}", EVERYONE,
       label="/cyber/mots-de-passe/plage/5baa6"),
    # dashboards: the landing page sends each viewer to the widest dashboard they have
    _p("GET", DASH_PAGE, CYBER_BOARD, extra={"redirects": {
        "regional": DASH_PAGE + "/region/11",
        **dict.fromkeys(EST_A_STAFF, DASH_PAGE + "/etablissement/{A}"),
        "rssi_b": DASH_PAGE + "/etablissement/{B}"}}),
    _p("GET", DASH_PAGE + "/region/{code}", AGENCY_AND_CELL, label=DASH_PAGE + "/region/11"),
    _p("GET", DASH_PAGE + "/region/{code}", CELL, label=DASH_PAGE + "/region/84"),
    _p("GET", DASH_PAGE + "/etablissement/{finess}", INCIDENT_READERS,
       label=DASH_PAGE + "/etablissement/{A}"),
    _p("GET", DASH_PAGE + "/etablissement/{finess}", frozenset({"rssi_b", "analyst"}),
       label=DASH_PAGE + "/etablissement/{B}"),
]
ROLE_PAGES += domain_table("ROLE_PAGES")

# The FHIR API (its own domain): here, the guard that every route is listed and that none
# answers an anonymous caller but the CapabilityStatement; the per-persona rules (holder,
# care relationship, Consent, break-glass) are tested with the FHIR domain, tests/fhir/.
FHIR_PUBLIC = {("GET", "/fhir/metadata")}
FHIR_ROUTES: set[tuple[str, str]] = FHIR_PUBLIC | {
    ("POST", "/fhir"), ("GET", "/fhir/_history"), ("POST", "/fhir/Patient/{fid}/$break-glass"),
    ("GET", "/fhir/{rtype}"), ("POST", "/fhir/{rtype}/_search"), ("POST", "/fhir/{rtype}"),
    ("GET", "/fhir/{rtype}/_history"), ("GET", "/fhir/{rtype}/{fid}"),
    ("PUT", "/fhir/{rtype}/{fid}"), ("PATCH", "/fhir/{rtype}/{fid}"),
    ("DELETE", "/fhir/{rtype}/{fid}"), ("GET", "/fhir/{rtype}/{fid}/_history"),
    ("GET", "/fhir/{rtype}/{fid}/_history/{vid}"),
    # Bulk Data $export
    ("GET", "/fhir/$export"), ("GET", "/fhir/Patient/$export"), ("GET", "/fhir/Group/{gid}/$export"),
    ("GET", "/fhir/$export-status/{job_id}"), ("DELETE", "/fhir/$export-status/{job_id}"),
    ("GET", "/fhir/$export-file/{job_id}/{name}"),
}
# Routes of protocols with their own authentication, tested in their domain's tests.
OTHER_ROUTES: dict[tuple[str, str], str] = dict(domain_table("OTHER_ROUTES"))
DOMAIN_COUNTED: tuple[Any, ...] = tuple(domain_table("COUNTED"))


@pytest.mark.parametrize(("method", "path"), sorted(FHIR_ROUTES),
                         ids=[f"{m} {p}-anonymous" for m, p in sorted(FHIR_ROUTES)])
def test_fhir_routes_need_a_token(client, method, path):
    concrete = path.replace("{rtype}", "Patient").replace("{fid}", "x1").replace("{vid}", "1")
    concrete = re.sub(r"\{[^}]+\}", "x1", concrete)  # {gid}, {job_id}, {name}
    r = client.request(method, concrete, json={"resourceType": "Bundle"},
                       headers={"Accept": "application/fhir+json"})
    if (method, path) in FHIR_PUBLIC:
        assert r.status_code == 200
    else:
        assert r.status_code == 401, (method, path, r.text)


# A sample target under each mount.
MOUNT_SAMPLES = {"/static": "/static/js/swagger-init.js"}


def test_every_route_is_in_the_matrix(app):
    served = {(method, path) for method, path, _ in iter_routes(app)}
    assert len(served) > 30  # the walker did find the included routers
    api = {(c.method, c.route) for c in API_CASES}
    role_pages = {(c.method, c.route) for c in ROLE_PAGES}
    covered = api | set(PAGE_ROUTES) | role_pages | FHIR_ROUTES | set(OTHER_ROUTES)
    missing = served - covered
    assert not missing, f"routes without a line in the policy matrix: {sorted(missing)}"
    stale = covered - served
    assert not stale, f"lines of the policy matrix without a route: {sorted(stale)}"
    for one, other in ((api, set(PAGE_ROUTES)), (api, role_pages),
                       (role_pages, set(PAGE_ROUTES))):
        assert not one & other, one & other
    assert all(not r.startswith("/api") for _, r in role_pages)


def test_every_api_route_requires_a_token_unless_public(client):
    """Anonymous calls on every /api route (template filled with junk): 401, or public."""
    public = {(c.method, c.route) for c in API_CASES if c.public} | {
        (m, p) for (m, p), kind in PAGE_ROUTES.items() if kind == PUBLIC} | {
        (m, p) for (m, p), why in OTHER_ROUTES.items() if why.startswith("public")}
    for method, path, _ in iter_routes(client.app):
        if not path.startswith("/api") or (method, path) in public:
            continue
        concrete = re.sub(r"\{[^}]+\}", "1", path)
        r = client.request(method, concrete, json={})
        assert r.status_code == 401, (method, path, r.status_code)


def _page_params() -> list[Any]:
    params = []
    for (method, path), kind in PAGE_ROUTES.items():
        names = (*PERSONAS, ANONYMOUS) if kind in (LOGIN_PAGE, FORM) else (ANONYMOUS,)
        for name in names:
            verdict = "to-login" if name == ANONYMOUS and kind in (LOGIN_PAGE, FORM, FLOW) \
                else "allowed"
            params.append(pytest.param(method, path, kind, name,
                                       id=f"{method} {path}-{name}-{verdict}"))
    return params


def _csrf(html: str) -> str:
    from tests.core.test_auth import csrf_of

    return csrf_of(html)


@pytest.mark.parametrize(("method", "path", "kind", "name"), _page_params())
def test_page_policy(client, personas, db, method, path, kind, name):
    from tests.core.test_auth import login

    if kind == STATIC:
        r = client.get(MOUNT_SAMPLES[path])
        assert r.status_code == 200
        return
    if kind == PUBLIC:
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 200
        return
    if name != ANONYMOUS:
        login(client, personas, name)
    user = personas.users.get(name)
    concrete = path
    if "{token_id}" in path:
        owner = user or personas.users["citizen"]
        concrete = path.replace("{token_id}",
                                str(accounts.list_tokens(db, user=owner)[0].id))
    if method == "GET":
        r = client.get(concrete, follow_redirects=False)
        if name == ANONYMOUS:
            assert r.status_code == 303
            assert r.headers["location"].split("?")[0] == "/login"
        else:
            assert r.status_code == 200, r.text
            assert (user.display_name in r.text) if path != "/account/totp" else True
        return
    # POST: a form of a page the user has, with its CSRF token
    page = client.get("/login" if name == ANONYMOUS else "/account")
    data: dict[str, str] = {"csrf_token": _csrf(page.text), "code": "000000",
                            "email": "nobody@test.esante.fr", "password": "wrong-password-x"}
    if path == "/account/password":
        data |= {"current_password": PASSWORD, "new_password": NEW_PASSWORD,
                 "confirm_password": NEW_PASSWORD}
    if path == "/account/totp" and name != ANONYMOUS:
        setup = client.get("/account/totp")
        secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', setup.text).group(1)
        import pyotp

        sealed = re.search(r'name="sealed" value="([^"]+)"', setup.text).group(1)
        data |= {"csrf_token": _csrf(setup.text), "code": pyotp.TOTP(secret).now(),
                 "sealed": sealed}
    r = client.post(concrete, data=data, follow_redirects=False)
    if name == ANONYMOUS:
        if path == "/login":  # wrong credentials: the form again
            assert r.status_code == 401
        else:
            assert r.status_code == 303, r.text
            assert r.headers["location"].split("?")[0] == "/login"
        return
    expected = {
        "/account/password": (303, "/account?password=ok"),
        "/account/totp": (200, None),
        "/account/tokens": (200, None),
        "/account/tokens/{token_id}/revoke": (303, "/account"),
        "/notifications/read-all": (303, "/notifications"),
        "/logout": (303, "/login?bye=1"),
    }[path]
    assert r.status_code == expected[0], r.text
    if expected[1]:
        assert r.headers["location"] == expected[1]


def _role_page_params() -> list[Any]:
    params = []
    for case in ROLE_PAGES:
        for name in (*PERSONAS, ANONYMOUS):
            verdict = "to-login" if name == ANONYMOUS else "allowed" if name in case.allowed \
                else f"denied-{case.refusal(name)}"
            params.append(pytest.param(case, name,
                                       id=f"{case.method} {case.label}-{name}-{verdict}"))
    return params


def _sign_in(client: TestClient, db: Session, user: User | None) -> str:
    """A browser session opened through the service layer (the login forms themselves are
    run by test_page_policy and test_auth.py): signed in as ``user``, or anonymous.
    Returns the session's CSRF token, the one its pages carry."""
    from esante.web.deps import SESSION_COOKIE

    ws, raw = accounts.new_web_session(db)
    if user is not None:
        ws.user_id, ws.stage = user.id, "authenticated"
    db.flush()
    client.cookies.set(SESSION_COOKIE, raw)
    return ws.csrf_token


@pytest.mark.parametrize(("case", "name"), _role_page_params())
def test_role_page_policy(client, personas, db, case, name):
    as_name = name if name != ANONYMOUS else "citizen"
    targets = _Targets(personas, db)

    def resolve(label: str) -> str:
        return _resolve(label, as_name, personas, db, targets)

    path = resolve(case.target)
    data: dict[str, str] | None = None
    if case.method == "POST":
        body = _resolve_body(case.body or {}, as_name, personas, db, targets)
        data = {k: str(v) for k, v in body.items()}
    csrf = _sign_in(client, db, personas.users.get(name))
    if data is not None:
        data["csrf_token"] = csrf
    before = _counts(db)
    r = client.request(case.method, path, data=data, follow_redirects=False)
    location = r.headers.get("location", "")
    if name == ANONYMOUS:
        assert r.status_code == 303, r.text
        assert location.split("?")[0] == "/login"
        assert _counts(db) == before
        return
    if name in case.allowed:
        redirect = case.extra.get("redirects", {}).get(name)
        if redirect:
            assert r.status_code == 303, r.text
            assert location == resolve(redirect)
        elif case.method == "GET":
            assert r.status_code == 200, r.text
            if r.headers["content-type"].startswith("text/html"):  # not a data route
                assert personas.users[name].display_name in r.text
        else:
            assert r.status_code in case.ok, r.text
            assert location.startswith(resolve(case.extra["to"])), location
            assert "erreur" not in location, location
            assert case.extra.get("rewrites") or _counts(db) != before
        return
    expected = case.refusal(name)
    assert r.status_code == expected, r.text
    if expected == REFUSED_ON_PAGE:  # back to the page, which says why
        assert location.startswith(path.removesuffix("/action") + "?erreur="), location
    assert _counts(db) == before  # a refusal writes nothing
