"""Happy paths of every API endpoint, the OpenAPI description, Swagger UI and the security
headers."""

from __future__ import annotations

import re

from sqlalchemy import select

from esante.core.accounts.models import ApiToken, User
from esante.core.audit import AuditEvent
from esante.core.notifications import service as notifications
from esante.core.orgs.data import REGIONS
from tests.factories import PASSWORD, SPECS, finess

NEW_PASSWORD = "lavande-orage-cadran-piano-73"


def events(db, action: str) -> list[AuditEvent]:  # type: ignore[no-untyped-def]
    db.expire_all()
    return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action)
                           .order_by(AuditEvent.id)))


# --- me, tokens, password -----------------------------------------------------------------------

def test_me(client, personas):
    r = client.get("/api/me", headers=personas.auth("doctor"))
    assert r.status_code == 200
    body = r.json()
    assert body["email"] == "doctor@test.esante.fr"
    assert body["display_name"] == "Doctor"
    assert body["rpps"] and len(body["rpps"]) == 11
    assert body["totp_enabled"] is True and body["is_active"] is True
    assert body["roles"] == [{"role": "professional", "label": "Professionnel de santé",
                              "scope_kind": "establishment",
                              "scope_ref": personas.est["A"].finess}]
    assert "password" not in r.text and "totp_secret" not in r.text


def test_tokens_create_list_revoke(client, personas, db):
    auth = personas.auth("rssi_a")
    r = client.post("/api/tokens", headers=auth,
                    json={"name": "supervision", "scopes": ["read"], "days": 7})
    assert r.status_code == 201
    created = r.json()
    assert created["name"] == "supervision" and created["scopes"] == ["read"]
    assert created["token"].startswith(created["prefix"])
    days = (created["expires_at"][:10], created["created_at"][:10])
    assert days[0] > days[1]
    listing = client.get("/api/tokens", headers=auth).json()
    assert [t["name"] for t in listing] == ["api", "supervision"]
    assert all("token" not in t for t in listing)
    assert client.get("/api/me", headers={
        "Authorization": f"Bearer {created['token']}"}).status_code == 200
    r = client.delete(f"/api/tokens/{created['id']}", headers=auth)
    assert r.status_code == 204
    listing = client.get("/api/tokens", headers=auth).json()
    assert listing[1]["revoked_at"] is not None and listing[0]["revoked_at"] is None
    assert client.get("/api/me", headers={
        "Authorization": f"Bearer {created['token']}"}).status_code == 401
    assert [e.object_id for e in events(db, "token.revoke")] == [str(created["id"])]
    # Revoking twice is harmless and records nothing more.
    assert client.delete(f"/api/tokens/{created['id']}", headers=auth).status_code == 204
    assert len(events(db, "token.revoke")) == 1
    # last_used_at is kept.
    db.expire_all()
    assert db.get(ApiToken, created["id"]).last_used_at is not None


def test_change_password_via_api(client, personas, db):
    r = client.post("/api/me/password", headers=personas.auth("citizen"),
                    json={"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert r.status_code == 204
    db.expire_all()
    from esante.core.accounts.passwords import verify_password

    user = db.get(User, personas.users["citizen"].id)
    assert verify_password(user.password_hash, NEW_PASSWORD)
    assert not verify_password(user.password_hash, PASSWORD)


# --- users ------------------------------------------------------------------------------------------

def test_admin_creates_and_reads_users(client, personas, db):
    fin = personas.est["B"].finess
    r = client.post("/api/users", headers=personas.auth("admin"), json={
        "email": "  Nouvelle.RSSI@Test.Esante.FR ", "password": NEW_PASSWORD,
        "display_name": "Nouvelle RSSI",
        "roles": [{"role": "security_officer", "scope_kind": "establishment",
                   "scope_ref": fin}]})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["email"] == "nouvelle.rssi@test.esante.fr"
    assert body["totp_enabled"] is False
    assert body["roles"] == [{"role": "security_officer",
                              "label": "Responsable de la sécurité (RSSI)",
                              "scope_kind": "establishment", "scope_ref": fin}]
    r = client.get(f"/api/users/{body['id']}", headers=personas.auth("admin"))
    assert r.status_code == 200 and r.json() == body
    # The read of someone else's account is recorded, and the person sees it.
    reads = [e for e in events(db, "user.read") if e.object_id == str(body["id"])]
    assert len(reads) == 1 and reads[0].actor_id == personas.users["admin"].id
    assert {e.action for e in events(db, "user.create")} == {"user.create"}
    assert [e.details for e in events(db, "user.role.grant")
            if e.subject_user_id == body["id"]] == [
        {"role": "security_officer", "scope": f"establishment:{fin}"}]
    listing = client.get("/api/users?limit=500", headers=personas.auth("admin")).json()
    assert body["id"] in {u["id"] for u in listing}
    assert len(listing) == len(SPECS) + 1  # the personas and the new account
    page = client.get("/api/users?limit=2&offset=1", headers=personas.auth("admin")).json()
    assert [u["id"] for u in page] == [u["id"] for u in listing[1:3]]
    # A person reads their own account, unrecorded.
    own = personas.users["citizen"].id
    r = client.get(f"/api/users/{own}", headers=personas.auth("citizen"))
    assert r.status_code == 200 and r.json()["email"] == "citizen@test.esante.fr"
    assert not [e for e in events(db, "user.read") if e.object_id == str(own)]
    assert client.get("/api/users/999999", headers=personas.auth("admin")).status_code == 404


def test_my_audit_shows_who_read_my_data(client, personas):
    citizen = personas.users["citizen"]
    client.get(f"/api/users/{citizen.id}", headers=personas.auth("admin"))
    mine = client.get("/api/me/audit", headers=personas.auth("citizen")).json()
    assert mine[0]["action"] == "user.read"
    assert mine[0]["actor_label"] == "admin@test.esante.fr"
    others = client.get("/api/me/audit", headers=personas.auth("doctor")).json()
    assert all(e["action"] != "user.read" for e in others)


# --- regions and establishments -------------------------------------------------------------------

def test_regions(client, personas):
    r = client.get("/api/regions", headers=personas.auth("citizen"))
    assert r.status_code == 200
    regions = r.json()
    assert len(regions) == 18
    by_code = {x["code"]: x for x in regions}
    assert set(by_code) == set(REGIONS)
    assert by_code["11"] == {"code": "11", "name": "Île-de-France",
                             "agency_name": "ARS Île-de-France"}
    assert by_code["84"]["agency_name"] == "ARS Auvergne-Rhône-Alpes"
    assert all(x["agency_name"].startswith("ARS ") for x in regions)
    assert [x["name"] for x in regions] == sorted(x["name"] for x in regions)


def test_national_cell(client, personas):
    r = client.get("/api/national-cell", headers=personas.auth("outsider"))
    assert r.status_code == 200
    body = r.json()
    assert body["name"]
    assert body["analysts"] == 1  # the analyst persona


def test_establishments_search_filters_and_paging(client, personas):
    auth = personas.auth("doctor")
    everything = client.get("/api/establishments", headers=auth).json()
    assert everything["total"] == 3
    names = [e["name"] for e in everything["items"]]
    assert names == sorted(names)
    r = client.get("/api/establishments?region=11", headers=auth).json()
    assert r["total"] == 1 and r["items"][0]["finess"] == personas.est["A"].finess
    assert r["items"][0]["region_code"] == "11" and r["items"][0]["department"] == "75"
    r = client.get("/api/establishments?q=lyon", headers=auth).json()
    assert [e["finess"] for e in r["items"]] == [personas.est["B"].finess]
    r = client.get(f"/api/establishments?q={personas.est['C'].finess[:5]}", headers=auth).json()
    assert [e["finess"] for e in r["items"]] == [personas.est["C"].finess]
    assert client.get("/api/establishments?category=EHPAD", headers=auth).json()["total"] == 0
    assert client.get("/api/establishments?category=CH", headers=auth).json()["total"] == 3
    page1 = client.get("/api/establishments?limit=2&offset=0", headers=auth).json()
    page2 = client.get("/api/establishments?limit=2&offset=2", headers=auth).json()
    assert page1["total"] == page2["total"] == 3
    assert len(page1["items"]) == 2 and len(page2["items"]) == 1
    assert [e["name"] for e in page1["items"] + page2["items"]] == names
    r = client.get("/api/establishments?region=84&q=paris", headers=auth).json()
    assert r == {"total": 0, "items": []}


def test_establishment_create_get_patch(client, personas, db):
    fin = finess("69000077")
    body = {"finess": fin, "name": "Clinique du Rhône", "category": "CH", "department": "69",
            "town": "Villeurbanne", "ght": "GHT Rhône Centre"}
    r = client.post("/api/establishments", json=body, headers=personas.auth("admin"))
    assert r.status_code == 201, r.text
    created = r.json()
    assert created == {"finess": fin, "name": "Clinique du Rhône", "category": "CH",
                       "region_code": "84", "department": "69", "town": "Villeurbanne",
                       "ght": "GHT Rhône Centre"}
    r = client.get(f"/api/establishments/{fin}", headers=personas.auth("citizen"))
    assert r.status_code == 200 and r.json() == created
    r = client.patch(f"/api/establishments/{fin}", json={"town": "Lyon", "ght": None},
                     headers=personas.auth("admin"))
    assert r.status_code == 200
    assert r.json()["town"] == "Lyon" and r.json()["ght"] is None
    assert r.json()["name"] == "Clinique du Rhône"  # untouched
    assert client.get(f"/api/establishments/{fin}",
                      headers=personas.auth("admin")).json()["town"] == "Lyon"
    assert [e.object_id for e in events(db, "establishment.create")][-1] == fin
    update = events(db, "establishment.update")[-1]
    assert update.details == {"fields": ["ght_name", "town"]}
    unknown = finess("69000078")
    assert client.get(f"/api/establishments/{unknown}",
                      headers=personas.auth("admin")).status_code == 404


def test_director_patches_own_establishment(client, personas):
    fin = personas.est["A"].finess
    r = client.patch(f"/api/establishments/{fin}", json={"name": "CHU de Paris-Centre"},
                     headers=personas.auth("director_a"))
    assert r.status_code == 200
    assert r.json()["name"] == "CHU de Paris-Centre"


def test_staff(client, personas, db):
    fin = personas.est["A"].finess
    r = client.get(f"/api/establishments/{fin}/staff", headers=personas.auth("regional"))
    assert r.status_code == 200
    staff = r.json()
    # Everyone with an establishment-scoped role at A, by name.
    assert [(m["display_name"], m["role"]) for m in staff] == [
        ("Clerk_A", "identity_clerk"), ("Director_A", "director"), ("Doctor", "professional"),
        ("Idv_A", "identity_vigilance"), ("Rssi_A", "security_officer")]
    assert {m["email"] for m in staff} == {f"{n}@test.esante.fr" for n in (
        "clerk_a", "director_a", "doctor", "idv_a", "rssi_a")}
    reads = [e for e in events(db, "user.read")
             if e.details.get("via") == f"establishment:{fin}:staff"]
    assert {e.subject_user_id for e in reads} == {m["user_id"] for m in staff}
    assert all(e.actor_id == personas.users["regional"].id for e in reads)


# --- notifications ---------------------------------------------------------------------------------

def test_notifications_list_and_mark_read(client, personas, db):
    user = personas.users["rssi_a"]
    first = notifications.notify(db, user=user, title="Première", email=False)
    second = notifications.notify(db, user=user, title="Seconde", level="alert",
                                  link="/organisations", email=False)
    notifications.notify(db, user=personas.users["rssi_b"], title="Pas pour moi", email=False)
    db.flush()
    auth = personas.auth("rssi_a")
    items = client.get("/api/notifications", headers=auth).json()
    assert [n["title"] for n in items] == ["Seconde", "Première"]
    assert items[0]["level"] == "alert" and items[0]["link"] == "/organisations"
    r = client.post(f"/api/notifications/{first.id}/read", headers=auth)
    assert r.status_code == 200 and r.json()["read_at"] is not None
    unread = client.get("/api/notifications?unread=true", headers=auth).json()
    assert [n["id"] for n in unread] == [second.id]
    # Someone else's notification does not exist for me.
    other = client.post(f"/api/notifications/{first.id}/read", headers=personas.auth("rssi_b"))
    assert other.status_code == 404


def test_notification_send_to_a_role(client, personas, db):
    r = client.post("/api/notifications", headers=personas.auth("analyst"), json={
        "role": "security_officer", "scope_kind": "establishment",
        "scope_ref": personas.est["B"].finess, "title": "Vulnérabilité critique",
        "body": "Mettez à jour.", "level": "alert", "link": "/organisations"})
    assert r.status_code == 201 and r.json() == {"recipients": 1}
    got = client.get("/api/notifications", headers=personas.auth("rssi_b")).json()
    assert [n["title"] for n in got] == ["Vulnérabilité critique"]
    assert client.get("/api/notifications", headers=personas.auth("rssi_a")).json() == []
    r = client.post("/api/notifications", headers=personas.auth("admin"),
                    json={"role": "security_officer", "title": "À tous les RSSI"})
    assert r.json() == {"recipients": 2}
    assert events(db, "notification.send")[-1].details == {"recipients": 2}


# --- audit -----------------------------------------------------------------------------------------

def test_audit_list_and_verify(client, personas):
    auth = personas.auth("admin")
    client.get(f"/api/users/{personas.users['citizen'].id}", headers=auth)
    r = client.get("/api/audit?limit=5", headers=auth)
    assert r.status_code == 200
    items = r.json()
    assert len(items) == 5
    assert items[0]["action"] == "user.read"
    ids = [e["id"] for e in items]
    assert ids == sorted(ids, reverse=True)
    older = client.get(f"/api/audit?before_id={ids[-1]}&limit=2", headers=auth).json()
    assert all(e["id"] < ids[-1] for e in older) and len(older) == 2
    creates = client.get("/api/audit?action=user.create&limit=1000", headers=auth).json()
    assert len(creates) == len(SPECS) and {e["action"] for e in creates} == {"user.create"}
    r = client.get("/api/audit/verify", headers=auth)
    assert r.status_code == 200
    report = r.json()
    assert report["ok"] is True and report["first_bad_id"] is None
    assert report["checked"] >= len(creates)


def test_audit_verify_reports_tampering(client, personas, db):
    assert client.get("/api/audit/verify", headers=personas.auth("admin")).json()["ok"]
    db.expire_all()  # the verification sealed every record: now alter a sealed one
    ev = db.scalars(select(AuditEvent).where(AuditEvent.seq.is_not(None))
                    .order_by(AuditEvent.id.desc())).first()
    ev.object_id = "forged"
    db.flush()
    report = client.get("/api/audit/verify", headers=personas.auth("admin")).json()
    assert report["ok"] is False and report["first_bad_id"] == ev.id


# --- platform ----------------------------------------------------------------------------------------

def test_health_reports_database(client):
    r = client.get("/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok" and body["database"] == "ok" and body["version"]


def test_health_reports_unreachable_database(app, client):
    def broken():  # type: ignore[no-untyped-def]
        raise OSError("database down")

    app.state.session_factory = broken
    r = client.get("/health")
    assert r.status_code == 503
    assert r.json()["database"] == "unreachable"


def test_openapi_lists_the_api_routes(client):
    from tests.core.test_policy_matrix import iter_routes

    r = client.get("/api/openapi.json")
    assert r.status_code == 200
    spec = r.json()
    documented = {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops}
    served = {(m, p) for m, p, route in iter_routes(client.app)
              if p.startswith("/api") and getattr(route, "include_in_schema", False)}
    assert ("GET", "/api/establishments/{finess}/staff") in documented
    assert served <= documented
    assert ("GET", "/health") in documented
    assert not any(p.startswith(("/login", "/account")) for _, p in documented)
    assert "Bearer" in spec["info"]["description"]


def test_swagger_ui_without_inline_script(client):
    r = client.get("/api/docs")
    assert r.status_code == 200
    html = r.text
    assert 'id="swagger-ui"' in html and "/api/openapi.json" in html
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert scripts
    for attrs, inline in scripts:
        assert 'src="' in attrs and not inline.strip()
    assert not re.search(r"\son[a-z]+=", html)  # no inline event handler either
    for src in re.findall(r'<script[^>]*src="([^"]+)"', html) + \
            re.findall(r'<link[^>]*href="([^"]+)"', html):
        asset = client.get(src)
        assert asset.status_code == 200, src
        assert len(asset.content) > 100, src
    assert "'unsafe-inline'" not in r.headers["content-security-policy"]


# --- security headers --------------------------------------------------------------------------------

def _check_headers(r) -> None:  # type: ignore[no-untyped-def]
    csp = r.headers["content-security-policy"]
    directives = {d.strip().split()[0]: d.strip().split()[1:] for d in csp.split(";")
                  if d.strip()}
    script = directives.get("script-src", directives.get("default-src"))
    assert script is not None and "'unsafe-inline'" not in script
    assert "'unsafe-eval'" not in script
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["object-src"] == ["'none'"]
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] in ("same-origin", "no-referrer",
                                            "strict-origin-when-cross-origin")
    assert r.headers["x-frame-options"] == "DENY"


def test_security_headers_on_a_page(client, personas):
    from tests.core.test_auth import login

    _check_headers(client.get("/login"))
    login(client, personas, "citizen")
    r = client.get("/account")
    _check_headers(r)
    assert r.headers["cache-control"] == "no-store"


def test_security_headers_on_api_answers(client, personas):
    ok = client.get("/api/me", headers=personas.auth("citizen"))
    _check_headers(ok)
    assert ok.headers["cache-control"] == "no-store"
    _check_headers(client.get("/api/me"))  # errors too
    _check_headers(client.get("/health"))


def test_no_inline_script_in_pages(client, personas):
    from tests.core.test_auth import login

    login(client, personas, "admin")
    for path in ("/", "/account", "/notifications", "/organisations", "/login?x=1"):
        html = client.get(path).text
        for attrs, inline in re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S):
            assert 'src="' in attrs and not inline.strip(), path
        assert not re.search(r"\son(click|load|submit|change)=", html), path
