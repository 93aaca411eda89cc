"""Extracts from the project page: an authorised role launches one (small: at once; large:
to the worker), the project page lists it with its risk report as a page, JSON and PDF;
the owner reads the reports, others do not; a failure is shown and leaves no folder."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from esante.core.audit import AuditEvent
from esante.datahub import extracts
from esante.datahub.models import Extract
from tests.core.test_auth import csrf_of, login
from tests.datahub.factories import make_project, principal


def _launch(client, project_id: int, engine: str = "duckdb"):  # type: ignore[no-untyped-def]
    page = client.get(f"/donnees-de-sante/projets/{project_id}")
    return client.post(f"/donnees-de-sante/projets/{project_id}/extractions",
                       data={"csrf_token": csrf_of(page.text), "engine": engine},
                       follow_redirects=True)


def test_reviewer_launches_and_reads_the_report(client, personas, db, hub_dirs) -> None:
    project = make_project(db, personas, "approved")
    login(client, personas, "hub_reviewer")
    page = client.get(f"/donnees-de-sante/projets/{project.id}")
    assert 'id="extract-form"' in page.text and "Aucune extraction" in page.text
    r = _launch(client, project.id)
    assert r.status_code == 200
    ex = db.scalars(select(Extract)).one()
    assert ex.status == "done", ex.error
    assert f'id="extract-{ex.id}"' in r.text and "Terminée" in r.text
    assert "synth_people : k = " in r.text and "Extraction" in r.text  # list and timeline
    base = f"/donnees-de-sante/projets/{project.id}/extractions/{ex.id}"
    report = client.get(base)
    assert report.status_code == 200 and "Rapport de risque de l'extraction" in report.text
    data = client.get(base + "/rapport.json").json()
    tables = {t["name"]: t for t in data["tables"]}
    assert tables["synth_people"]["k_reached"] >= 5 and tables["synth_stays"]["l_reached"] >= 2
    assert "output_path" not in tables["synth_people"] and "out_dir" not in data
    pdf = client.get(base + "/rapport.pdf")
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert (Path(ex.out_dir) / "synth_people.parquet").is_file()
    assert Path(ex.out_dir).is_relative_to(hub_dirs)
    actions = set(db.scalars(select(AuditEvent.action).where(
        AuditEvent.object_id == str(project.id))))
    assert {"datahub.extract.launch", "datahub.extract"} <= actions


def test_owner_reads_reports_but_does_not_launch(client, personas, db, hub_dirs) -> None:
    project = make_project(db, personas, "approved")
    reviewer = principal(personas, "hub_reviewer")
    ex = extracts.execute(db, extracts.launch(db, reviewer, project, engine="duckdb").id)
    assert ex.status == "done"
    login(client, personas, "researcher")
    page = client.get(f"/donnees-de-sante/projets/{project.id}")
    assert 'id="extract-form"' not in page.text and f'id="extract-{ex.id}"' in page.text
    r = client.post(f"/donnees-de-sante/projets/{project.id}/extractions",
                    data={"csrf_token": csrf_of(page.text), "engine": "duckdb"})
    assert r.status_code == 403
    base = f"/donnees-de-sante/projets/{project.id}/extractions/{ex.id}"
    assert client.get(base).status_code == 200
    client.post("/logout", data={"csrf_token": csrf_of(client.get("/account").text)})
    r = client.get(base, follow_redirects=False)  # anonymous: the registry, not the reports
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    login(client, personas, "doctor")
    assert client.get(base + "/rapport.json").status_code == 404
    assert f'id="extract-{ex.id}"' not in client.get(f"/donnees-de-sante/projets/{project.id}").text


def test_large_extract_goes_to_the_worker(client, personas, db, hub_dirs, monkeypatch) -> None:
    project = make_project(db, personas, "approved")
    monkeypatch.setenv("ESANTE_DATAHUB_INLINE_ROWS_MAX", "10")
    queued: list[int] = []
    monkeypatch.setattr(extracts, "dispatch", queued.append)
    login(client, personas, "ttp")
    r = _launch(client, project.id, engine="spark")
    ex = db.scalars(select(Extract)).one()
    assert queued == [ex.id] and ex.status == "queued" and ex.engine == "spark"
    assert "En file d&#39;attente" in r.text
    r = _launch(client, project.id)  # one run at a time
    assert "déjà en cours" in r.text and len(db.scalars(select(Extract)).all()) == 1


def test_refusals_and_failures(client, personas, db, hub_dirs, monkeypatch) -> None:
    login(client, personas, "hub_reviewer")
    complete = make_project(db, personas, "complete")
    r = _launch(client, complete.id)
    assert "seul un projet autorisé" in r.text and db.scalars(select(Extract)).first() is None
    project = make_project(db, personas, "approved")
    assert "moteur inconnu" in _launch(client, project.id, engine="oracle").text
    monkeypatch.setenv("ESANTE_DATAHUB_TTP_SECRET_FILE", str(hub_dirs.parent / "missing.key"))
    r = _launch(client, project.id)
    ex = db.scalars(select(Extract)).one()
    assert ex.status == "failed" and "secret maître du tiers de confiance introuvable" in ex.error
    assert "En échec" in r.text and "Extraction en échec" in r.text
    assert not hub_dirs.exists() or not any(hub_dirs.rglob("*.parquet"))
    base = f"/donnees-de-sante/projets/{project.id}/extractions/{ex.id}"
    assert client.get(base).status_code == 200
    assert client.get(base + "/rapport.pdf").status_code == 404
