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


def test_national_cell_and_agencies_are_in_the_directory(client, personas) -> None:
    cell = client.get("/api/national-cell", headers=personas.auth("rssi_b"))
    assert cell.status_code == 200
    body = cell.json()
    assert body["name"] == "CERT Santé"
    assert body["analysts"] >= 1  # the analyst persona
    regions = client.get("/api/regions", headers=personas.auth("rssi_b")).json()
    assert len(regions) == 18
    assert all(r["agency_name"].startswith("ARS ") for r in regions)
    assert client.get("/api/national-cell").status_code == 401
