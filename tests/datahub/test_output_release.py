"""Output checking before release, from the pages, the API and the CLI: the project's owner
submits an aggregated table, sees it with its small cells suppressed (primary and
secondary); the hub's reviewer sees the original, approves or refuses with a reason; only
the suppressed version of an approved table leaves; each step audited; bad tables refused."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from esante.core.audit import AuditEvent
from esante.core.errors import Conflict, Forbidden, Invalid
from esante.datahub import outputs
from esante.datahub.models import OutputCheck, ProjectEvent
from tests.core.test_auth import csrf_of, email_of, login
from tests.datahub.factories import make_project, principal

# Two small cells (3 and 4) in one row: primary hides both and their row total (7);
# cell (3) and column "M" one (4) — but the row already has two; each column needs a second.
TABLE = "Âge,F,M\n18-39,120,95\n40-64,3,4\n65+,88,70\n"


def _actions(db) -> list[str]:  # type: ignore[no-untyped-def]
    return list(db.scalars(select(AuditEvent.action).where(
        AuditEvent.action.like("datahub.output.%")).order_by(AuditEvent.id)))


def test_service_flow(db, personas) -> None:
    project = make_project(db, personas, "approved")
    owner, reviewer = principal(personas, "researcher"), principal(personas, "hub_reviewer")
    with pytest.raises(Forbidden):
        outputs.submit(db, reviewer, project, name="t", text=TABLE)
    check = outputs.submit(db, owner, project, name="âges.csv", text=TABLE)
    assert (check.threshold, check.primary_cells, check.status) == (10, 3, "pending")  # 3, 4, 7
    assert check.secondary_cells >= 2  # each column's lone hidden cell gets a partner
    rows = check.checked_csv.splitlines()
    assert rows[2] == "40-64,s,s,s" and "3" not in rows[2]
    assert "40-64,3,4" not in check.original_enc  # kept encrypted
    with pytest.raises(Forbidden):
        outputs.original(db, owner, check)
    assert outputs.original(db, reviewer, check).values[1][:2] == [3, 4]
    with pytest.raises(Conflict, match="pas autorisé à sortir"):
        outputs.released_csv(db, owner, check)
    with pytest.raises(Forbidden):
        outputs.review(db, owner, check, approve=True, reason="moi")
    with pytest.raises(Invalid, match="motif"):
        outputs.review(db, reviewer, check, approve=True, reason="  ")
    outputs.review(db, reviewer, check, approve=True, reason="Secret statistique respecté.")
    assert outputs.released_csv(db, owner, check) == check.checked_csv
    with pytest.raises(Conflict, match="déjà été examiné"):
        outputs.review(db, reviewer, check, approve=False, reason="non")
    assert _actions(db) == ["datahub.output.submitted", "datahub.output.read_original",
                            "datahub.output.approved", "datahub.output.download"]
    kinds = list(db.scalars(select(ProjectEvent.kind).where(
        ProjectEvent.project_id == project.id, ProjectEvent.kind.like("output_%"))))
    assert kinds == ["output_submitted", "output_approved"]


def test_bad_tables_are_refused(db, personas) -> None:
    project = make_project(db, personas, "approved")
    owner = principal(personas, "researcher")
    for text, message in [("a,b\n", "au moins une ligne"), ("x,F\nA,3.5\n", "effectif entier"),
                          ("x,F\nA,1\nTotal,1\n", "totaux sont recalculés"),
                          ("x,F,M\nA,1\n", "2 champs au lieu de 3")]:
        with pytest.raises(Invalid, match=message):
            outputs.submit(db, owner, project, name="t.csv", text=text)
    assert db.scalars(select(OutputCheck)).first() is None
    closed = make_project(db, personas, "closed")
    with pytest.raises(Conflict, match="seul un projet autorisé"):
        outputs.submit(db, owner, closed, name="t", text=TABLE)


def test_pages_submit_then_review(client, personas, db) -> None:
    project = make_project(db, personas, "approved")
    login(client, personas, "researcher")
    page = client.get(f"/donnees-de-sante/projets/{project.id}")
    assert 'id="output-form"' in page.text
    r = client.post(f"/donnees-de-sante/projets/{project.id}/sorties",
                    data={"csrf_token": csrf_of(page.text), "name": ""},
                    files={"table": ("ages.csv", io.BytesIO(TABLE.encode()), "text/csv")})
    assert r.status_code == 200, r.text
    check = db.scalars(select(OutputCheck)).one()
    assert check.name == "ages.csv" and "En attente de vérification" in r.text
    assert "<strong>s</strong>" in r.text and 'id="original-table"' not in r.text
    assert 'id="output-decision-form"' not in r.text
    r = client.post(f"/donnees-de-sante/projets/{project.id}/sorties",
                    data={"csrf_token": csrf_of(page.text), "csv": "x,F\nA,moins de 5\n"})
    assert "n&#39;est pas un effectif entier" in r.text and len(db.scalars(
        select(OutputCheck)).all()) == 1
    client.post("/logout", data={"csrf_token": csrf_of(client.get("/account").text)})
    login(client, personas, "hub_reviewer")
    url = f"/donnees-de-sante/projets/{project.id}/sorties/{check.id}"
    page = client.get(url)
    assert 'id="original-table"' in page.text and 'id="output-decision-form"' in page.text
    r = client.post(url + "/decision", data={"csrf_token": csrf_of(page.text),
                                             "decision": "refuse", "reason": ""})
    assert "donnez le motif" in r.text and check.status == "pending"
    r = client.post(url + "/decision", data={"csrf_token": csrf_of(page.text),
                                             "decision": "refuse",
                                             "reason": "Effectifs trop fins par âge."})
    db.refresh(check)
    assert check.status == "refused" and "Sortie refusée" in r.text
    assert "Effectifs trop fins par âge." in r.text
    assert client.get(url + "/tableau.csv").status_code == 409
    project_page = client.get(f"/donnees-de-sante/projets/{project.id}")
    assert "Sortie de tableau refusée" in project_page.text  # the timeline
    client.post("/logout", data={"csrf_token": csrf_of(client.get("/account").text)})
    login(client, personas, "doctor")
    assert client.get(url).status_code == 404


def test_api_submit_review_download(client, personas, db) -> None:
    project = make_project(db, personas, "approved")
    base = f"/api/datahub/projects/{project.id}/output-checks"
    r = client.post(base, json={"name": "âges", "csv": TABLE}, headers=personas.auth("researcher"))
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["primary_cells"] == 3 and body["status"] == "pending"
    bad = client.post(base, json={"name": "x", "csv": "x,F\nA,-2\n"},
                      headers=personas.auth("researcher"))
    assert bad.status_code == 422 and "effectif négatif" in bad.json()["detail"]
    assert client.get(base, headers=personas.auth("doctor")).status_code == 403
    decision = f"{base}/{body['id']}/decision"
    assert client.post(decision, json={"approve": True, "reason": "ok"},
                       headers=personas.auth("researcher")).status_code == 403
    r = client.post(decision, json={"approve": True, "reason": "Conforme."},
                    headers=personas.auth("hub_reviewer"))
    assert r.status_code == 200 and r.json()["status"] == "approved"
    r = client.get(f"{base}/{body['id']}/released", headers=personas.auth("researcher"))
    assert r.status_code == 200 and r.text == body["checked_csv"]
    listed = client.get(base, headers=personas.auth("hub_reviewer")).json()
    assert [x["status"] for x in listed] == ["approved"]


@contextmanager
def _same_session(db) -> Iterator[object]:  # type: ignore[no-untyped-def]
    yield db
    db.flush()


def test_cli_submit_then_release(db, personas, tmp_path, monkeypatch) -> None:
    import esante.core.db
    from esante.cli import app

    monkeypatch.setattr(esante.core.db, "transaction", lambda: _same_session(db))
    project = make_project(db, personas, "approved")
    table = tmp_path / "ages.csv"
    table.write_text(TABLE, encoding="utf-8")
    runner = CliRunner()
    r = runner.invoke(app, ["datahub", "check-output", str(table), "--project", str(project.id)])
    assert r.exit_code != 0 and "--as" in r.output
    r = runner.invoke(app, ["datahub", "check-output", str(table), "--project", str(project.id),
                            "--as", email_of("researcher")])
    assert r.exit_code == 0, r.output
    check = db.scalars(select(OutputCheck)).one()
    assert "40-64,s,s,s" in r.output and f"n° {check.id} soumis" in r.output
    r = runner.invoke(app, ["datahub", "release", str(check.id), "--as", email_of("researcher"),
                            "--reason", "moi", "--approve"])
    assert r.exit_code == 1 and check.status == "pending"
    out = tmp_path / "released.csv"
    r = runner.invoke(app, ["datahub", "release", str(check.id), "--as", email_of("hub_reviewer"),
                            "--reason", "Conforme.", "--approve", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert check.status == "approved" and out.read_text() == check.checked_csv
    r = runner.invoke(app, ["datahub", "release", "999999", "--as", email_of("hub_reviewer"),
                            "--reason", "x", "--refuse"])
    assert r.exit_code == 1 and "introuvable" in r.output
