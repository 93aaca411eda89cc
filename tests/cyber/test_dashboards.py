"""Cyber-vigilance dashboards: figures on a small known dataset, who sees what, CSV export,
pages through a real login, and the demo history."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from esante.core.errors import Forbidden
from esante.core.policy import Principal
from esante.cyber.dashboards import service
from esante.cyber.dashboards.schemas import Dashboard
from esante.cyber.demo import CATEGORY_ODDS, MALICIOUS_ODDS, seed_incidents
from esante.cyber.incidents.models import Incident, IncidentReport
from tests.core.test_auth import login
from tests.factories import Personas

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
H = timedelta(hours=1)


def _at(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def _incident(db: Session, personas: Personas, est: str, n: int, *, detected: datetime,
              declare_after: float, qualify_after: float | None = None, status: str = "closed",
              categories: list[str], malicious: str = "yes", **extra: Any) -> Incident:
    e = personas.est[est]
    declared = detected + declare_after * H if status != "draft" else None
    incident = Incident(
        establishment_id=e.id, finess=e.finess, region_code=e.region_code,
        declarant_id=personas.users["rssi_a"].id, idempotency_key=f"dash-{n}",
        reference=f"TEST-{n:05d}" if declared else None, status=status, title=f"Incident {n}",
        detected_at=detected, categories=sorted(categories), malicious=malicious,
        declared_at=declared,
        qualified_at=declared + qualify_after * H if declared and qualify_after else None,
        **extra)
    db.add(incident)
    db.flush()
    return incident


@pytest.fixture
def dataset(db: Session, personas: Personas) -> dict[str, Incident]:
    """Five declared incidents (three in A/region 11, one in B/84, one in C/93) and a draft."""
    out = {
        "i1": _incident(db, personas, "A", 1, detected=_at(2026, 5, 10, 8), declare_after=2,
                        qualify_after=10, categories=["data", "operations"],
                        care_impact={"degraded_mode": True, "transfers": 0}),
        "i2": _incident(db, personas, "A", 2, detected=_at(2026, 6, 1), declare_after=6,
                        status="acknowledged", categories=["care_safety"], malicious="no",
                        personal_data_breach=True),  # CNIL report due 4 June: overdue
        "i3": _incident(db, personas, "B", 3, detected=_at(2025, 3, 1), declare_after=4,
                        qualify_after=30, categories=["operations"]),
        "i4": _incident(db, personas, "C", 4, detected=_at(2024, 12, 31, 20), declare_after=12,
                        qualify_after=20, categories=["operations", "spread"],
                        malicious="unknown", personal_data_breach=True),
        "i6": _incident(db, personas, "A", 6, detected=_at(2026, 6, 14), declare_after=2,
                        status="declared", categories=["operations"], nis2_in_scope=True),
        "draft": _incident(db, personas, "A", 7, detected=_at(2026, 6, 14), declare_after=0,
                           status="draft", categories=["data"]),
    }
    db.add(IncidentReport(incident_id=out["i4"].id, obligation="cnil",
                          submitted_at=_at(2025, 1, 2), submitted_by=personas.users["rssi_a"].id,
                          text="rapport"))
    db.flush()
    return out


def principal(personas: Personas, name: str) -> Principal:
    return Principal.of(personas.users[name])


def counts(items: list[Any]) -> dict[str, int]:
    return {c.key: c.count for c in items}


# --- figures ----------------------------------------------------------------------------------

def test_national_figures(db: Session, personas: Personas, dataset: dict[str, Incident]) -> None:
    d = service.national(db, principal(personas, "analyst"), now=NOW)
    assert (d.total, d.open) == (5, 2)  # the draft is never counted
    assert counts(d.by_category) == {"operations": 4, "data": 1, "care_safety": 1, "spread": 1,
                                     "health_organisation": 0}
    assert next(c.share for c in d.by_category if c.key == "operations") == 0.8
    assert counts(d.by_region) == {"11": 3, "84": 1, "93": 1}
    assert d.by_region[0].label == "Île-de-France"
    assert counts(d.by_year) == {"2025": 2, "2026": 3}
    months = counts(d.by_month)
    assert len(months) == 24 and list(months)[-1] == "2026-06" and next(iter(months)) == "2024-07"
    assert (months["2026-06"], months["2026-05"], months["2025-03"], months["2025-01"]) == (2, 1, 1, 1)
    assert months["2024-12"] == 0 and sum(months.values()) == 5
    assert counts(d.malicious) == {"yes": 3, "no": 1, "unknown": 1}
    assert d.malicious[0].share == 0.6
    assert counts(d.care_impact)["degraded_mode"] == 1
    assert counts(d.care_impact)["care_safety"] == 1
    # declaration delays 2, 2, 4, 6, 12 h; qualification 10, 20, 30 h
    assert (d.time_to_declare.count, d.time_to_declare.median_hours,
            d.time_to_declare.p90_hours) == (5, 4.0, 9.6)
    assert (d.time_to_qualify.count, d.time_to_qualify.median_hours,
            d.time_to_qualify.p90_hours) == (3, 20.0, 28.0)
    # i2's CNIL report (due 4 June) and i6's NIS2 early warning (due 15 June 00:00) are late;
    # i4 filed its CNIL report.
    assert {o.code: o.count for o in d.overdue} == {
        "cnil": 1, "nis2_early_warning": 1, "nis2_notification": 0, "nis2_final_report": 0}
    assert d.overdue_total == 2
    assert d.incidents == []


def test_regional_and_establishment_figures(db: Session, personas: Personas,
                                            dataset: dict[str, Incident]) -> None:
    d = service.regional(db, principal(personas, "regional"), "11", now=NOW)
    assert (d.total, d.open, d.title) == (3, 2, "Île-de-France")
    assert counts(d.by_region) == {"11": 3}
    assert d.time_to_declare.median_hours == 2.0
    e = service.establishment(db, principal(personas, "rssi_a"), personas.est["A"].finess, now=NOW)
    assert e.total == 3
    assert [line.reference for line in e.incidents] == ["TEST-00006", "TEST-00002", "TEST-00001"]
    late = {(line.reference, o.code) for line in e.incidents for o in line.obligations
            if o.status == "overdue"}
    assert late == {("TEST-00002", "cnil"), ("TEST-00006", "nis2_early_warning")}
    b = service.establishment(db, principal(personas, "analyst"), personas.est["B"].finess, now=NOW)
    assert b.total == 1 and b.time_to_qualify.median_hours == 30.0


def test_empty_dashboard(db: Session, personas: Personas) -> None:
    d = service.national(db, principal(personas, "analyst"), now=NOW)
    assert d.total == 0 and d.by_year == [] and d.time_to_declare.median_hours is None
    assert all(c.share is None for c in d.by_category)


# --- access -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("who", "allowed"), [
    ("analyst", {"national", "r11", "r84", "A", "B"}),
    ("regional", {"r11", "A"}),
    ("rssi_a", {"A"}),
    ("director_a", {"A"}),
    ("rssi_b", {"B"}),
    ("admin", set()),
    ("citizen", set()),
    ("doctor", set()),
    ("outsider", set()),
])
def test_who_sees_which_dashboard(db: Session, personas: Personas, dataset: dict[str, Incident],
                                  who: str, allowed: set[str]) -> None:
    p = principal(personas, who)
    calls = {
        "national": lambda: service.national(db, p, now=NOW),
        "r11": lambda: service.regional(db, p, "11", now=NOW),
        "r84": lambda: service.regional(db, p, "84", now=NOW),
        "A": lambda: service.establishment(db, p, personas.est["A"].finess, now=NOW),
        "B": lambda: service.establishment(db, p, personas.est["B"].finess, now=NOW),
    }
    seen = set()
    for name, call in calls.items():
        try:
            call()
            seen.add(name)
        except Forbidden:
            pass
    assert seen == allowed


def test_api_access_and_json(client: TestClient, personas: Personas,
                             dataset: dict[str, Incident]) -> None:
    a, b = personas.est["A"].finess, personas.est["B"].finess
    cases = [
        ("analyst", "/api/cyber/dashboards/national", 200),
        ("regional", "/api/cyber/dashboards/national", 403),
        ("admin", "/api/cyber/dashboards/national", 403),
        ("citizen", "/api/cyber/dashboards/national", 403),
        ("regional", "/api/cyber/dashboards/region/11", 200),
        ("regional", "/api/cyber/dashboards/region/84", 403),
        ("rssi_a", f"/api/cyber/dashboards/establishment/{a}", 200),
        ("rssi_a", f"/api/cyber/dashboards/establishment/{b}", 403),
        ("rssi_a", "/api/cyber/dashboards/region/11", 403),
        ("admin", f"/api/cyber/dashboards/establishment/{a}", 403),
        ("analyst", "/api/cyber/dashboards/region/99", 404),
        ("analyst", "/api/cyber/dashboards/region/1x", 422),
        ("analyst", "/api/cyber/dashboards/establishment/750000000", 422),
    ]
    for who, url, expected in cases:
        r = client.get(url, headers=personas.auth(who))
        assert r.status_code == expected, (who, url, r.text)
    assert client.get("/api/cyber/dashboards/national").status_code == 401
    body = client.get(f"/api/cyber/dashboards/establishment/{a}",
                      headers=personas.auth("rssi_a")).json()
    d = Dashboard.model_validate(body)
    assert d.total == 3 and len(d.incidents) == 3  # only A's, never B's or the draft


def test_csv_export_parses(client: TestClient, personas: Personas,
                           dataset: dict[str, Incident]) -> None:
    r = client.get("/api/cyber/dashboards/national", params={"format": "csv"},
                   headers=personas.auth("analyst"))
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig")), delimiter=";"))
    assert list(rows[0]) == ["indicateur", "cle", "libelle", "valeur", "part"]
    by = {(row["indicateur"], row["cle"]): row for row in rows}
    assert by[("incidents", "total")]["valeur"] == "5"
    assert by[("par_categorie", "operations")]["valeur"] == "4"
    assert by[("par_categorie", "operations")]["part"] == "0.8"
    assert by[("par_region", "11")]["valeur"] == "3"
    assert by[("par_annee", "2025")]["valeur"] == "2"
    assert by[("delai_qualification", "mediane_heures")]["valeur"] == "20.0"
    assert client.get("/api/cyber/dashboards/national", params={"format": "xml"},
                      headers=personas.auth("analyst")).status_code == 422


# --- pages ------------------------------------------------------------------------------------

def test_pages_for_allowed_personas(client: TestClient, personas: Personas,
                                    dataset: dict[str, Incident]) -> None:
    login(client, personas, "analyst")
    r = client.get("/cyber/tableaux-de-bord")
    assert r.status_code == 200
    html = r.text
    assert "France entière" in html and 'data-chart="bar"' in html
    assert 'id="by-region-table"' in html and "Île-de-France" in html
    assert "/static/vendor/chartjs/chart.umd.min.js" in html and "<script>" not in html
    csv_page = client.get("/cyber/tableaux-de-bord", params={"format": "csv"})
    assert csv_page.status_code == 200 and csv_page.headers["content-type"].startswith("text/csv")
    assert client.get("/cyber/tableaux-de-bord/region/84").status_code == 200


def test_pages_scoped_personas(client: TestClient, personas: Personas,
                               dataset: dict[str, Incident]) -> None:
    login(client, personas, "regional")
    r = client.get("/cyber/tableaux-de-bord", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/cyber/tableaux-de-bord/region/11"
    assert client.get("/cyber/tableaux-de-bord/region/11").status_code == 200
    assert client.get("/cyber/tableaux-de-bord/region/84").status_code == 403


def test_establishment_page(client: TestClient, personas: Personas,
                            dataset: dict[str, Incident]) -> None:
    login(client, personas, "rssi_a")
    r = client.get("/cyber/tableaux-de-bord", follow_redirects=False)
    a = personas.est["A"].finess
    assert r.headers["location"] == f"/cyber/tableaux-de-bord/etablissement/{a}"
    page = client.get(f"/cyber/tableaux-de-bord/etablissement/{a}")
    assert page.status_code == 200
    assert "TEST-00002" in page.text and "en retard" in page.text
    assert "TEST-00003" not in page.text  # B's
    assert client.get(f"/cyber/tableaux-de-bord/etablissement/{personas.est['B'].finess}"
                      ).status_code == 403


def test_pages_refused_to_admin_and_citizen(client: TestClient, personas: Personas) -> None:
    login(client, personas, "admin")
    assert client.get("/cyber/tableaux-de-bord").status_code == 403
    assert client.get("/cyber/tableaux-de-bord/region/11").status_code == 403
    client.cookies.clear()
    login(client, personas, "citizen")
    assert client.get("/cyber/tableaux-de-bord").status_code == 403
    client.cookies.clear()
    assert client.get("/cyber/tableaux-de-bord", follow_redirects=False).status_code == 303


# --- demo history -----------------------------------------------------------------------------

def test_demo_history_is_idempotent_and_realistic(db: Session, personas: Personas) -> None:
    created = seed_incidents(db, years=4, per_year=300, now=NOW)
    assert created > 1000
    assert seed_incidents(db, years=4, per_year=300, now=NOW) == 0
    total = db.scalar(select(func.count()).select_from(Incident)) or 0
    assert total == created
    d = service.national(db, principal(personas, "analyst"), now=NOW)
    assert d.total == created
    shares = {c.key: c.share or 0 for c in d.by_category}
    for key, odds in CATEGORY_ODDS.items():
        assert abs(shares[key] - odds) < 0.06, (key, shares[key], odds)
    malicious = {c.key: c.share or 0 for c in d.malicious}
    for key, odds in MALICIOUS_ODDS.items():
        assert abs(malicious[key] - odds) < 0.06, (key, malicious[key], odds)
    assert [c.key for c in d.by_year] == ["2023", "2024", "2025", "2026"]
    # old incidents are closed, some recent ones are open, some reports are overdue
    old_open = db.scalar(select(func.count()).select_from(Incident).where(
        Incident.declared_at < NOW - timedelta(days=365), Incident.status != "closed"))
    assert old_open == 0
    assert 0 < d.open < created * 0.1
    assert d.overdue_total > 0
    assert d.time_to_declare.median_hours is not None and 8 < d.time_to_declare.median_hours < 40
    # the persona establishment A has a few incidents, one with an overdue CNIL report
    a = service.establishment(db, principal(personas, "analyst"), personas.est["A"].finess,
                              now=NOW)
    assert a.total >= 7
    assert any(o.status == "overdue" and o.code == "cnil" for line in a.incidents
               for o in line.obligations)
