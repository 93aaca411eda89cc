"""``esante fhir ...``: the FHIR store from the command line."""

from __future__ import annotations

from typing import Annotated

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

    def go(session):  # type: ignore[no-untyped-def]
        account = accounts.get_user_by_email(session, user)
        if account is None:
            raise NotFound(f"aucun compte pour {user}")
        if not patient.strip():
            raise Invalid("id de Patient vide")
        link_patient(session, user=account, patient_fid=patient.strip(), relation=relation)

    _run(go)
    console.print(f"dossier Patient/{patient} rattaché à {user} ({relation})")


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
