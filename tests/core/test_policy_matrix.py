"""The access-policy matrix: every route of the app, every persona, allowed or denied.

The tables below are the intended policy, written out by hand from ``core.policy`` and the
architecture's security model; ``test_every_route_is_in_the_matrix`` fails as soon as a
route is added (or removed) without its line here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.routing import Mount

from esante.core.accounts import service as accounts
from esante.core.accounts.models import ApiToken, User
from esante.core.audit import AuditEvent
from esante.core.notifications import service as notifications
from esante.core.orgs.models import Establishment
from esante.core.policy import Principal
from esante.cyber.incidents import service as incidents
from esante.cyber.incidents.models import Incident, IncidentEvent
from esante.cyber.incidents.schemas import IncidentFields
from tests.cyber.conftest import declaration
from tests.factories import PASSWORD, SPECS, Personas, finess

PERSONAS = tuple(SPECS)  # citizen, doctor, ..., admin, outsider
ANONYMOUS = "anonymous"
EVERYONE = frozenset(PERSONAS)
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


@dataclass(frozen=True)
class Case:
    method: str
    route: str  # the path template as the app declares it
    label: str  # the concrete target shown in the test id; {X} resolved per test
    allowed: frozenset[str]
    denied: int = 403  # answer to a logged-in persona outside ``allowed``
    denied_for: dict[str, int] = field(default_factory=dict)  # per-persona exceptions
    public: bool = False  # anonymous allowed too
    body: dict[str, Any] | None = None
    ok: tuple[int, ...] = (200,)
    extra: dict[str, Any] = field(default_factory=dict)  # files: a multipart upload

    def refusal(self, name: str) -> int:
        return self.denied_for.get(name, self.denied)


def _c(method: str, route: str, allowed: frozenset[str], *, label: str | None = None,
       **kw: Any) -> Case:
    return Case(method, route, label or route, allowed, **kw)


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
    # public
    _c("GET", "/api/openapi.json", EVERYONE, public=True),
]


class _Targets:
    """The objects a test's placeholders name, created once per test (an info request and
    the answer to it must be on the same incident)."""

    def __init__(self, personas: Personas, db: Session) -> None:
        self.personas, self.db = personas, db
        self._made: dict[str, Any] = {}

    def _once(self, key: str, make: Any) -> Any:
        if key not in self._made:
            self._made[key] = make()
        return self._made[key]

    def principal(self, who: str) -> Principal:
        return Principal.of(self.personas.users[who])

    def incident(self, *, submit: bool = True) -> Incident:
        def make() -> Incident:
            body = declaration(self.personas.est["A"].finess, submit=submit)
            fields = IncidentFields.model_validate(
                {k: v for k, v in body.items() if k not in ("finess", "idempotency_key",
                                                            "submit")})
            incident, _ = incidents.save_declaration(
                self.db, self.principal("rssi_a"), finess=body["finess"],
                idempotency_key=body["idempotency_key"], fields=fields, submit=submit)
            assert incident.status == ("declared" if submit else "draft")
            return incident

        return self._once("incident" if submit else "draft", make)  # type: ignore[no-any-return]

    def info_request(self) -> int:
        return self._once("info_request", lambda: incidents.request_info(
            self.db, self.principal("analyst"), self.incident(), "Quel prestataire ?").id)

    def task(self, owner: str) -> int:
        return self._once(f"task-{owner}", lambda: incidents.add_task(
            self.db, self.principal("analyst"), self.incident(), "Une tâche", owner).id)

    def attachment(self) -> int:
        return self._once("attachment", lambda: incidents.add_attachment(
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

    return {
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
    }


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
                 for m in (AuditEvent, User, ApiToken, Establishment, Incident, IncidentEvent))


@pytest.mark.parametrize(("case", "name", "allowed"), _api_params())
def test_api_policy(client, personas, db, case, name, allowed):
    as_name = name if name != ANONYMOUS else "citizen"
    targets = _Targets(personas, db)
    path = _resolve(case.label, as_name, personas, db, targets)
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
    covered = {(c.method, c.route) for c in API_CASES} | set(PAGE_ROUTES) | FHIR_ROUTES
    missing = served - covered
    assert not missing, f"routes without a line in the policy matrix: {sorted(missing)}"
    stale = covered - served
    assert not stale, f"lines of the policy matrix without a route: {sorted(stale)}"
    overlap = {(c.method, c.route) for c in API_CASES} & set(PAGE_ROUTES)
    assert not overlap, overlap


def test_every_api_route_requires_a_token_unless_public(client):
    """Anonymous calls on every /api route (template filled with junk): 401, or public."""
    public = {(c.method, c.route) for c in API_CASES if c.public} | {
        (m, p) for (m, p), kind in PAGE_ROUTES.items() if kind == PUBLIC}
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
