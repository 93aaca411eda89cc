"""``esante fhir ...``: the FHIR store from the command line."""

from __future__ import annotations

from typing import Annotated, Any

import typer

fhir_app = typer.Typer(help="Entrepôt FHIR : chargement, export, titulaires des dossiers.",
                       no_args_is_help=True)


@fhir_app.command("link")
def link(
    user: Annotated[str, typer.Option(help="adresse du compte de l'usager (ou de son tuteur)")],
    patient: Annotated[str, typer.Option(help="id de la ressource Patient")],
    relation: Annotated[str, typer.Option(help="self ou guardian")] = "self",
) -> None:
    """Rattache un dossier Patient au compte de son titulaire (ou de son tuteur)."""
    from esante.cli import _run, console
    from esante.core.accounts import service as accounts
    from esante.core.errors import Invalid, NotFound
    from esante.fhir.links import link_patient

    if relation not in ("self", "guardian"):
        raise typer.BadParameter("self ou guardian")

    def go(session: Any) -> None:
        account = accounts.get_user_by_email(session, user)
        if account is None:
            raise NotFound(f"aucun compte pour {user}")
        if not patient.strip():
            raise Invalid("id de Patient vide")
        link_patient(session, user=account, patient_fid=patient.strip(), relation=relation)

    _run(go)
    console.print(f"dossier Patient/{patient} rattaché à {user} ({relation})")


from pathlib import Path  # noqa: E402 - for the ``load`` command below (appended section)


@fhir_app.command("load")
def load(
    source: Annotated[Path, typer.Argument(
        help="fichier .ndjson, .ndjson.gz ou .json (Bundle ou ressource), ou dossier",
        exists=True)],
    strict: Annotated[bool, typer.Option(
        "--strict", help="s'arrêter à la première ressource rejetée (code de sortie 1)")] = False,
    batch: Annotated[int, typer.Option(help="ressources par transaction", min=1)] = 1000,
    jobs: Annotated[int, typer.Option(
        help="processus de validation (0 : selon les cœurs)", min=0)] = 0,
) -> None:
    """Charge des ressources FHIR en masse (NDJSON, Bundles) : validées comme par l'API,
    ids conservés (nouvelle version si la ressource existe), une transaction et un
    événement d'audit par lot."""
    import os

    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from esante.cli import console, err
    from esante.fhir import loader

    files = loader.source_files(source)
    if not files:
        err.print(f"[red]erreur :[/red] aucun fichier .ndjson, .ndjson.gz ou .json dans {source}")
        raise typer.Exit(1)
    total = sum(f.stat().st_size for f in files)
    workers = jobs or min(2, os.cpu_count() or 1)

    def on_error(rejected: loader.Rejected) -> None:
        err.print(f"[yellow]{rejected.where}[/yellow] : {rejected.message}", highlight=False,
                  markup=True, soft_wrap=True)

    progress = Progress(TextColumn("chargement"), BarColumn(),
                        TextColumn("{task.fields[count]:>10,} ressources"),
                        TextColumn("{task.fields[rate]:>8,.0f} ressources/s"),
                        TimeElapsedColumn(), console=console, transient=True)
    with progress:
        task = progress.add_task("load", total=total or None, count=0, rate=0.0)
        started = progress.get_time()

        def on_progress(count: int, consumed: int) -> None:
            elapsed = max(progress.get_time() - started, 1e-6)
            progress.update(task, completed=consumed, count=count, rate=count / elapsed)

        try:
            report = loader.load(files, strict=strict, jobs=workers, batch_size=batch,
                                 on_error=on_error, on_progress=on_progress)
        except loader.Strict as stop:
            r = stop.rejected
            err.print(f"[red]erreur :[/red] {r.where} : {r.message}", highlight=False)
            err.print("--strict : chargement arrêté, le lot en cours n'a pas été écrit")
            raise typer.Exit(1) from None
    types = sorted(set(report.loaded) | set(report.rejected))
    for rtype in types:
        console.print(f"  {rtype:<24} {report.loaded[rtype]:>10,} chargée(s)  "
                      f"{report.rejected[rtype]:>8,} rejetée(s)", highlight=False)
    rate = report.total_loaded / report.seconds if report.seconds else 0.0
    console.print(f"{report.total_loaded:,} ressource(s) chargée(s), {report.total_rejected:,} "
                  f"rejetée(s), {report.batches} lot(s) en {report.seconds:.1f} s "
                  f"({rate:,.0f} ressources/s)", highlight=False)


import pathlib as _pathlib  # noqa: E402 - for the ``export`` command below (appended section)


@fhir_app.command("export")
def export(
    out: Annotated[_pathlib.Path, typer.Option(help="dossier où écrire les fichiers <Type>.ndjson")],
    type_: Annotated[str, typer.Option("--type", help="types séparés par des virgules "
                                                      "(défaut : tous)")] = "",
    since: Annotated[str, typer.Option(help="instant FHIR : ressources modifiées depuis")] = "",
) -> None:
    """Exporte tout l'entrepôt en NDJSON (opération système, tracée dans le journal)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn
    from rich.table import Table
    from sqlalchemy.orm import Session

    from esante.cli import _run, console
    from esante.fhir import bulk

    types = bulk.parse_types(type_) if type_ else ()
    when = bulk.parse_since(since) if since else None
    tasks: dict[str, TaskID] = {}

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  console=console) as progress:

        def on_type(rtype: str, total: int) -> None:
            tasks[rtype] = progress.add_task(rtype, total=total or 1,
                                             completed=0 if total else 1)

        def on_rows(rtype: str, n: int) -> None:
            progress.advance(tasks[rtype], n)

        def go(session: Session) -> dict[str, int]:
            return bulk.export_to_dir(session, out, types=types, since=when,
                                      on_type=on_type, on_rows=on_rows)

        counts = _run(go)
    table = Table("type", "ressources", "fichier")
    for rtype, n in counts.items():
        table.add_row(rtype, str(n), str(out / f"{rtype}.ndjson"))
    console.print(table)
    console.print(f"{sum(counts.values())} ressources exportées dans {out}")
