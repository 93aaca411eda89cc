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
