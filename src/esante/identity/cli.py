"""``esante ins`` (the identifier itself) and ``esante identity`` (identities and vigilance)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

ins_app = typer.Typer(help="INS : contrôle d'un NIR ou d'un NIA.", no_args_is_help=True)
identity_app = typer.Typer(help="Identités : import, doublons, identitovigilance.",
                           no_args_is_help=True)
directory_app = typer.Typer(help="Annuaire de référence des identités (rôle de l'INSi).",
                            no_args_is_help=True)
identity_app.add_typer(directory_app, name="directory")

console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def _fail(message: str) -> None:
    err.print(f"[red]erreur :[/red] {message}", highlight=False)
    raise typer.Exit(1)


def _bar() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console, transient=True)


@ins_app.command("check")
def check(value: Annotated[str, typer.Argument(help="NIR ou NIA, 15 caractères")],
          directory: Annotated[bool, typer.Option(
              "--from-directory", help="matricule renvoyé par l'annuaire de référence : "
              "une clé fausse est signalée, pas refusée")] = False) -> None:
    """Contrôle un NIR ou un NIA (format, clé, sens) et affiche ce qu'il code."""
    from esante.identity import nir

    report = nir.check(value, from_directory=directory)
    if report.errors:
        _fail(f"{report.value or value} invalide : {report.errors[0]}")
    for line in report.lines():
        console.print(line, highlight=False)
    for warning in report.warnings:
        console.print(f"[yellow]avertissement :[/yellow] {warning}", highlight=False)


@ins_app.command("place")
def place(code: Annotated[str, typer.Argument(help="code INSEE de commune ou de pays (99xxx)")],
          ) -> None:
    """Cherche un lieu de naissance dans le code officiel géographique embarqué."""
    from esante.identity import cog

    found = cog.load().place(code)
    if found is None:
        _fail(f"lieu de naissance {code} inconnu du code officiel géographique embarqué")
    assert found is not None
    console.print(found.label, highlight=False)


@ins_app.command("cog-refresh")
def cog_refresh(source: Annotated[Path, typer.Option(
        "--source", help="dossier data/ du paquet npm @etalab/decoupage-administratif "
        "(npm pack @etalab/decoupage-administratif)")]) -> None:
    """Reconstruit le fichier du code officiel géographique livré avec esante."""
    from esante.identity import cog

    try:
        content = cog.build(source)
    except (FileNotFoundError, KeyError, ValueError) as exc:
        _fail(f"source du COG illisible : {exc}")
        return
    cog.write(content)
    meta = content["meta"]
    console.print(f"{meta['communes']} communes et {meta['countries']} pays écrits dans "
                  f"{cog.DATA_FILE} ({', '.join(meta['sources'])})", highlight=False)


@directory_app.command("seed")
def seed(people: Annotated[int, typer.Option(min=1, max=10_000_000,
                                             help="nombre de personnes à ajouter")] = 100_000,
         rng_seed: Annotated[int | None, typer.Option("--seed")] = None) -> None:
    """Ajoute une population synthétique à l'annuaire de référence (jumeaux, homonymes)."""
    import time

    from esante.core.db import transaction
    from esante.identity import population

    started = time.perf_counter()
    with _bar() as bar, transaction() as session:
        task = bar.add_task("Personnes", total=people)
        added = population.seed(session, people=people, rng_seed=rng_seed,
                                progress=lambda n: bar.update(task, completed=n))
    console.print(f"{added} personne(s) ajoutée(s) à l'annuaire de référence en "
                  f"{time.perf_counter() - started:.1f} s", highlight=False)


@identity_app.command("import")
def import_file(
    file: Annotated[Path, typer.Argument(help="fichier CSV (UTF-8, séparateur , ou ;)")],
    establishment: Annotated[str, typer.Option("--establishment", help="FINESS")],
    agent: Annotated[str, typer.Option("--agent", help="courriel du compte qui importe "
                                       "(accueil ou identitovigilance de l'établissement)")],
) -> None:
    """Importe des identités locales : tout ou rien (une ligne fausse, rien n'est importé)."""
    from esante.core.db import transaction
    from esante.core.errors import DomainError
    from esante.identity import importer

    try:
        rows = importer.read(file)
    except importer.FileError as exc:
        _fail(str(exc))
        return
    try:
        with _bar() as bar, transaction() as session:
            task = bar.add_task("Identités", total=len(rows))
            report = importer.run(session, rows, finess=establishment, agent=agent,
                                  progress=lambda n: bar.update(task, completed=n))
    except importer.FileError as exc:
        _fail(str(exc))
        return
    except DomainError as exc:
        _fail(exc.fr)
        return
    _print_report(report)


def _print_report(report: dict[str, Any]) -> None:
    console.print(f"{report['created']} identité(s) importée(s) ; {report['pairs']} paire(s) "
                  "de doublons possibles mises en file d'identitovigilance", highlight=False)


@identity_app.command("scan")
def scan(establishment: Annotated[str, typer.Option("--establishment", help="FINESS")],
         agent: Annotated[str, typer.Option("--agent", help="courriel d'un membre de la cellule "
                                            "d'identitovigilance de l'établissement")]) -> None:
    """Cherche doublons et collisions dans les identités d'un établissement (file de travail)."""
    from sqlalchemy import func, select

    from esante.core.accounts.models import User
    from esante.core.db import transaction
    from esante.core.errors import DomainError
    from esante.core.policy import Principal
    from esante.identity import vigilance
    from esante.identity.models import LocalIdentity

    try:
        with transaction() as session:
            user = session.scalar(select(User).where(User.email == agent.strip().lower()))
            if user is None:
                _fail(f"compte inconnu : {agent}")
                return
            total = session.scalar(select(func.count()).select_from(LocalIdentity).where(
                LocalIdentity.finess == establishment)) or 0
            with _bar() as bar:
                task = bar.add_task("Identités", total=total)
                report = vigilance.scan(session, Principal.of(user), establishment,
                                        progress=lambda n: bar.update(task, completed=n))
    except DomainError as exc:
        _fail(exc.fr)
        return
    console.print(f"{report['identities']} identité(s) examinée(s) ; {report['new_pairs']} "
                  "nouvelle(s) paire(s) en file d'identitovigilance", highlight=False)
from esante.identity.matching import cli as _matching_cli  # noqa: E402, F401 - registers "dedup"


@identity_app.command("nir-rehash")
def nir_rehash(establishment: Annotated[str, typer.Option(
        "--establishment", help="FINESS ; tous les établissements si absent")] = "") -> None:
    """Recalcule les empreintes des NIR avec la clé propre à l'identité (après une mise à
    jour depuis des empreintes liées à ESANTE_SECRET_KEY). Sans effet si rien n'a changé."""
    from esante.core.db import transaction
    from esante.identity import service

    with transaction() as session:
        changed = service.rehash_nirs(session, establishment or None)
    console.print(f"{changed} empreinte(s) de NIR recalculée(s).")
