"""Who may do what in the apps domain: publishers file apps, reviewers decide, everyone
manages the apps they connected."""

from __future__ import annotations

from typing import Any

from esante.apps.models import App
from esante.core.accounts.models import Role
from esante.core.policy import Principal, rule


@rule("apps.file.create", write=True, label_fr="déposer le dossier d'une application")
def _create(p: Principal, _t: Any) -> bool:
    return p.has_role(Role.APP_PUBLISHER, Role.ADMIN)


@rule("apps.file.write", write=True, label_fr="modifier le dossier d'une application")
def _write(p: Principal, app: App) -> bool:
    return app.owner_id == p.user.id and p.has_role(Role.APP_PUBLISHER, Role.ADMIN)


@rule("apps.file.read", write=False, label_fr="consulter le dossier d'une application")
def _read(p: Principal, app: App) -> bool:
    return app.owner_id == p.user.id or p.has_role(Role.APP_REVIEWER, Role.ADMIN)


@rule("apps.review", write=True, label_fr="instruire le référencement d'une application")
def _review(p: Principal, _t: Any) -> bool:
    return p.has_role(Role.APP_REVIEWER, Role.ADMIN)


@rule("apps.review.list", write=False, label_fr="voir les dossiers à instruire")
def _review_list(p: Principal, _t: Any) -> bool:
    return p.has_role(Role.APP_REVIEWER, Role.ADMIN)


@rule("apps.keys.rotate", write=True, label_fr="renouveler les clés de signature")
def _rotate(p: Principal, _t: Any) -> bool:
    return p.has_role(Role.ADMIN)


@rule("apps.connections.read", write=False, label_fr="voir ses applications connectées")
def _connections(p: Principal, _t: Any) -> bool:
    return True


@rule("apps.connections.revoke", write=True, label_fr="retirer l'accès d'une application")
def _revoke(p: Principal, _t: Any) -> bool:
    return True


@rule("apps.doctrine.comment", write=True, label_fr="commenter la doctrine en consultation")
def _comment(p: Principal, _t: Any) -> bool:
    return True  # any signed-in user


@rule("apps.doctrine.manage", write=True, label_fr="gérer les versions de la doctrine")
def _manage(p: Principal, _t: Any) -> bool:
    return p.has_role(Role.ADMIN)


@rule("apps.launch", write=False, label_fr="lancer une application depuis un dossier patient")
def _launch(p: Principal, _t: Any) -> bool:
    return p.has_role(Role.PROFESSIONAL)
