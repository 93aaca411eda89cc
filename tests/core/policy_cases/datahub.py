"""The data hub's lines of the policy matrix: the catalogue and the registry are public;
researchers submit, reviewers review (never their own), citizens manage their opt-outs."""

from __future__ import annotations

from typing import Any

from esante.core.policy import Principal
from esante.datahub import extracts, optout, outputs
from esante.datahub.models import (
    Dataset,
    Extract,
    OptOut,
    OutputCheck,
    Project,
    ProjectColumn,
    ProjectEvent,
)
from tests.core.policy_base import EVERYONE, Case, _c, _p
from tests.datahub.factories import NIR, make_project, register

RESEARCHER = frozenset({"researcher"})
REVIEWER = frozenset({"hub_reviewer"})
CITIZEN = frozenset({"citizen"})
P = "/api/datahub/projects/{project_id}"
PAGE = "/donnees-de-sante/projets/{project_id}"
PROJECT_FORM = {
    "title": "{dh_catalogue_title}", "team": "Dr Claire Martin ; Inserm ; investigatrice",
    "purpose": "Mesurer les réhospitalisations après une fracture du col du fémur.",
    "methodology": "MR-004", "conformity_commitment": "1",
    "columns": "synth-stays.main_diagnosis", "duration_months": "12", "k": "5",
    "expected_outputs": "Tableaux agrégés.", "action": "submit"}
TABLE = "Âge,F,M\n18-39,120,95\n40-64,3,4\n65+,88,70\n"
PROJECT_BODY = {
    "title": "{dh_catalogue_title}",
    "purpose": "Mesurer les réhospitalisations après une fracture du col du fémur.",
    "team": [{"name": "Dr Claire Martin", "affiliation": "Inserm"}], "methodology": "MR-004",
    "conformity_commitment": True, "columns": ["synth-stays.main_diagnosis"],
    "duration_months": 12, "expected_outputs": "Tableaux agrégés."}

API_CASES: list[Case] = [
    # public: the catalogue and the registry
    _c("GET", "/api/datahub/datasets", EVERYONE, public=True),
    _c("GET", "/api/datahub/datasets/{slug}", EVERYONE, public=True,
       label="/api/datahub/datasets/{dh_dataset}"),
    _c("GET", "/api/datahub/projects", EVERYONE, public=True),
    _c("GET", P, EVERYONE, public=True, label="/api/datahub/projects/{dh_submitted}"),
    # researchers
    _c("GET", "/api/datahub/my-projects", RESEARCHER),
    _c("POST", "/api/datahub/projects", RESEARCHER, ok=(201,), body=PROJECT_BODY),
    _c("PUT", P, RESEARCHER, denied=404, label="/api/datahub/projects/{dh_draft}",
       body=PROJECT_BODY),
    _c("POST", P + "/submit", RESEARCHER, denied=404,
       label="/api/datahub/projects/{dh_draft}/submit"),
    _c("POST", P + "/results", RESEARCHER, label="/api/datahub/projects/{dh_approved}/results",
       body={"results": "Délai médian : 2 jours."}),
    # reviewers
    _c("GET", "/api/datahub/review-queue", REVIEWER),
    _c("POST", P + "/completeness", REVIEWER,
       label="/api/datahub/projects/{dh_submitted}/completeness", body={"complete": True}),
    _c("POST", P + "/opinion", REVIEWER, label="/api/datahub/projects/{dh_complete}/opinion",
       body={"opinion": "favourable", "reasons": "Intérêt public établi."}),
    _c("POST", P + "/decision", REVIEWER, label="/api/datahub/projects/{dh_opinion}/decision",
       body={"authorised": True, "reasons": "Conforme."}),
    _c("GET", P + "/extract-request", REVIEWER | {"ttp"},
       label="/api/datahub/projects/{dh_approved}/extract-request"),
    # extracts: launched by the hub's reviewers and the trusted third party
    _c("POST", P + "/extracts", REVIEWER | {"ttp"}, ok=(202,), body={"engine": "duckdb"},
       label="/api/datahub/projects/{dh_approved}/extracts"),
    _c("GET", P + "/extracts", REVIEWER | RESEARCHER | {"ttp"},
       label="/api/datahub/projects/{dh_approved}/extracts"),
    # output checks: the owner submits, the hub's reviewers decide
    _c("POST", P + "/output-checks", RESEARCHER, ok=(201,), body={"name": "t", "csv": TABLE},
       label="/api/datahub/projects/{dh_approved}/output-checks"),
    _c("GET", P + "/output-checks", RESEARCHER | REVIEWER,
       label="/api/datahub/projects/{dh_approved}/output-checks"),
    _c("POST", P + "/output-checks/{check_id}/decision", REVIEWER, denied=404,
       denied_for={"researcher": 403}, body={"approve": True, "reason": "Conforme."},
       label="/api/datahub/projects/{dh_approved}/output-checks/{dh_output}/decision"),
    # citizens' opt-outs
    _c("GET", "/api/datahub/opt-outs", CITIZEN),
    _c("POST", "/api/datahub/opt-outs", CITIZEN, ok=(201,), body={"nir": NIR}),
    _c("POST", "/api/datahub/opt-outs/{opt_out_id}/withdraw", CITIZEN,
       label="/api/datahub/opt-outs/{dh_optout}/withdraw"),
    _c("GET", "/api/datahub/opt-outs/count", REVIEWER | {"ttp", "admin"}),
]

PAGE_ROUTES: dict[tuple[str, str], str] = {
    ("GET", "/donnees-de-sante"): "public",
    ("GET", "/donnees-de-sante/projets"): "public",
}

OTHER_ROUTES: dict[tuple[str, str], str] = {
    ("GET", "/donnees-de-sante/jeux/{slug}"): "public: tests/datahub/test_pages.py",
    ("GET", PAGE): "public once submitted, drafts to their owner: tests/datahub/test_pages.py",
    ("GET", P + "/output-checks/{check_id}/released"):
        "an approved table only, to its owner and reviewers: tests/datahub/test_output_release.py",
    ("GET", PAGE + "/sorties/{check_id}/tableau.csv"):
        "an approved table only, to its owner and reviewers: tests/datahub/test_output_release.py",
    ("GET", PAGE + "/extractions/{extract_id}/rapport.json"):
        "a finished extract's report, as its page: tests/datahub/test_extract_pages.py",
    ("GET", PAGE + "/extractions/{extract_id}/rapport.pdf"):
        "a finished extract's report, as its page: tests/datahub/test_extract_pages.py",
}

ROLE_PAGES: list[Case] = [
    _p("GET", "/donnees-de-sante/projets/nouveau", RESEARCHER),
    _p("POST", "/donnees-de-sante/projets/nouveau", RESEARCHER, body=PROJECT_FORM,
       extra={"to": "/donnees-de-sante/projets/"}),
    _p("GET", "/donnees-de-sante/mes-projets", RESEARCHER),
    _p("GET", "/donnees-de-sante/evaluation", REVIEWER),
    _p("POST", PAGE + "/action", REVIEWER, label="/donnees-de-sante/projets/{dh_submitted}/action",
       body={"action": "completeness", "complete": "yes"},
       extra={"to": "/donnees-de-sante/projets/{dh_submitted}"}),
    _p("POST", PAGE + "/action", RESEARCHER, denied=404,
       label="/donnees-de-sante/projets/{dh_draft}/action", body={"action": "submit"},
       extra={"to": "/donnees-de-sante/projets/{dh_draft}"}),
    # extracts: launched by the hub's reviewers and the trusted third party; their reports
    # read by them and by the project's owner
    _p("POST", PAGE + "/extractions", REVIEWER | {"ttp"},
       label="/donnees-de-sante/projets/{dh_approved}/extractions", body={"engine": "duckdb"},
       extra={"to": "/donnees-de-sante/projets/{dh_approved}"}),
    _p("GET", PAGE + "/extractions/{extract_id}", REVIEWER | RESEARCHER | {"ttp"}, denied=404,
       label="/donnees-de-sante/projets/{dh_approved}/extractions/{dh_extract}"),
    # output checks: the owner submits a table, the hub's reviewers decide on its release
    _p("POST", PAGE + "/sorties", RESEARCHER, body={"name": "t", "csv": TABLE},
       label="/donnees-de-sante/projets/{dh_approved}/sorties",
       extra={"to": "/donnees-de-sante/projets/{dh_approved}/sorties/"}),
    _p("GET", PAGE + "/sorties/{check_id}", RESEARCHER | REVIEWER, denied=404,
       label="/donnees-de-sante/projets/{dh_approved}/sorties/{dh_output}"),
    _p("POST", PAGE + "/sorties/{check_id}/decision", REVIEWER, denied=404,
       denied_for={"researcher": 403}, body={"decision": "approve", "reason": "Conforme."},
       label="/donnees-de-sante/projets/{dh_approved}/sorties/{dh_output}/decision",
       extra={"to": "/donnees-de-sante/projets/{dh_approved}/sorties/{dh_output}", "rewrites": True}),
    _p("GET", "/donnees-de-sante/opposition", CITIZEN),
    _p("POST", "/donnees-de-sante/opposition", CITIZEN, body={"action": "record", "nir": NIR},
       extra={"to": "/donnees-de-sante/opposition?ok=record"}),
]

COUNTED: tuple[Any, ...] = (Dataset, Project, ProjectColumn, ProjectEvent, OptOut, Extract,
                            OutputCheck)


def placeholders(targets: Any, name: str) -> dict[str, Any]:
    def project(stage: str) -> Any:
        return lambda: targets.once(f"dh_{stage}", lambda: make_project(
            targets.db, targets.personas, stage).id)

    def catalogue_title() -> str:
        targets.once("dh_catalogue", lambda: register(targets.db) or True)
        return "Réhospitalisations après fracture du col du fémur"

    def dataset() -> str:
        targets.once("dh_catalogue", lambda: register(targets.db) or True)
        return "synth-stays"

    def opt_out() -> int:
        citizen = Principal.of(targets.personas.users["citizen"])
        return int(targets.once("dh_optout", lambda: optout.record(
            targets.db, citizen, nir=NIR).id))

    def extract() -> int:
        reviewer = Principal.of(targets.personas.users["hub_reviewer"])

        def make() -> int:
            approved = targets.db.get(Project, project("approved")())
            return extracts.launch(targets.db, reviewer, approved, engine="duckdb").id

        return int(targets.once("dh_extract", make))

    def output() -> int:
        owner = Principal.of(targets.personas.users["researcher"])

        def make() -> int:
            approved = targets.db.get(Project, project("approved")())
            return outputs.submit(targets.db, owner, approved, name="t", text=TABLE).id

        return int(targets.once("dh_output", make))

    return {
        "{dh_extract}": extract, "{dh_output}": output,
        "{dh_catalogue_title}": catalogue_title, "{dh_dataset}": dataset,
        "{dh_draft}": project("draft"), "{dh_submitted}": project("submitted"),
        "{dh_complete}": project("complete"), "{dh_opinion}": project("opinion_given"),
        "{dh_approved}": project("approved"), "{dh_optout}": opt_out,
    }
