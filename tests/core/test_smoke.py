"""The platform answers: health, identity of the caller, problem+json on errors."""


def test_health_reports_database(client):
    r = client.get("/health")
    assert r.status_code == 200
    assert r.json()["database"] == "ok"


def test_me_with_token(client, personas):
    r = client.get("/api/me", headers=personas.auth("rssi_a"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["email"] == "rssi_a@test.esante.fr"
    assert body["roles"][0]["role"] == "security_officer"
    assert body["roles"][0]["scope_ref"] == personas.est["A"].finess


def test_me_without_token_is_problem_json(client):
    r = client.get("/api/me")
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "authentification requise" in r.json()["detail"]
