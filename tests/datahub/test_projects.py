"""Projects: every transition of the review and every refusal, dated, attributed and
audited; the registry is public, drafts are their owner's; extract_request for the
pipeline."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from esante.core.accounts import service as accounts
from esante.core.audit import Actor, AuditEvent
from esante.core.errors import Conflict, Forbidden, Invalid, NotFound
from esante.datahub import projects
from esante.datahub.extract import extract_request
from esante.datahub.models import Project, ProjectEvent
from esante.datahub.schemas import CompletenessIn, DecisionIn, OpinionIn, ResultsIn
from tests.datahub.factories import body, make_project, principal, register


def kinds(db, project: Project) -> list[str]:  # type: ignore[no-untyped-def]
    return [e.kind for e in projects.timeline(db, project)]


def audited(db, project: Project) -> list[str]:  # type: ignore[no-untyped-def]
    return list(db.scalars(select(AuditEvent.action).where(
        AuditEvent.object_type == "project", AuditEvent.object_id == str(project.id))
        .order_by(AuditEvent.id)))


def test_full_review_under_a_specific_authorisation(db, personas) -> None:
    project = make_project(db, personas, "closed")
    assert project.status == "closed"
    assert project.reference.startswith("HDH-")
    assert kinds(db, project) == ["created", "submitted", "complete", "opinion", "approved",
                                  "closed"]
    assert audited(db, project) == [f"datahub.project.{k}" for k in kinds(db, project)]
    events = projects.timeline(db, project)
    assert {e.actor_label for e in events[2:5]} == {personas.users["hub_reviewer"].display_name}
    assert all(e.at is not None for e in events)
    assert project.approved_k == 5 and project.approved_l == 2
    assert project.approved_l_column == "synth-stays.main_diagnosis"
    assert project.suppression_limit == pytest.approx(0.10)
    assert project.submitted_at <= project.opinion_at <= project.decided_at <= project.closed_at


def test_reference_methodology_skips_the_authorisation(db, personas) -> None:
    project = make_project(db, personas, "complete", methodology="MR-004",
                           conformity_commitment=True)
    projects.give_opinion(db, principal(personas, "hub_reviewer"), project, OpinionIn(
        opinion="favourable_with_recommendations", reasons="Préciser la durée de conservation."))
    assert project.status == "approved"
    assert kinds(db, project)[-2:] == ["opinion", "conformity"]
    assert project.approved_k == project.requested_k


def test_reserved_opinion_on_a_reference_methodology_needs_a_decision(db, personas) -> None:
    project = make_project(db, personas, "complete", methodology="MR-004",
                           conformity_commitment=True)
    reviewer = principal(personas, "hub_reviewer")
    projects.give_opinion(db, reviewer, project, OpinionIn(opinion="reserved",
                                                           reasons="Finalité floue."))
    assert project.status == "opinion_given"
    projects.decide(db, reviewer, project, DecisionIn(authorised=False, reasons="Avis réservé."))
    assert project.status == "refused"
    assert kinds(db, project)[-1] == "refused"
    with pytest.raises(Conflict, match="Refusé"):
        projects.publish_results(db, principal(personas, "researcher"), project,
                                 ResultsIn(results="x"))


def test_returned_then_submitted_again(db, personas) -> None:
    project = make_project(db, personas, "submitted")
    reviewer, owner = principal(personas, "hub_reviewer"), principal(personas, "researcher")
    with pytest.raises(Invalid, match="ce qui manque"):
        projects.check_completeness(db, reviewer, project, CompletenessIn(complete=False))
    projects.check_completeness(db, reviewer, project,
                                CompletenessIn(complete=False, note="Équipe incomplète."))
    assert project.status == "returned"
    reference = project.reference
    projects.submit(db, owner, project)
    assert project.status == "submitted" and project.reference == reference
    assert kinds(db, project) == ["created", "submitted", "returned", "submitted"]


def test_the_decision_may_raise_k(db, personas) -> None:
    project = make_project(db, personas, "opinion_given")
    projects.decide(db, principal(personas, "hub_reviewer"), project, DecisionIn(
        authorised=True, reasons="k relevé.", k=10, suppression_limit=0.05))
    assert (project.approved_k, project.suppression_limit) == (10, 0.05)


@pytest.mark.parametrize(("stage", "step"), [
    ("draft", "completeness"), ("submitted", "opinion"), ("complete", "decision"),
    ("opinion_given", "results"), ("approved", "opinion"), ("submitted", "submit"),
])
def test_steps_out_of_order_are_refused(db, personas, stage, step) -> None:
    project = make_project(db, personas, stage)
    before = kinds(db, project)
    reviewer, owner = principal(personas, "hub_reviewer"), principal(personas, "researcher")
    calls: dict[str, Any] = {
        "completeness": lambda: projects.check_completeness(db, reviewer, project,
                                                            CompletenessIn(complete=True)),
        "opinion": lambda: projects.give_opinion(db, reviewer, project, OpinionIn(
            opinion="favourable", reasons="ok")),
        "decision": lambda: projects.decide(db, reviewer, project,
                                            DecisionIn(authorised=True, reasons="ok")),
        "results": lambda: projects.publish_results(db, owner, project, ResultsIn(results="r")),
        "submit": lambda: projects.submit(db, owner, project),
    }
    with pytest.raises(Conflict, match="impossible de"):
        calls[step]()
    assert kinds(db, project) == before


def test_only_reviewers_review_and_never_their_own(db, personas) -> None:
    project = make_project(db, personas, "submitted")
    for name in ("researcher", "admin", "citizen", "ttp"):
        with pytest.raises(Forbidden):
            projects.check_completeness(db, principal(personas, name), project,
                                        CompletenessIn(complete=True))
    # a reviewer who is also a researcher submits a project: they may not review it
    both = personas.users["hub_reviewer"]
    accounts.grant_role(db, actor=Actor.system("tests"), user=both, role="researcher",
                        scope_kind="nation", scope_ref="")
    db.refresh(both)
    own = projects.create(db, principal(personas, "hub_reviewer"), body())
    projects.submit(db, principal(personas, "hub_reviewer"), own)
    with pytest.raises(Forbidden):
        projects.check_completeness(db, principal(personas, "hub_reviewer"), own,
                                    CompletenessIn(complete=True))
    # nor submit someone else's
    with pytest.raises(Forbidden):
        projects.submit(db, principal(personas, "hub_reviewer"),
                        make_project(db, personas, "draft"))


@pytest.mark.parametrize(("overrides", "message"), [
    ({"columns": ["synth-stays.nope"]}, "la colonne « nope » n'existe pas dans synth-stays"),
    ({"columns": ["synth-nothing.sex"]}, "jeu de données inconnu : « synth-nothing »"),
    ({"columns": ["main_diagnosis"]}, "la forme attendue est jeu.colonne"),
    ({"columns": ["synth-people.nir"]}, "identifiant direct demandé sans autorisation "
                                         "d'appariement : synth-people.nir"),
    ({"columns": ["synth-stays.person_id"]}, "identifiant direct"),
    ({"columns": ["synth-people.nir"], "linkage": True}, "identifiant direct"),
    ({"linkage": True}, "l'appariement demandé doit être justifié"),
    ({"methodology": "MR-004"}, "engagement de conformité"),
    ({"methodology": "MR-004", "conformity_commitment": True, "linkage": True,
      "linkage_justification": "chaînage"}, "autorisation spécifique"),
    ({"k": 3}, "en dessous du minimum"),
    ({"k": 9_999}, "impossible : plus grand que la population"),
    ({"l": 6, "k": 5}, "l = 6 ne peut dépasser k = 5"),
    ({"l_column": "synth-claims.atc"}, "doit faire partie des colonnes demandées"),
    ({"l_column": "synth-people.sex"}, "doit être une donnée sensible"),
    ({"l_column": None}, "l et sa colonne sensible vont ensemble"),
    ({"columns": ["synth-people.sex", "synth-people.sex"], "l": None, "l_column": None},
     "demandée deux fois"),
])
def test_bad_requests_are_refused_precisely(db, personas, overrides, message) -> None:
    register(db)
    count = db.scalar(select(func.count()).select_from(Project))
    with pytest.raises(Invalid) as exc:
        projects.create(db, principal(personas, "researcher"), body(**overrides))
    assert message in exc.value.fr
    assert db.scalar(select(func.count()).select_from(Project)) == count


def test_linkage_with_justification_may_ask_for_the_nir(db, personas) -> None:
    project = make_project(db, personas, "draft", linkage=True,
                           linkage_justification="Chaînage avec une cohorte (tiers de confiance).",
                           columns=["synth-people.nir", "synth-stays.main_diagnosis"])
    assert project.linkage


def test_registry_and_queues(db, personas) -> None:
    draft = make_project(db, personas, "draft")
    submitted = make_project(db, personas, "submitted")
    complete = make_project(db, personas, "complete")
    _total, rows = projects.registry(db)
    ids = {p.id for p in rows}
    assert submitted.id in ids and complete.id in ids and draft.id not in ids
    queue = projects.queue(db, principal(personas, "hub_reviewer"))
    assert [p.id for p in queue["submitted"]] == [submitted.id]
    assert [p.id for p in queue["complete"]] == [complete.id]
    assert {p.id for p in projects.mine(db, principal(personas, "researcher"))} >= {
        draft.id, submitted.id}
    with pytest.raises(NotFound):
        projects.get_project(db, principal(personas, "hub_reviewer"), draft.id)
    with pytest.raises(NotFound):
        projects.get_project(db, None, draft.id)
    assert projects.get_project(db, None, submitted.id) is submitted


def test_extract_request(db, personas) -> None:
    project = make_project(db, personas, "approved")
    req = extract_request(db, project.id)
    assert req["k"] == 5 and req["l"] == 2 and req["suppression_limit"] == 0.1
    assert req["l_column"] == {"dataset": "synth-stays", "column": "main_diagnosis"}
    by_slug = {d["slug"]: d for d in req["datasets"]}
    assert set(by_slug) == {"synth-people", "synth-stays"}
    stays = by_slug["synth-stays"]
    assert stays["path"].endswith("stays.parquet") and stays["person_id_column"] == "person_id"
    assert [(c["name"], c["sensitivity"], c["hierarchy"]) for c in stays["columns"]] == [
        ("admission_date", "quasi_identifier", "date"), ("main_diagnosis", "sensitive", "")]
    assert req["people"]["nir_column"] == "nir"
    with pytest.raises(Conflict, match="seul un projet autorisé"):
        extract_request(db, make_project(db, personas, "complete").id)
    with pytest.raises(NotFound):
        extract_request(db, 999_999)


def test_api_workflow(client, personas, db) -> None:
    register(db)
    researcher, reviewer = personas.auth("researcher"), personas.auth("hub_reviewer")
    payload = body().model_dump(mode="json")
    r = client.post("/api/datahub/projects", json=payload, headers=researcher)
    assert r.status_code == 201, r.text
    pid = r.json()["id"]
    assert r.json()["status"] == "draft"
    assert client.get(f"/api/datahub/projects/{pid}").status_code == 404  # anonymous
    assert client.get(f"/api/datahub/projects/{pid}", headers=reviewer).status_code == 404
    assert client.get(f"/api/datahub/projects/{pid}", headers=researcher).status_code == 200
    assert client.post(f"/api/datahub/projects/{pid}/submit", headers=researcher).status_code == 200
    for step, data in (("completeness", {"complete": True}),
                       ("opinion", {"opinion": "favourable", "reasons": "Intérêt public."}),
                       ("decision", {"authorised": True, "reasons": "Conforme.", "k": 8})):
        r = client.post(f"/api/datahub/projects/{pid}/{step}", json=data, headers=reviewer)
        assert r.status_code == 200, r.text
    public = client.get(f"/api/datahub/projects/{pid}").json()  # anonymous, public now
    assert public["status"] == "approved" and public["approved_k"] == 8
    assert [e["kind"] for e in public["timeline"]] == [
        "created", "submitted", "complete", "opinion", "approved"]
    assert "path" not in str(public)
    req = client.get(f"/api/datahub/projects/{pid}/extract-request", headers=personas.auth("ttp"))
    assert req.status_code == 200 and req.json()["k"] == 8
    registry = client.get("/api/datahub/projects").json()
    assert pid in [x["id"] for x in registry["items"]]


def test_api_refusals_are_problem_json_in_french(client, personas, db) -> None:
    register(db)
    payload = body(columns=["synth-people.nir"], l=None, l_column=None).model_dump(mode="json")
    before = db.scalar(select(func.count()).select_from(ProjectEvent))
    r = client.post("/api/datahub/projects", json=payload, headers=personas.auth("researcher"))
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "identifiant direct" in r.json()["detail"]
    assert db.scalar(select(func.count()).select_from(ProjectEvent)) == before
    payload = body().model_dump(mode="json") | {"k": "beaucoup"}
    r = client.post("/api/datahub/projects", json=payload, headers=personas.auth("researcher"))
    assert r.status_code == 422
    pid = make_project(db, personas, "submitted").id
    r = client.post(f"/api/datahub/projects/{pid}/opinion", headers=personas.auth("hub_reviewer"),
                    json={"opinion": "favourable", "reasons": "ok"})
    assert r.status_code == 409
    assert "impossible de rendre l'avis éthique" in r.json()["detail"]
    r = client.post(f"/api/datahub/projects/{pid}/opinion", headers=personas.auth("hub_reviewer"),
                    json={"opinion": "bof", "reasons": "ok"})
    assert r.status_code == 422


def test_registry_filter(client, personas, db) -> None:
    submitted = make_project(db, personas, "submitted")
    approved = make_project(db, personas, "approved")
    r = client.get("/api/datahub/projects", params={"status": "approved"})
    assert [x["id"] for x in r.json()["items"]] == [approved.id]
    assert submitted.id not in [x["id"] for x in r.json()["items"]]
    assert client.get("/api/datahub/projects", params={"status": "draft"}).status_code == 422


def test_the_owner_edits_a_returned_project(client, personas, db) -> None:
    project = make_project(db, personas, "submitted")
    auth = personas.auth("researcher")
    url = f"/api/datahub/projects/{project.id}"
    fixed = body(columns=["synth-people.sex", "synth-stays.main_diagnosis"],
                 title="Titre complété").model_dump(mode="json")
    r = client.put(url, json=fixed, headers=auth)
    assert r.status_code == 409 and "impossible de modifier le projet" in r.json()["detail"]
    projects.check_completeness(db, principal(personas, "hub_reviewer"), project,
                                CompletenessIn(complete=False, note="Colonnes à réduire."))
    r = client.put(url, json=body(columns=["synth-stays.nope"]).model_dump(mode="json"),
                   headers=auth)
    assert r.status_code == 422 and "n'existe pas" in r.json()["detail"]
    r = client.put(url, json=fixed, headers=auth)
    assert r.status_code == 200, r.text
    assert r.json()["title"] == "Titre complété"
    assert [c["column"] for c in r.json()["columns"]] == ["sex", "main_diagnosis"]
    assert r.json()["timeline"][-1]["kind"] == "edited"
    assert client.put(url, json=fixed, headers=personas.auth("hub_reviewer")).status_code == 403
