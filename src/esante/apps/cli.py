"""``esante apps``: app files, referencing decisions, signing keys, the doctrine."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

apps_app = typer.Typer(help="Applications référencées et serveur d'autorisation SMART.",
                       no_args_is_help=True)


def _principal(session: Any, email: str) -> Any:
    from esante.core.accounts import service as accounts
    from esante.core.errors import NotFound
    from esante.core.policy import Principal

    user = accounts.get_user_by_email(session, email)
    if user is None:
        raise NotFound(f"compte inconnu : {email}")
    return Principal.of(user)


@apps_app.command("create")
def create(
    file: Annotated[Path, typer.Argument(help="dossier de l'application (JSON)")],
    publisher: Annotated[str, typer.Option("--publisher", help="courriel de l'éditeur")],
    service_user: Annotated[str, typer.Option(
        "--service-user", help="application d'établissement : le compte au nom duquel elle "
        "agit (ses droits bornent ceux de l'application)")] = "",
) -> None:
    """Dépose le dossier d'une application ; affiche son numéro et son client_id."""
    from pydantic import ValidationError

    from esante.apps import service
    from esante.apps.schemas import AppFileIn
    from esante.cli import _run, console, fail

    try:
        data = AppFileIn.model_validate(json.loads(file.read_text()))
    except (OSError, json.JSONDecodeError) as exc:
        fail(f"lecture de {file} impossible : {exc}")
        return
    except ValidationError as exc:
        first = exc.errors()[0]
        fail(f"dossier invalide : {'.'.join(map(str, first['loc']))} — "
             f"{str(first['msg']).removeprefix('Value error, ')}")
        return

    def go(session: Any) -> tuple[int, str, list[dict[str, Any]]]:
        owner = _principal(session, publisher)
        user = _principal(session, service_user).user if service_user else None
        app = service.create_app(session, owner, data, service_user=user)
        return app.id, app.client_id, app.checks

    app_id, client_id, checks = _run(go)
    for c in checks:
        console.print(f"{'✓' if c['ok'] else '✗'} {c['requirement']} {c['detail']}", highlight=False)
    console.print(f"application {app_id} client_id={client_id}", highlight=False)


@apps_app.command("submit")
def submit(app_id: int, publisher: Annotated[str, typer.Option("--publisher")]) -> None:
    """Soumet un dossier à l'instruction."""
    from esante.apps import service
    from esante.cli import _run, console

    _run(lambda s: service.submit(s, _principal(s, publisher), service.get_app(s, app_id)))
    console.print(f"application {app_id} soumise")


@apps_app.command("decide")
def decide(
    app_id: int,
    decision: Annotated[str, typer.Argument(help="publish, reject, suspend ou reinstate")],
    reviewer: Annotated[str, typer.Option("--reviewer", help="courriel du relecteur")],
    reasons: Annotated[str, typer.Option("--reasons", help="motifs (10 caractères au moins)")],
) -> None:
    """Décision motivée sur un dossier ; « suspend » révoque tous les jetons de l'application."""
    from esante.apps import service
    from esante.apps.schemas import DecisionIn
    from esante.cli import _run, console, fail

    if decision not in ("publish", "reject", "suspend", "reinstate"):
        fail(f"décision inconnue : {decision} (publish, reject, suspend, reinstate)")
    if len(reasons.strip()) < 10:
        fail("motifs trop courts (10 caractères au moins)")
    data = DecisionIn(decision=decision, reasons=reasons)  # type: ignore[arg-type]
    app = _run(lambda s: service.decide(s, _principal(s, reviewer), service.get_app(s, app_id),
                                        data.decision, data.reasons).status)
    console.print(f"application {app_id} : {app}")


@apps_app.command("list")
def list_apps(status: Annotated[str, typer.Option(help="statut (vide : tous)")] = "") -> None:
    """Liste les applications."""
    from rich.table import Table

    from esante.apps import service
    from esante.cli import _run, console

    rows = _run(lambda s: [(a.id, a.name, a.publisher_name, a.status, a.client_id)
                           for a in service.list_apps(s, status=status or None)])
    table = Table("n°", "application", "éditeur", "statut", "client_id")
    for r in rows:
        table.add_row(*map(str, r))
    console.print(table)


@apps_app.command("due")
def due() -> None:
    """Les applications publiées dont le réexamen périodique est dû."""
    from esante.apps import service
    from esante.cli import _run, console

    rows = _run(lambda s: [(a.id, a.name, a.review_due_on) for a in service.due_for_review(s)])
    for app_id, name, day in rows:
        console.print(f"{app_id} {name} : réexamen dû depuis le {day:%d/%m/%Y}", highlight=False)
    if not rows:
        console.print("aucun réexamen dû")


@apps_app.command("rotate-key")
def rotate_key() -> None:
    """Renouvelle la clé de signature des jetons (l'ancienne reste publiée un jour)."""
    from esante.apps import keys
    from esante.cli import _run, console
    from esante.core.audit import Actor

    kid = _run(lambda s: keys.rotate(s, actor=Actor.system("esante apps")).kid)
    console.print(f"nouvelle clé : {kid}")


@apps_app.command("doctrine")
def doctrine() -> None:
    """Affiche la doctrine technique en vigueur (JSON)."""
    from esante.apps.doctrine import doctrine_out
    from esante.cli import _run

    typer.echo(json.dumps(_run(doctrine_out), ensure_ascii=False, indent=2))


@apps_app.command("purge")
def purge() -> None:
    """Supprime ce qui a expiré : demandes en attente, lancements, identifiants d'assertions,
    codes, jetons, appels notés pour les limites de débit ; affiche les nombres."""
    from esante.apps import upkeep
    from esante.cli import _run, console

    counts = _run(upkeep.purge)
    for key, label in upkeep.PURGED.items():
        console.print(f"{counts[key]:>6} {label}", highlight=False)
    console.print(f"{sum(counts.values())} ligne(s) supprimée(s)", highlight=False)


@apps_app.command("remind")
def remind() -> None:
    """Prévient les relecteurs et l'éditeur des réexamens périodiques dus (une fois par
    échéance)."""
    from esante.apps import upkeep
    from esante.cli import _run, console

    rows = _run(lambda s: [(a.id, a.name, a.review_due_on)
                           for a in upkeep.remind_due_reviews(s)])
    for app_id, name, day in rows:
        console.print(f"{app_id} {name} : relance envoyée (réexamen dû le {day:%d/%m/%Y})",
                      highlight=False)
    console.print(f"{len(rows)} relance(s) envoyée(s)", highlight=False)
