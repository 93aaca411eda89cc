"""Pages: the catalogue, a dataset, the registry and a project are public; drafts are
their owner's; the submission form and the reviewers' forms."""

from __future__ import annotations

from sqlalchemy import func, select

from esante.datahub.models import Project
from tests.core.test_auth import csrf_of, login
from tests.datahub.factories import make_project, register


def test_public_pages_without_login(client, personas, db) -> None:
    register(db)
    submitted = make_project(db, personas, "submitted")
    closed = make_project(db, personas, "closed")
    draft = make_project(db, personas, "draft")
    page = client.get("/donnees-de-sante")
    assert page.status_code == 200 and "Population (synthétique)" in page.text
    page = client.get("/donnees-de-sante/jeux/synth-stays")
    assert page.status_code == 200 and "Diagnostic principal (CIM-10)" in page.text
    assert "Donnée sensible" in page.text and "Identifiant direct" in page.text
    assert client.get("/donnees-de-sante/jeux/nope").status_code == 404
    page = client.get("/donnees-de-sante/projets")
    assert page.status_code == 200
    assert submitted.reference in page.text and closed.reference in page.text
    assert "Délai médian : 2 j." in page.text  # results at the end
    assert f"/donnees-de-sante/projets/{draft.id}\"" not in page.text
    page = client.get(f"/donnees-de-sante/projets/{closed.id}")
    assert page.status_code == 200
    for label in ("Dépôt", "Dossier complet", "Avis du comité éthique", "Autorisation",
                  "Résultats publiés"):
        assert label in page.text
    assert 'id="completeness-form"' not in page.text
    assert client.get(f"/donnees-de-sante/projets/{draft.id}").status_code == 404


def test_drafts_are_the_owners(client, personas, db) -> None:
    draft = make_project(db, personas, "draft")
    login(client, personas, "hub_reviewer")
    assert client.get(f"/donnees-de-sante/projets/{draft.id}").status_code == 404
    client.post("/logout", data={"csrf_token": csrf_of(client.get("/account").text)})
    login(client, personas, "researcher")
    page = client.get(f"/donnees-de-sante/projets/{draft.id}")
    assert page.status_code == 200 and 'id="submit-form"' in page.text


def test_submission_form(client, personas, db) -> None:
    register(db)
    login(client, personas, "researcher")
    page = client.get("/donnees-de-sante/projets/nouveau")
    assert 'value="synth-stays.main_diagnosis"' in page.text
    form = {"csrf_token": csrf_of(page.text), "title": "Cataracte et chutes",
            "purpose": "Mesurer l'effet de la chirurgie de la cataracte sur les chutes.",
            "team": "Dr Paul Durand ; CHU de Lille ; investigateur", "methodology": "MR-004",
            "duration_months": "18", "k": "5", "expected_outputs": "Un article.",
            "columns": ["synth-people.nir", "synth-stays.main_diagnosis"], "action": "submit"}
    r = client.post("/donnees-de-sante/projets/nouveau", data=form)
    assert r.status_code == 422
    assert "identifiant direct demandé sans autorisation d&#39;appariement" in r.text
    assert 'value="Cataracte et chutes"' in r.text  # what was typed is kept
    assert db.scalar(select(func.count()).select_from(Project)) == 0
    form["columns"] = ["synth-people.birth_date", "synth-stays.main_diagnosis"]
    r = client.post("/donnees-de-sante/projets/nouveau", data=form)
    assert r.status_code == 422 and "engagement de conformité" in r.text
    form["conformity_commitment"] = "1"
    r = client.post("/donnees-de-sante/projets/nouveau", data=form, follow_redirects=False)
    assert r.status_code == 303
    project = db.scalar(select(Project))
    assert project.status == "submitted" and project.team[0]["affiliation"] == "CHU de Lille"
    assert r.headers["location"] == f"/donnees-de-sante/projets/{project.id}"
    mine = client.get("/donnees-de-sante/mes-projets")
    assert "Cataracte et chutes" in mine.text


def test_reviewer_forms(client, personas, db) -> None:
    project = make_project(db, personas, "submitted")
    login(client, personas, "hub_reviewer")
    queue = client.get("/donnees-de-sante/evaluation")
    assert queue.status_code == 200 and project.reference in queue.text
    page = client.get(f"/donnees-de-sante/projets/{project.id}")
    token = csrf_of(page.text)
    assert 'id="completeness-form"' in page.text
    url = f"/donnees-de-sante/projets/{project.id}/action"
    r = client.post(url, data={"csrf_token": token, "action": "completeness", "complete": "no"},
                    follow_redirects=True)
    assert "dites ce qui manque au dossier" in r.text and project.status == "submitted"
    client.post(url, data={"csrf_token": token, "action": "completeness", "complete": "yes"})
    r = client.post(url, data={"csrf_token": token, "action": "opinion", "opinion": "favourable",
                               "text": ""}, follow_redirects=True)
    assert "formulaire invalide" in r.text
    client.post(url, data={"csrf_token": token, "action": "opinion",
                           "opinion": "unfavourable", "text": "Risque de réidentification."})
    r = client.post(url, data={"csrf_token": token, "action": "decision", "authorised": "no",
                               "text": "Avis défavorable suivi."}, follow_redirects=True)
    assert "Refusé" in r.text and "Avis défavorable suivi." in r.text
    db.refresh(project)
    assert project.status == "refused" and project.opinion == "unfavourable"
