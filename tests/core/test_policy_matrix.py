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
    public: bool = False  # anonymous allowed too
    body: dict[str, Any] | None = None
    ok: tuple[int, ...] = (200,)
    extra: dict[str, Any] = field(default_factory=dict)


def _c(method: str, route: str, allowed: frozenset[str], *, label: str | None = None,
       **kw: Any) -> Case:
    return Case(method, route, label or route, allowed, **kw)


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
    # public
    _c("GET", "/api/openapi.json", EVERYONE, public=True),
]


def _resolve(label: str, name: str, personas: Personas, db: Session) -> str:
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
    }
    for key, value in table.items():
        if key in label:
            label = label.replace(key, value())
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
                 for m in (AuditEvent, User, ApiToken, Establishment))


@pytest.mark.parametrize(("case", "name", "allowed"), _api_params())
def test_api_policy(client, personas, db, case, name, allowed):
    path = _resolve(case.label, name if name != ANONYMOUS else "citizen", personas, db)
    headers = personas.auth(name) if name != ANONYMOUS else {}
    before = _counts(db)
    kwargs: dict[str, Any] = {"headers": headers}
    if case.body is not None:
        kwargs["json"] = case.body
    r = client.request(case.method, path, **kwargs)
    if allowed:
        assert r.status_code in case.ok, r.text
        return
    expected = 401 if name == ANONYMOUS else case.denied
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
}


@pytest.mark.parametrize(("method", "path"), sorted(FHIR_ROUTES),
                         ids=[f"{m} {p}-anonymous" for m, p in sorted(FHIR_ROUTES)])
def test_fhir_routes_need_a_token(client, method, path):
    concrete = path.replace("{rtype}", "Patient").replace("{fid}", "x1").replace("{vid}", "1")
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
