"""``esante identity dedup FILE.csv --out CLUSTERS.csv``: duplicates in an identity file."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from esante.identity.cli import identity_app


@identity_app.command("dedup")
def dedup(
    source: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help=(
        "fichier CSV UTF-8 (séparateur , ou ;) avec les colonnes record_id, birth_name, "
        "used_name, first_names, sex, birth_date, birth_place, nir"))],
    out: Annotated[Path, typer.Option("--out", help="fichier CSV écrit : record_id, cluster_id, "
                                      "match_probability (lien le plus fort)")],
    threshold: Annotated[float, typer.Option(min=0.5, max=0.9999, help=(
        "probabilité à partir de laquelle deux fiches sont reliées"))] = 0.9,
    threads: Annotated[int, typer.Option(min=0, max=256, help="fils d'exécution (0 : tous les cœurs)")] = 0,
) -> None:
    """Cherche les doublons d'un fichier d'identités (modèle de Fellegi-Sunter adapté aux
    identités françaises), sans serveur ni base. Rien n'est écrit si le fichier est invalide."""
    import duckdb
    from rich.progress import BarColumn, Progress, TimeElapsedColumn

    from esante.cli import console, fail
    from esante.identity.matching import InputError, deduplicate_file

    if not out.parent.is_dir():
        fail(f"{out} : le dossier {out.parent} n'existe pas")
    steps = 9
    started = time.perf_counter()
    columns = ("[progress.description]{task.description}", BarColumn(),
               "{task.completed}/{task.total}", TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("Doublons", total=steps)

        def step(description: str) -> None:
            bar.update(task, description=description, advance=0 if bar.tasks[0].description == "Doublons"
                       else 1)

        try:
            summary = deduplicate_file(source, out, threshold=threshold, threads=threads or None, step=step)
        except InputError as exc:
            fail(f"{source.name} : {exc}")
        except (OSError, duckdb.IOException) as exc:
            fail(f"{out} : écriture impossible ({exc})")
        bar.update(task, completed=steps)
    elapsed = time.perf_counter() - started
    console.print(
        f"{summary.records} fiche(s), {summary.pairs} paire(s) comparée(s), {summary.links} lien(s) "
        f"retenu(s) ; {summary.clusters} personne(s), {summary.duplicates} doublon(s) ; "
        f"{summary.split} groupe(s) scindé(s) (NIR ou jumeaux en conflit). {out} écrit en {elapsed:.1f} s.")
