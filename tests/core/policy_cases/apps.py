"""The apps domain's lines of the policy matrix: the catalogue and the doctrine are public;
publishers file apps (only their own), reviewers decide, everyone manages the apps they
connected (only their own grants). The OAuth endpoints have their own authentication
(client, PKCE, signed assertions) and are tested in tests/apps."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from esante.apps import service
from esante.apps.models import (
    App,
    AppGrant,
    AppReview,
    DoctrineVersion,
    IssuedToken,
    RequirementComment,
    SigningKey,
)
from esante.apps.schemas import AppFileIn
from esante.core.policy import Principal
from tests.apps.conftest import app_file, published_app
from tests.core.policy_base import EVERYONE, Case, _c, _p

PUBLISHERS = frozenset({"publisher", "admin"})
PUBLISHER = frozenset({"publisher"})
REVIEWERS = frozenset({"app_reviewer", "admin"})
ADMIN = frozenset({"admin"})
ENDS = (date.today() + timedelta(days=30)).isoformat()
CITIZEN = frozenset({"citizen"})
A = "/api/apps/{app_id}"
PAGE = "/applications/{app_id}"
FILE_FORM = {
    "name": "Vaccins Faciles", "publisher_name": "Vaccins SAS", "siret": "73282932000074",
    "purpose": "Tenir son carnet de vaccination", "category": "prevention",
    "description": "Carnet de vaccination.", "privacy_url": "https://vaccins.exemple.fr/vie-privee",
    "hosting_certificate": "HDS-2025-0007", "support_email": "aide@vaccins.exemple.fr",
    "scopes": "patient/Immunization.rs : afficher vos vaccinations",
    "redirect_uris": "https://vaccins.exemple.fr/retour", "pkce": "oui"}

API_CASES: list[Case] = [
    _c("GET", "/api/apps", EVERYONE, public=True),
    _c("GET", "/api/apps/doctrine", EVERYONE, public=True),
    _c("GET", A, EVERYONE, public=True, label="/api/apps/{app_published}"),
    _c("GET", A, PUBLISHER | REVIEWERS, label="/api/apps/{app_draft}"),
    _c("GET", "/api/apps/doctrine/versions", EVERYONE, public=True),
    _c("GET", "/api/apps/doctrine/versions/{version}", EVERYONE, public=True,
       label="/api/apps/doctrine/versions/1.0"),
    _c("POST", "/api/apps/doctrine/versions", ADMIN, ok=(201,),
       body={"version": "1.1", "title": "Doctrine 1.1", "ends_on": ENDS}),
    _c("POST", "/api/apps/doctrine/versions/{version}/publish", ADMIN,
       label="/api/apps/doctrine/versions/{doctrine_open}/publish"),
    _c("POST", "/api/apps/doctrine/requirements/{requirement_id}/comments", EVERYONE, ok=(201,),
       label="/api/apps/doctrine/requirements/{doctrine_requirement}/comments",
       body={"body": "Un commentaire de la matrice."}),
    _c("POST", "/api/apps/doctrine/comments/{comment_id}/answer", ADMIN,
       label="/api/apps/doctrine/comments/{doctrine_comment}/answer",
       body={"body": "Une réponse de la matrice."}),
    _c("GET", "/api/apps/connections", EVERYONE),
    _c("DELETE", "/api/apps/connections/{grant_id}", CITIZEN, denied=404, ok=(204,),
       label="/api/apps/connections/{app_grant}"),
    _c("GET", "/api/apps/review", REVIEWERS),
    _c("POST", "/api/apps/keys/rotate", frozenset({"admin"})),
    _c("POST", "/api/apps", PUBLISHERS, ok=(201,), body=app_file()),
    _c("POST", A + "/submit", PUBLISHER, label="/api/apps/{app_draft}/submit"),
    _c("POST", A + "/decision", REVIEWERS, label="/api/apps/{app_submitted}/decision",
       body={"decision": "publish", "reasons": "dossier conforme à la doctrine"}),
]

PAGE_ROUTES: dict[tuple[str, str], str] = {
    ("GET", "/applications"): "public",
    ("GET", "/applications/doctrine"): "public",
    ("GET", "/applications/connectees"): "page",
}

ROLE_PAGES: list[Case] = [
    _p("GET", "/applications/editeur", PUBLISHERS),
    _p("POST", "/applications/editeur", PUBLISHERS, body=FILE_FORM,
       extra={"to": "/applications/"}),
    _p("GET", "/applications/instruction", REVIEWERS),
    _p("POST", PAGE + "/soumettre", PUBLISHER, label="/applications/{app_draft}/soumettre",
       extra={"to": "/applications/{app_draft}"}),
    _p("POST", PAGE + "/decision", REVIEWERS, label="/applications/{app_submitted}/decision",
       body={"decision": "publish", "reasons": "dossier conforme à la doctrine"},
       extra={"to": "/applications/{app_submitted}"}),
    _p("POST", "/applications/doctrine/exigences/{requirement_id}/commentaires", EVERYONE,
       label="/applications/doctrine/exigences/{doctrine_requirement}/commentaires",
       body={"body": "Un commentaire de la matrice."},
       extra={"to": "/applications/doctrine/versions/{doctrine_open}"}),
    _p("POST", "/applications/doctrine/commentaires/{comment_id}/reponse", ADMIN,
       label="/applications/doctrine/commentaires/{doctrine_comment}/reponse",
       body={"body": "Une réponse de la matrice."},
       extra={"to": "/applications/doctrine/versions/{doctrine_open}"}),
    _p("POST", "/applications/connectees/{grant_id}/retirer", CITIZEN, denied=404,
       label="/applications/connectees/{app_grant}/retirer",
       extra={"to": "/applications/connectees"}),
]

_OAUTH = "its own authentication (client id, PKCE, private_key_jwt): tests/apps/test_oauth.py"
OTHER_ROUTES: dict[tuple[str, str], str] = {
    ("POST", PAGE + "/lancer"): "EHR launch, professionals who may read the record: "
                               "tests/apps/test_ehr_launch.py",
    ("GET", "/applications/doctrine/versions/{version}"): "public: a version and its comments, "
                                                          "tests/apps/test_doctrine.py",
    ("GET", PAGE): "public once published, drafts to their publisher and the reviewers: "
                   "tests/apps/test_pages.py",
    ("GET", "/oauth/authorize"): "the consent screen, signed-in people: tests/apps/test_oauth.py",
    ("POST", "/oauth/authorize"): "the consent answer (CSRF): tests/apps/test_oauth.py",
    ("GET", "/oauth/reprise/{pending_id}"): "public: back to an authorisation request after "
                                            "login, tests/apps/test_pages.py",
    ("POST", "/oauth/token"): _OAUTH,
    ("POST", "/oauth/revoke"): _OAUTH,
    ("POST", "/oauth/introspect"): _OAUTH,
    ("GET", "/oauth/jwks"): "public: the signing keys, tests/apps/test_oauth.py",
    ("GET", "/.well-known/smart-configuration"): "public: discovery, tests/apps/test_oauth.py",
    ("GET", "/fhir/.well-known/smart-configuration"): "public: discovery, tests/apps/test_oauth.py",
    ("GET", "/.well-known/openid-configuration"): "public: discovery, tests/apps/test_oauth.py",
}

COUNTED: tuple[Any, ...] = (App, AppReview, AppGrant, IssuedToken, SigningKey, DoctrineVersion,
                            RequirementComment)


def placeholders(targets: Any, name: str) -> dict[str, Any]:
    def publisher() -> Principal:
        return Principal.of(targets.personas.users["publisher"])

    def draft() -> int:
        return int(targets.once("app_draft", lambda: service.create_app(
            targets.db, publisher(), AppFileIn(**app_file())).id))

    def submitted() -> int:
        def make() -> int:
            app = service.create_app(targets.db, publisher(), AppFileIn(**app_file()))
            service.submit(targets.db, publisher(), app)
            return app.id
        return int(targets.once("app_submitted", make))

    def published() -> int:
        return int(targets.once("app_published",
                                lambda: published_app(targets.db, targets.personas).id))

    def grant() -> int:
        def make() -> int:
            app = targets.db.get(App, published())
            citizen = Principal.of(targets.personas.users["citizen"])
            return service.record_consent(targets.db, citizen, app, "patient/Observation.rs",
                                          None).id
        return int(targets.once("app_grant", make))

    def doctrine_open() -> str:
        def make() -> str:
            from esante.apps import consultation

            admin = Principal.of(targets.personas.users["admin"])
            return consultation.open_consultation(
                targets.db, admin, version="9.0", title="Doctrine de la matrice",
                ends_on=date.today() + timedelta(days=10)).version
        return str(targets.once("doctrine_open", make))

    def requirement() -> int:
        def make() -> int:
            from esante.apps import consultation

            v = consultation.get_version(targets.db, doctrine_open())
            return consultation.requirements(targets.db, v)[0].id
        return int(targets.once("doctrine_requirement", make))

    def comment() -> int:
        def make() -> int:
            from esante.apps import consultation

            publisher_ = Principal.of(targets.personas.users["publisher"])
            return consultation.comment(targets.db, publisher_, requirement(),
                                        "Un commentaire à qui répondre.").id
        return int(targets.once("doctrine_comment", make))

    return {"{doctrine_open}": doctrine_open, "{doctrine_requirement}": requirement,
            "{doctrine_comment}": comment,
            "{app_draft}": draft, "{app_submitted}": submitted, "{app_published}": published,
            "{app_grant}": grant}
