"""``esante cyber advisories import`` (CSAF 2.0) and ``esante cyber inventory import``
(CSV or CycloneDX): the threat watch's commands, run by the platform's operator."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from esante.cyber.cli import cyber_app

advisories_app = typer.Typer(help="Avis de sécurité (CSAF 2.0).", no_args_is_help=True)
inventory_app = typer.Typer(help="Inventaires des établissements (CPE 2.3).",
                            no_args_is_help=True)
cyber_app.add_typer(advisories_app, name="advisories")
cyber_app.add_typer(inventory_app, name="inventory")
MAX_FILE = 50 * 1024 * 1024
TLPS = ("CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED")


def _read(path: Path) -> bytes:
    from esante.cli import fail

    if path.stat().st_size > MAX_FILE:
        fail(f"{path.name} : fichier trop gros ({MAX_FILE // 1024 // 1024} Mio au plus)")
    return path.read_bytes()


@advisories_app.command("import")
def import_advisories(
    files: Annotated[list[Path], typer.Argument(exists=True, dir_okay=False, readable=True,
                                                help="un ou plusieurs avis CSAF 2.0 (JSON)")],
    tlp: Annotated[str | None, typer.Option(help="TLP imposé (sinon celui du document, "
                                                 "AMBER s'il n'en a pas)")] = None,
) -> None:
    """Importe des avis CSAF 2.0 et les rapproche de tous les inventaires (un avis = une
    transaction : un fichier invalide n'enregistre rien et arrête la commande)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress

    from esante.cli import console, fail
    from esante.core.db import transaction
    from esante.core.errors import DomainError
    from esante.cyber.threatwatch import service

    if tlp is not None and tlp not in TLPS:
        fail(f"TLP « {tlp} » inconnu ({', '.join(TLPS)})")
    with Progress("[progress.description]{task.description}", BarColumn(),
                  MofNCompleteColumn(), console=console, transient=True) as bar:
        task = bar.add_task("Import CSAF", total=len(files))
        for path in files:
            bar.update(task, description=path.name)
            try:
                document = json.loads(_read(path))
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                fail(f"{path.name} : JSON illisible ({exc})")
            try:
                with transaction() as session:
                    advisory, skipped = service.import_csaf(session, None, document, tlp=tlp)
                    alerted = service.alerted_count(session, advisory)
                    line = (f"{path.name} : avis {advisory.reference} importé (TLP:{advisory.tlp}"
                            f", CVSS {advisory.cvss_score or '—'}), {alerted} établissement(s) "
                            "alerté(s)")
            except DomainError as exc:
                fail(f"{path.name} : {exc.fr}")
            console.print(line + (f" ; {len(skipped)} produit(s) sans CPE ignoré(s)"
                                  if skipped else ""))
            bar.advance(task)


@inventory_app.command("import")
def import_inventory(
    finess: Annotated[str, typer.Argument(help="FINESS de l'établissement")],
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True,
                                         help="CSV (colonnes cpe, nom, version) ou "
                                              "nomenclature CycloneDX (JSON)")],
    replace: Annotated[bool, typer.Option(help="le fichier remplace tout l'inventaire")] = False,
) -> None:
    """Importe l'inventaire d'un établissement et le rapproche des avis ouverts."""
    from sqlalchemy import select

    from esante.cli import console, fail
    from esante.core.audit import Actor
    from esante.core.db import transaction
    from esante.core.errors import DomainError
    from esante.core.orgs.models import Establishment
    from esante.cyber.threatwatch import inventory

    data = _read(file)
    try:
        with transaction() as session:
            est = session.scalar(select(Establishment).where(Establishment.finess == finess))
            if est is None:
                fail(f"établissement FINESS {finess} introuvable")
            assert est is not None
            name = est.name
            result = inventory.import_file(session, None, est, data, filename=file.name,
                                           replace=replace,
                                           actor=Actor.system("esante cyber inventory import"))
    except DomainError as exc:
        fail(f"{file.name} : {exc.fr}")
    console.print(f"{name} : {result['added']} produit(s) ajouté(s) ({result['format']}), "
                  f"{result['already_present']} déjà présent(s), {result['removed']} retiré(s), "
                  f"{result['new_alerts']} nouvelle(s) alerte(s).")
    skipped = result["skipped_without_cpe"]
    if isinstance(skipped, list) and skipped:
        console.print(f"Composants sans nom CPE ignorés : {len(skipped)}")


@advisories_app.command("rematch")
def rematch() -> None:
    """Rapproche tous les avis ouverts de tous les inventaires en une passe et crée les
    alertes manquantes (après un chargement massif d'inventaires ; sans notification)."""
    from rich.progress import Progress, SpinnerColumn, TimeElapsedColumn

    from esante.cli import console
    from esante.core.db import transaction
    from esante.cyber.threatwatch import batch

    with Progress(SpinnerColumn(), "[progress.description]{task.description}",
                  TimeElapsedColumn(), console=console, transient=True) as bar:
        bar.add_task("Rapprochement des avis et des inventaires", total=None)
        with transaction() as session:
            result = batch.match_all(session)
    console.print(f"{result['advisories']} avis ouverts, {result['products']} nom(s) CPE "
                  f"distincts inventoriés : {result['alerts']} nouvelle(s) alerte(s) en "
                  f"{result['total_s']:.1f} s.")
