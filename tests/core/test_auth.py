"""The authentication flow through the real pages and API: password then TOTP, enrolment,
recovery codes, lockout, session cookie, CSRF, password policy, API tokens, audit, logs."""

from __future__ import annotations

import hashlib
import logging
import re
from datetime import timedelta

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from esante.core.accounts import service as accounts
from esante.core.accounts.models import ApiToken, RecoveryCode, User, WebSession
from esante.core.audit import Actor, AuditEvent
from esante.core.db import utcnow
from esante.core.settings import get_settings
from esante.web.app import create_app
from esante.web.deps import SESSION_COOKIE
from tests.factories import PASSWORD, Personas

NEW_PASSWORD = "lavande-orage-cadran-piano-73"


# --- helpers (also used by the policy matrix) -----------------------------------------------

def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "no CSRF token in the page"
    return m.group(1)


def email_of(name: str) -> str:
    return f"{name}@test.esante.fr"


def post_password(client: TestClient, email: str, password: str = PASSWORD, next_: str = "/"):  # type: ignore[no-untyped-def]
    page = client.get("/login")
    assert page.status_code == 200
    return client.post("/login", data={"csrf_token": csrf_of(page.text), "email": email,
                                       "password": password, "next": next_},
                       follow_redirects=False)


def post_otp(client: TestClient, code: str, next_: str = "/"):  # type: ignore[no-untyped-def]
    page = client.get(f"/login/otp?next={next_}")
    assert page.status_code == 200, "not at the second-factor step"
    return client.post("/login/otp", data={"csrf_token": csrf_of(page.text), "code": code,
                                           "next": next_}, follow_redirects=False)


def login(client: TestClient, personas: Personas, name: str) -> None:
    """Log a persona in through the real forms (password, then TOTP when it has one)."""
    r = post_password(client, email_of(name))
    assert r.status_code == 303, r.text
    if name in personas.totp:
        assert r.headers["location"].startswith("/login/otp")
        r = post_otp(client, personas.otp(name))
        assert r.status_code == 303, r.text
    assert r.headers["location"] == "/"
    assert client.get("/account").status_code == 200


def session_cookie(client: TestClient) -> str | None:
    return client.cookies.get(SESSION_COOKIE)


def count(db: Session, model: type, *where) -> int:  # type: ignore[no-untyped-def]
    return db.scalar(select(func.count()).select_from(model).where(*where)) or 0


def audit_actions(db: Session, user_id: int) -> list[tuple[str, str]]:
    rows = db.execute(select(AuditEvent.action, AuditEvent.outcome).where(
        AuditEvent.subject_user_id == user_id).order_by(AuditEvent.id)).all()
    return [(a, o) for a, o in rows]


def other_code(code: str) -> str:
    return f"{(int(code) + 500_000) % 1_000_000:06d}"


# --- login --------------------------------------------------------------------------------------

def test_professional_logs_in_with_password_then_totp(client, personas):
    r = post_password(client, email_of("doctor"), next_="/organisations")
    assert r.status_code == 303
    assert r.headers["location"] == "/login/otp?next=/organisations"
    # Half-logged in: no page yet.
    r = client.get("/account", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    r = post_otp(client, personas.otp("doctor"), next_="/organisations")
    assert r.status_code == 303 and r.headers["location"] == "/organisations"
    page = client.get("/account")
    assert page.status_code == 200
    assert "doctor@test.esante.fr" in page.text


def test_citizen_without_totp_lands_directly(client, personas):
    r = post_password(client, email_of("citizen"))
    assert r.status_code == 303
    assert r.headers["location"] == "/"
    assert client.get("/", follow_redirects=False).status_code == 200


def test_wrong_password_refused_with_generic_french_message(client, personas, db):
    r = post_password(client, email_of("doctor"), "not-the-password-at-all")
    assert r.status_code == 401
    assert "identifiant ou mot de passe incorrect" in r.text
    r2 = post_password(client, "nobody@test.esante.fr", "not-the-password-at-all")
    assert r2.status_code == 401
    assert "identifiant ou mot de passe incorrect" in r2.text
    assert client.get("/account", follow_redirects=False).status_code == 303


def test_open_redirect_refused(client, personas):
    r = post_password(client, email_of("citizen"), next_="//evil.example/")
    assert r.status_code == 303 and r.headers["location"] == "/"


def _pro_without_totp(db: Session, personas: Personas) -> User:
    actor = Actor.system("tests")
    user = accounts.create_user(db, actor=actor, email="newpro@test.esante.fr",
                                password=PASSWORD, display_name="Nouvelle RSSI")
    accounts.grant_role(db, actor=actor, user=user, role="security_officer",
                        scope_kind="establishment", scope_ref=personas.est["A"].finess)
    db.flush()
    return user


def test_role_needing_totp_is_sent_to_enrolment(client, personas, db):
    user = _pro_without_totp(db, personas)
    r = post_password(client, user.email)
    assert r.status_code == 303 and r.headers["location"] == "/login/enrol"
    # Not logged in yet: pages and the OTP step are closed.
    assert client.get("/account", follow_redirects=False).status_code == 303
    assert client.get("/login/otp", follow_redirects=False).headers["location"] == "/login"
    page = client.get("/login/enrol")
    assert page.status_code == 200
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page.text).group(1)
    token = csrf_of(page.text)
    # A wrong code is refused and the user stays outside.
    code = pyotp.TOTP(secret).now()
    r = client.post("/login/enrol", data={"csrf_token": token, "code": other_code(code)})
    assert r.status_code == 422
    assert "code incorrect" in r.text
    assert client.get("/account", follow_redirects=False).status_code == 303
    # The right code confirms, shows recovery codes, and logs in.
    before = session_cookie(client)
    r = client.post("/login/enrol", data={"csrf_token": token, "code": code})
    assert r.status_code == 200, r.text
    codes = re.findall(r"<li><code>([0-9A-F]{10})</code></li>", r.text)
    assert len(codes) == 10
    assert session_cookie(client) != before
    assert client.get("/account").status_code == 200
    db.expire_all()
    assert db.get(User, user.id).totp_confirmed is True
    assert count(db, RecoveryCode, RecoveryCode.user_id == user.id) == 10
    assert ("user.totp.enable", "success") in audit_actions(db, user.id)


def _totp_setup_page(client: TestClient) -> tuple[str, str, str]:
    page = client.get("/account/totp")
    assert page.status_code == 200
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page.text).group(1)
    sealed = re.search(r'name="sealed" value="([^"]+)"', page.text).group(1)
    return secret, sealed, csrf_of(page.text)


def test_opening_totp_setup_does_not_disable_second_factor(client, personas, db):
    """A GET (reachable by a cross-site link) must not leave the account without its
    second factor, nor let the next login enrol a new one with the password alone."""
    login(client, personas, "rssi_a")
    user = personas.users["rssi_a"]
    _totp_setup_page(client)
    db.expire_all()
    assert db.get(User, user.id).totp_confirmed is True
    page = client.get("/account")
    client.post("/logout", data={"csrf_token": csrf_of(page.text)})
    r = post_password(client, user.email)
    assert r.headers["location"].startswith("/login/otp")  # not /login/enrol
    assert post_otp(client, personas.otp("rssi_a")).status_code == 303


def test_change_totp_device(client, personas, db):
    login(client, personas, "citizen")  # a citizen may opt in
    secret, sealed, token = _totp_setup_page(client)
    code = pyotp.TOTP(secret).now()
    # A wrong code or a tampered setup is refused; nothing changes.
    r = client.post("/account/totp", data={"csrf_token": token, "code": other_code(code),
                                           "sealed": sealed})
    assert r.status_code == 422 and "code incorrect" in r.text
    r = client.post("/account/totp", data={"csrf_token": token, "code": code,
                                           "sealed": sealed[:-8] + "AAAAAAA="},
                    follow_redirects=False)
    assert r.status_code in (303, 422)
    # Another user's sealed setup does not fit this account.
    _, foreign = accounts.seal_totp_setup(db, user=personas.users["doctor"])
    r = client.post("/account/totp", data={"csrf_token": token, "code": code,
                                           "sealed": foreign}, follow_redirects=False)
    assert r.status_code in (303, 422)
    db.expire_all()
    assert db.get(User, personas.users["citizen"].id).totp_confirmed is False
    r = client.post("/account/totp", data={"csrf_token": token, "code": code,
                                           "sealed": sealed})
    assert r.status_code == 200
    assert len(re.findall(r"<li><code>([0-9A-F]{10})</code></li>", r.text)) == 10
    # From now on the citizen's login asks for this device's code.
    page = client.get("/account")
    client.post("/logout", data={"csrf_token": csrf_of(page.text)})
    r = post_password(client, email_of("citizen"))
    assert r.headers["location"].startswith("/login/otp")
    assert post_otp(client, pyotp.TOTP(secret).now()).status_code == 303


def test_recovery_code_works_once_and_only_once(client, personas, db):
    user = personas.users["rssi_a"]
    codes = accounts.new_recovery_codes(db, user=user)
    db.flush()
    assert post_password(client, user.email).status_code == 303
    r = post_otp(client, codes[3].lower())  # case does not matter
    assert r.status_code == 303 and r.headers["location"] == "/"
    assert client.get("/account").status_code == 200
    page = client.get("/account")
    assert client.post("/logout", data={"csrf_token": csrf_of(page.text)},
                       follow_redirects=False).status_code == 303
    assert post_password(client, user.email).status_code == 303
    r = post_otp(client, codes[3])
    assert r.status_code == 401
    assert "code de vérification incorrect" in r.text
    assert client.get("/account", follow_redirects=False).status_code == 303
    # Another unused code still works.
    r = post_otp(client, codes[4])
    assert r.status_code == 303


def test_wrong_totp_refused(client, personas, db):
    user = personas.users["rssi_b"]
    assert post_password(client, user.email).status_code == 303
    r = post_otp(client, other_code(personas.otp("rssi_b")))
    assert r.status_code == 401
    assert "code de vérification incorrect" in r.text
    assert client.get("/account", follow_redirects=False).status_code == 303
    db.expire_all()
    assert db.get(User, user.id).failed_logins == 1
    assert ("auth.login.failure", "failure") in audit_actions(db, user.id)


def test_lockout_after_repeated_failures(client, personas, db):
    limit = get_settings().login_max_failures
    user = personas.users["director_a"]
    for _ in range(limit - 1):
        assert post_password(client, user.email, "wrong-password-xyz").status_code == 401
    r = post_password(client, user.email, "wrong-password-xyz")
    assert r.status_code in (401, 429)
    # Locked: even the right password is refused, with a French message.
    r = post_password(client, user.email, PASSWORD)
    assert r.status_code == 429
    assert "compte verrouillé temporairement" in r.text
    assert client.get("/account", follow_redirects=False).status_code == 303
    db.expire_all()
    locked = db.get(User, user.id).locked_until
    assert locked is not None
    minutes = get_settings().login_lockout_minutes
    assert timedelta(minutes=minutes - 1) < locked - utcnow() <= timedelta(minutes=minutes)
    failures = [a for a in audit_actions(db, user.id) if a == ("auth.login.failure", "failure")]
    assert len(failures) == limit
    # Once the lock expires, the right password works again.
    db.get(User, user.id).locked_until = utcnow() - timedelta(seconds=1)
    db.flush()
    r = post_password(client, user.email, PASSWORD)
    assert r.status_code == 303 and r.headers["location"].startswith("/login/otp")


def test_lockout_also_counts_wrong_second_factors(client, personas, db):
    limit = get_settings().login_max_failures
    user = personas.users["analyst"]
    assert post_password(client, user.email).status_code == 303
    wrong = other_code(personas.otp("analyst"))
    for _ in range(limit):
        assert post_otp(client, wrong).status_code == 401
    r = post_otp(client, personas.otp("analyst"))
    assert r.status_code == 429
    assert "verrouillé" in r.text
    assert client.get("/account", follow_redirects=False).status_code == 303


# --- session cookie ------------------------------------------------------------------------------

def test_session_cookie_is_secure_httponly_samesite(client, personas):
    r = post_password(client, email_of("citizen"))
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    flags = {part.strip().split("=")[0].lower(): part.strip() for part in cookie.split(";")}
    assert "secure" in flags
    assert "httponly" in flags
    assert flags["samesite"].lower() in ("samesite=lax", "samesite=strict")


def test_session_id_rotated_at_login(client, personas, db):
    client.get("/login")
    anonymous = session_cookie(client)
    assert anonymous
    r = post_password(client, email_of("doctor"))
    after_password = session_cookie(client)
    assert after_password and after_password != anonymous
    r = post_otp(client, personas.otp("doctor"))
    assert r.status_code == 303
    after_otp = session_cookie(client)
    assert after_otp and after_otp not in (anonymous, after_password)
    # The former ids are dead on the server: replaying one gives no session.
    for old in (anonymous, after_password):
        assert db.get(WebSession, hashlib.sha256(old.encode()).hexdigest()) is None
    # The cookie holds a random value, the database only its digest.
    ws = db.get(WebSession, hashlib.sha256(after_otp.encode()).hexdigest())
    assert ws is not None and ws.stage == "authenticated"
    assert db.get(WebSession, after_otp) is None


def test_logout_invalidates_session_server_side(client, personas, db):
    login(client, personas, "rssi_a")
    raw = session_cookie(client)
    digest = hashlib.sha256(raw.encode()).hexdigest()
    assert db.get(WebSession, digest) is not None
    page = client.get("/account")
    r = client.post("/logout", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    db.expire_all()
    assert db.get(WebSession, digest) is None
    # Replaying the old cookie does not bring the session back.
    with TestClient(client.app, base_url="https://testserver",
                    cookies={SESSION_COOKIE: raw}) as replay:
        r = replay.get("/account", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert ("auth.logout", "success") in audit_actions(db, personas.users["rssi_a"].id)


# --- CSRF on every form --------------------------------------------------------------------------

def _form_posts() -> list[str]:
    from sqlalchemy.orm import sessionmaker

    from tests.core.test_policy_matrix import iter_routes

    app = create_app(get_settings(), factory=sessionmaker())
    return sorted(path for method, path, _ in iter_routes(app)
                  if method == "POST" and not path.startswith(("/api", "/fhir"))
                  and path not in OAUTH_BACK_CHANNEL)


# Called by apps, never by a browser form: the client authenticates itself (secret, PKCE
# verifier, signed assertion) and no session cookie counts there (tests/apps).
OAUTH_BACK_CHANNEL = {"/oauth/token", "/oauth/introspect", "/oauth/revoke"}


FORM_DATA = {
    "email": email_of("citizen"), "password": PASSWORD, "code": "123456", "next": "/",
    "current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD,
    "name": "csrf", "write": "true",
}


@pytest.mark.parametrize("path", _form_posts())
@pytest.mark.parametrize("token", ["missing", "wrong"])
def test_form_post_without_csrf_token_refused(client, personas, db, path, token):
    login(client, personas, "citizen")
    citizen = personas.users["citizen"]
    own_token = accounts.list_tokens(db, user=citizen)[0]
    concrete = path.replace("{token_id}", str(own_token.id))

    def snapshot() -> tuple:
        db.expire_all()
        return (count(db, AuditEvent), count(db, ApiToken), count(db, WebSession),
                db.get(User, citizen.id).password_hash, db.get(ApiToken, own_token.id).revoked_at,
                db.scalar(text("SELECT count(*) FROM notifications WHERE read_at IS NULL")))

    before = snapshot()
    cookie = session_cookie(client)
    data = dict(FORM_DATA)
    if token == "wrong":
        data["csrf_token"] = "x" * 43
    r = client.post(concrete, data=data, follow_redirects=False)
    assert r.status_code == 403, (path, r.status_code)
    assert "formulaire expiré ou invalide" in r.text
    assert snapshot() == before
    assert session_cookie(client) == cookie
    assert client.get("/account").status_code == 200  # still logged in


@pytest.mark.parametrize("path", sorted(OAUTH_BACK_CHANNEL))
def test_oauth_back_channel_ignores_the_session_cookie(client, personas, db, path):
    """A signed-in browser posting there is no client: refused with the OAuth error,
    nothing changed."""
    login(client, personas, "citizen")
    before = (count(db, AuditEvent), count(db, ApiToken))
    r = client.post(path, data={**FORM_DATA, "grant_type": "refresh_token", "token": "x"},
                    follow_redirects=False)
    assert r.status_code in (400, 401), (path, r.status_code, r.text)
    assert r.json()["error"] in ("invalid_client", "invalid_request", "unsupported_grant_type")
    db.expire_all()
    assert (count(db, AuditEvent), count(db, ApiToken)) == before


# --- password change -----------------------------------------------------------------------------

@pytest.mark.parametrize(("new", "message"), [
    ("Court-1!", "trop court"),
    ("qwerty123456", "parmi les plus courants"),
    ("aaaaaaaaaaaaaaaa", "trop facile à deviner"),
    ("citizen@test.esante.fr", "trop facile à deviner"),
])
def test_change_password_policy(client, personas, db, new, message):
    login(client, personas, "citizen")
    user = personas.users["citizen"]
    old_hash = user.password_hash
    page = client.get("/account")
    r = client.post("/account/password", data={
        "csrf_token": csrf_of(page.text), "current_password": PASSWORD,
        "new_password": new, "confirm_password": new}, follow_redirects=False)
    assert r.status_code == 422
    assert message in r.text
    db.expire_all()
    assert db.get(User, user.id).password_hash == old_hash
    # Through the API too, with problem+json in French.
    r = client.post("/api/me/password", headers=personas.auth("citizen"),
                    json={"current_password": PASSWORD, "new_password": new})
    assert r.status_code == 422
    assert message in r.json()["detail"]
    db.expire_all()
    assert db.get(User, user.id).password_hash == old_hash


def test_change_password_ends_other_sessions(client, personas, db, app):
    login(client, personas, "doctor")
    with TestClient(app, base_url="https://testserver") as other:
        login(other, personas, "doctor")
        page = client.get("/account")
        r = client.post("/account/password", data={
            "csrf_token": csrf_of(page.text), "current_password": PASSWORD,
            "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD},
            follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/account?password=ok"
        assert client.get("/account").status_code == 200  # this browser stays in
        assert other.get("/account", follow_redirects=False).status_code == 303
    client.cookies.clear()
    assert post_password(client, email_of("doctor"), PASSWORD).status_code == 401
    assert post_password(client, email_of("doctor"), NEW_PASSWORD).status_code == 303
    assert ("user.password.change", "success") in audit_actions(db, personas.users["doctor"].id)


def test_change_password_wrong_current(client, personas, db):
    login(client, personas, "citizen")
    page = client.get("/account")
    r = client.post("/account/password", data={
        "csrf_token": csrf_of(page.text), "current_password": "not-my-password-xx",
        "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD})
    assert r.status_code == 422
    assert "mot de passe actuel incorrect" in r.text


# --- API tokens ------------------------------------------------------------------------------------

def test_tokens_hashed_at_rest(client, personas, db):
    r = client.post("/api/tokens", headers=personas.auth("admin"),
                    json={"name": "ci", "scopes": ["read"]})
    assert r.status_code == 201
    raw = r.json()["token"]
    assert raw.startswith("esk_")
    assert client.get("/api/me", headers={"Authorization": f"Bearer {raw}"}).status_code == 200
    row = db.get(ApiToken, r.json()["id"])
    assert row.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    # The clear token appears nowhere in the database (tokens table, audit trail...).
    for table in ("api_tokens", "audit_events"):
        for values in db.execute(text(f"SELECT * FROM {table}")).all():
            assert all(raw not in str(v) for v in values), table
    # Nor in the listing.
    listing = client.get("/api/tokens", headers=personas.auth("admin")).text
    assert raw not in listing and raw[:10] in listing


def test_expired_token_refused(client, personas, db):
    row = accounts.list_tokens(db, user=personas.users["analyst"])[0]
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.flush()
    r = client.get("/api/me", headers=personas.auth("analyst"))
    assert r.status_code == 401
    assert r.json()["code"] == "token-expired"
    assert "expiré" in r.json()["detail"]


def test_revoked_token_refused(client, personas, db):
    token_id = accounts.list_tokens(db, user=personas.users["regional"])[0].id
    r = client.delete(f"/api/tokens/{token_id}", headers=personas.auth("regional"))
    assert r.status_code == 204
    r = client.get("/api/me", headers=personas.auth("regional"))
    assert r.status_code == 401
    assert r.json()["code"] == "token-revoked"


def test_unknown_token_and_wrong_scheme_refused(client, personas):
    assert client.get("/api/me", headers={"Authorization": "Bearer esk_nope"}).status_code == 401
    raw = personas.tokens["admin"]
    r = client.get("/api/me", headers={"Authorization": f"Basic {raw}"})
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Bearer")


def test_read_only_token_cannot_write(client, personas, db):
    _, raw = accounts.create_token(db, actor=Actor.system("tests"),
                                   user=personas.users["director_a"], scopes=["read"])
    db.flush()
    auth = {"Authorization": f"Bearer {raw}"}
    fin = personas.est["A"].finess
    assert client.get(f"/api/establishments/{fin}", headers=auth).status_code == 200
    assert client.get(f"/api/establishments/{fin}/staff", headers=auth).status_code == 200
    r = client.patch(f"/api/establishments/{fin}", headers=auth, json={"town": "Ailleurs"})
    assert r.status_code == 403
    assert r.json()["code"] == "forbidden"
    assert client.post("/api/tokens", headers=auth, json={"scopes": ["read"]}).status_code == 403
    db.expire_all()
    assert personas.est["A"].town != "Ailleurs"
    # The same user with a write token may.
    r = client.patch(f"/api/establishments/{fin}", headers=personas.auth("director_a"),
                     json={"town": "Ailleurs"})
    assert r.status_code == 200


def test_read_only_admin_token_can_read_but_not_manage(client, personas, db):
    _, raw = accounts.create_token(db, actor=Actor.system("tests"),
                                   user=personas.users["admin"], scopes=["read"])
    db.flush()
    auth = {"Authorization": f"Bearer {raw}"}
    assert client.get("/api/users", headers=auth).status_code == 200
    assert client.get("/api/audit", headers=auth).status_code == 200
    r = client.post("/api/users", headers=auth, json={
        "email": "ro@test.esante.fr", "password": NEW_PASSWORD, "display_name": "RO"})
    assert r.status_code == 403


def test_token_cannot_mint_a_wider_token(client, personas, db):
    _, raw = accounts.create_token(db, actor=Actor.system("tests"),
                                   user=personas.users["citizen"], scopes=["read", "write"])
    db.flush()
    r = client.post("/api/tokens", headers={"Authorization": f"Bearer {raw}"},
                    json={"scopes": ["read", "write"]})
    assert r.status_code == 201
    assert r.json()["scopes"] == ["read", "write"]


# --- audit and logs ---------------------------------------------------------------------------------

def test_login_success_and_failure_audited(client, personas, db):
    user = personas.users["citizen"]
    assert post_password(client, user.email, "wrong-password-abc").status_code == 401
    assert post_password(client, user.email).status_code == 303
    db.expire_all()
    events = db.scalars(select(AuditEvent).where(
        AuditEvent.subject_user_id == user.id,
        AuditEvent.action.in_(("auth.login.success", "auth.login.failure")))
        .order_by(AuditEvent.id)).all()
    assert [(e.action, e.outcome) for e in events] == [
        ("auth.login.failure", "failure"), ("auth.login.success", "success")]
    assert events[0].details == {"reason": "password"}
    assert events[1].actor_id == user.id
    # An unknown account's failure is recorded too, without the address typed.
    assert post_password(client, "ghost@test.esante.fr", "wrong-password-abc").status_code == 401
    ghost = db.scalars(select(AuditEvent).where(AuditEvent.action == "auth.login.failure")
                       .order_by(AuditEvent.id.desc())).first()
    assert ghost.details == {"reason": "unknown-or-inactive"}
    assert "ghost" not in f"{ghost.actor_label} {ghost.object_id} {ghost.details}"
    # The chain still verifies.
    r = client.get("/api/audit/verify", headers=personas.auth("admin"))
    assert r.json()["ok"] is True


def test_logs_contain_no_password_or_email(client, personas, caplog):
    caplog.set_level(logging.DEBUG)
    secrets_ = [PASSWORD, NEW_PASSWORD, "wrong-password-abc", "doctor@test.esante.fr",
                "ghost@test.esante.fr", "doctor@", "ghost@"]
    assert post_password(client, "ghost@test.esante.fr", "wrong-password-abc").status_code == 401
    assert post_password(client, email_of("doctor"), "wrong-password-abc").status_code == 401
    login(client, personas, "doctor")
    page = client.get("/account")
    client.post("/account/password", data={
        "csrf_token": csrf_of(page.text), "current_password": PASSWORD,
        "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD})
    client.post("/api/me/password", headers=personas.auth("doctor"),
                json={"current_password": "wrong-password-abc", "new_password": NEW_PASSWORD})
    assert caplog.records, "nothing captured: the check would be vacuous"
    for rec in caplog.records:
        message = rec.getMessage() + (rec.exc_text or "")
        for s in secrets_:
            assert s not in message, (rec.name, message[:200])
