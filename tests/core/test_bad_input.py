"""Bad input gets a precise problem+json answer (French and English) and changes nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from esante.core.accounts.models import ApiToken, RoleAssignment, User
from esante.core.audit import AuditEvent
from esante.core.notifications.models import Notification
from esante.core.orgs.models import Establishment, Ght
from esante.core.settings import get_settings
from tests.factories import PASSWORD, finess

NEW_PASSWORD = "lavande-orage-cadran-piano-73"
TABLES = (Establishment, Ght, User, RoleAssignment, ApiToken, AuditEvent, Notification)


def snapshot(db: Session) -> dict[str, int]:
    db.expire_all()
    return {m.__tablename__: db.scalar(select(func.count()).select_from(m)) or 0
            for m in TABLES}


@pytest.fixture
def unchanged(db, personas) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """Asserts, after the test, that no row was added or removed anywhere."""
    before = snapshot(db)
    yield
    assert snapshot(db) == before


def assert_problem(r, status: int, *, field: str | None = None) -> dict:  # type: ignore[no-untyped-def]
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["status"] == status
    assert body["type"] and body["title"]
    assert body["detail"] and body["detail_en"]  # French and English
    assert body["detail"] != body["detail_en"] or status == 413
    if field is not None:
        fields = [e["field"] for e in body.get("errors", [])]
        assert field in fields or field in body["detail"], body
    return body  # type: ignore[no-any-return]


def est_body(**over: object) -> dict[str, object]:
    body: dict[str, object] = {"finess": finess("75000088"), "name": "Hôpital Test",
                               "category": "CH", "department": "75"}
    body.update(over)
    return body


# --- malformed and oversized bodies -----------------------------------------------------------

@pytest.mark.parametrize("payload", [b"{", b'{"finess": }', b"\xff\xfe", b"[1, 2"])
def test_malformed_json(client, personas, unchanged, payload):
    r = client.post("/api/establishments", content=payload, headers={
        **personas.auth("admin"), "content-type": "application/json"})
    body = assert_problem(r, 422)
    assert body["code"] == "validation"
    assert body["errors"][0]["type"] == "json_invalid"
    assert "JSON mal formé" in body["detail"]


def test_json_of_the_wrong_shape(client, personas, unchanged):
    r = client.post("/api/establishments", json=["not", "an", "object"],
                    headers=personas.auth("admin"))
    assert_problem(r, 422)


def test_oversized_body_announced(client, personas, unchanged):
    limit = get_settings().max_body_bytes
    payload = b'{"name": "' + b"x" * (limit + 10) + b'"}'
    r = client.post("/api/establishments", content=payload,
                    headers={**personas.auth("admin"), "content-type": "application/json"})
    body = assert_problem(r, 413)
    assert "trop volumineuse" in body["detail"]
    assert "too large" in body["detail_en"]


def test_oversized_body_streamed(client, personas, unchanged):
    """Without a Content-Length (chunked upload), the limit still answers 413."""
    limit = get_settings().max_body_bytes

    def chunks() -> Iterator[bytes]:
        yield b'{"name": "'
        for _ in range(limit // 65536 + 2):
            yield b"x" * 65536
        yield b'"}'

    r = client.post("/api/tokens", content=chunks(),
                    headers={**personas.auth("admin"), "content-type": "application/json"})
    assert_problem(r, 413)


def test_body_just_under_the_limit_is_read(client, personas, unchanged):
    limit = get_settings().max_body_bytes
    filler = "x" * (limit - 200)
    r = client.post("/api/establishments", json=est_body(name=filler),
                    headers=personas.auth("admin"))
    assert_problem(r, 422, field="name")  # too long a name, but the body itself was accepted


# --- unknown fields ---------------------------------------------------------------------------

@pytest.mark.parametrize(("method", "path", "body"), [
    ("POST", "/api/establishments", est_body(is_admin=True)),
    ("PATCH", "/api/establishments/{A}", {"town": "X", "region_code": "84"}),
    ("POST", "/api/users", {"email": "x@test.esante.fr", "password": NEW_PASSWORD,
                            "display_name": "X", "is_admin": True}),
    ("POST", "/api/users", {"email": "x@test.esante.fr", "password": NEW_PASSWORD,
                            "display_name": "X",
                            "roles": [{"role": "admin", "scope_kind": "nation",
                                       "scope_ref": "", "extra": 1}]}),
    ("POST", "/api/tokens", {"name": "t", "scopes": ["read"], "admin": True}),
    ("POST", "/api/me/password", {"current_password": PASSWORD, "new_password": NEW_PASSWORD,
                                  "force": True}),
    ("POST", "/api/notifications", {"role": "admin", "title": "t", "sender": "x"}),
])
def test_unknown_fields_refused(client, personas, db, unchanged, method, path, body):
    est_a = personas.est["A"]
    town = est_a.town
    hash_before = personas.users["admin"].password_hash
    r = client.request(method, path.replace("{A}", est_a.finess), json=body,
                       headers=personas.auth("admin"))
    problem = assert_problem(r, 422)
    assert any(e["type"] == "extra_forbidden" for e in problem["errors"]), problem
    assert any(e["message"] == "champ inconnu" for e in problem["errors"])
    db.expire_all()
    assert est_a.town == town
    assert personas.users["admin"].password_hash == hash_before


# --- identifiers ------------------------------------------------------------------------------

def test_invalid_finess_check_digit(client, personas, unchanged):
    good = finess("75000088")
    bad = good[:8] + str((int(good[8]) + 1) % 10)
    r = client.post("/api/establishments", json=est_body(finess=bad),
                    headers=personas.auth("admin"))
    body = assert_problem(r, 422, field="finess")
    assert body["errors"][0]["field"] == "finess"
    assert f"clé attendue {good[8]}" in body["errors"][0]["message"]
    assert "FINESS" in body["detail"]


@pytest.mark.parametrize("bad", ["7500008", "ABCDEFGHI", "750000881234"])
def test_invalid_finess_format(client, personas, unchanged, bad):
    r = client.post("/api/establishments", json=est_body(finess=bad),
                    headers=personas.auth("admin"))
    assert_problem(r, 422, field="finess")


def test_invalid_finess_in_path(client, personas, unchanged):
    good = personas.est["A"].finess
    bad = good[:8] + str((int(good[8]) + 1) % 10)
    r = client.get(f"/api/establishments/{bad}", headers=personas.auth("admin"))
    body = assert_problem(r, 422)
    assert body["code"] == "finess-key"
    r = client.patch(f"/api/establishments/{bad}", json={"town": "X"},
                     headers=personas.auth("admin"))
    assert_problem(r, 422)


def test_finess_of_another_department(client, personas, unchanged):
    r = client.post("/api/establishments", json=est_body(department="69"),
                    headers=personas.auth("admin"))
    body = assert_problem(r, 422)
    assert body["code"] == "finess-department"


def test_duplicate_finess_conflict(client, personas, unchanged):
    r = client.post("/api/establishments", json=est_body(finess=personas.est["A"].finess),
                    headers=personas.auth("admin"))
    assert_problem(r, 409)


@pytest.mark.parametrize("rpps", ["10000000001", "1234", "abcdefghijk"])
def test_invalid_rpps(client, personas, unchanged, rpps):
    from esante.core.identifiers import rpps_key

    if len(rpps) == 11 and rpps.isdigit():  # a well-formed number with a wrong key
        assert rpps[:10] + rpps_key(rpps[:10]) != rpps
    r = client.post("/api/users", headers=personas.auth("admin"), json={
        "email": "rpps@test.esante.fr", "password": NEW_PASSWORD, "display_name": "Dr RPPS",
        "rpps": rpps})
    body = assert_problem(r, 422, field="rpps")
    assert "RPPS" in body["errors"][0]["message"]


@pytest.mark.parametrize(("body", "field"), [
    ({"email": "not-an-email", "password": NEW_PASSWORD, "display_name": "X"}, None),
    ({"email": "w@test.esante.fr", "password": "short", "display_name": "X"}, None),
    ({"email": "w@test.esante.fr", "password": NEW_PASSWORD, "display_name": ""},
     "display_name"),
    ({"email": "w@test.esante.fr", "password": NEW_PASSWORD, "display_name": "X",
      "roles": [{"role": "director", "scope_kind": "nation"}]}, None),
    ({"email": "w@test.esante.fr", "password": NEW_PASSWORD, "display_name": "X",
      "roles": [{"role": "director", "scope_kind": "establishment", "scope_ref": "999999999"}]},
     None),
    ({"email": "w@test.esante.fr", "password": NEW_PASSWORD, "display_name": "X",
      "roles": [{"role": "emperor", "scope_kind": "nation"}]}, None),
    ({"email": "citizen@test.esante.fr", "password": NEW_PASSWORD, "display_name": "X"}, None),
])
def test_invalid_user_creation_writes_nothing(client, personas, unchanged, body, field):
    r = client.post("/api/users", headers=personas.auth("admin"), json=body)
    assert 400 <= r.status_code < 500
    assert_problem(r, r.status_code, field=field)


def test_invalid_role_after_user_creation_rolls_back_the_user(client, personas, db, unchanged):
    """The user row is flushed before the role fails: the whole request must roll back."""
    r = client.post("/api/users", headers=personas.auth("admin"), json={
        "email": "half@test.esante.fr", "password": NEW_PASSWORD, "display_name": "Half",
        "roles": [{"role": "security_officer", "scope_kind": "region", "scope_ref": "11"}]})
    assert_problem(r, 422)
    db.expire_all()
    assert db.scalar(select(User).where(User.email == "half@test.esante.fr")) is None


# --- passwords and other refused writes --------------------------------------------------------

def test_wrong_current_password_on_api(client, personas, db, unchanged):
    user = personas.users["doctor"]
    before = user.password_hash
    r = client.post("/api/me/password", headers=personas.auth("doctor"),
                    json={"current_password": "not-the-password", "new_password": NEW_PASSWORD})
    body = assert_problem(r, 422)
    assert body["code"] == "password-wrong"
    assert "mot de passe actuel incorrect" in body["detail"]
    db.expire_all()
    assert db.get(User, user.id).password_hash == before


@pytest.mark.parametrize(("query", "field"), [
    ("limit=0", "limit"), ("limit=501", "limit"), ("offset=-1", "offset"),
    ("limit=abc", "limit"), ("region=123", "region"), ("q=" + "x" * 81, "q"),
])
def test_bad_query_parameters(client, personas, unchanged, query, field):
    r = client.get(f"/api/establishments?{query}", headers=personas.auth("admin"))
    body = assert_problem(r, 422, field=f"query.{field}")
    assert body["errors"][0]["message"]


@pytest.mark.parametrize(("body", "field"), [
    ({"name": "t", "scopes": ["admin"]}, "scopes.0"),
    ({"name": "t", "days": 0}, "days"),
    ({"name": "t", "days": 366}, "days"),
    ({"name": ""}, "name"),
    ({"name": "x" * 101}, "name"),
])
def test_bad_token_requests(client, personas, unchanged, body, field):
    r = client.post("/api/tokens", json=body, headers=personas.auth("citizen"))
    assert_problem(r, 422, field=field)


@pytest.mark.parametrize("body", [
    {"town": "x" * 101},
    {"name": "x"},
    {"category": "ZZZ"},
])
def test_bad_establishment_patch(client, personas, db, unchanged, body):
    est = personas.est["A"]
    before = (est.name, est.category, est.town)
    r = client.patch(f"/api/establishments/{est.finess}", json=body,
                     headers=personas.auth("admin"))
    assert_problem(r, 422)
    db.expire_all()
    assert (est.name, est.category, est.town) == before


def test_bad_notification_link(client, personas, unchanged):
    r = client.post("/api/notifications", headers=personas.auth("admin"), json={
        "role": "security_officer", "title": "t", "link": "https://evil.example/"})
    assert_problem(r, 422, field="link")


def test_path_parameter_of_the_wrong_type(client, personas, unchanged):
    r = client.get("/api/users/abc", headers=personas.auth("admin"))
    body = assert_problem(r, 422, field="path.user_id")
    assert body["errors"][0]["message"] == "nombre entier attendu"


def test_bad_form_input_on_a_page(client, personas, db):
    """Pages answer bad input with a French page, not JSON, and write nothing."""
    from tests.core.test_auth import csrf_of, login

    login(client, personas, "citizen")
    before = snapshot(db)
    page = client.get("/account")
    r = client.post("/account/tokens", data={"csrf_token": csrf_of(page.text),
                                             "name": "x" * 101})
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("text/html")
    assert "requête invalide" in r.text
    assert snapshot(db) == before
