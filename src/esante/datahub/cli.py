"""``esante datahub``: synthetic data, extracts, risk measurement, output checks."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

datahub_app = typer.Typer(help="Entrepôt de données de santé : données, extractions, risque.",
                          no_args_is_help=True)
catalogue_app = typer.Typer(help="Catalogue des jeux de données.", no_args_is_help=True)
datahub_app.add_typer(catalogue_app, name="catalogue")


@datahub_app.command("synth")
def synth(
    people: Annotated[int, typer.Option("--people", min=1, max=100_000_000,
                                        help="nombre de personnes")],
    out: Annotated[Path, typer.Option("--out", help="dossier de sortie (créé au besoin)")],
    seed: Annotated[int, typer.Option(help="graine (mêmes graine et lots : mêmes fichiers)")] = 2026,
    chunk: Annotated[int, typer.Option(min=1000, max=5_000_000,
                                       help="personnes par lot")] = 1_000_000,
) -> None:
    """Écrit des données nationales synthétiques en Parquet : personnes (NIR à clé valide),
    séjours hospitaliers (CIM-10, actes), délivrances de médicaments (ATC, CIP13)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from esante.cli import console, fail
    from esante.datahub.synth.generate import generate

    if out.exists() and not out.is_dir():
        fail(f"{out} existe et n'est pas un dossier")
    progress = Progress(TextColumn("génération"), BarColumn(), MofNCompleteColumn(),
                        TextColumn("personnes"), TimeElapsedColumn(), console=console,
                        transient=True)
    with progress:
        task = progress.add_task("synth", total=people)
        try:
            report = generate(out, people=people, seed=seed, chunk=chunk,
                              progress=lambda n: progress.advance(task, n))
        except OSError as exc:
            fail(f"écriture impossible dans {out} : {exc.strerror or exc}")
    console.print(f"{report.people:_} personnes, {report.stays:_} séjours, {report.claims:_} "
                  f"délivrances en {report.seconds:.1f} s ({report.rate():_.0f} personnes/s) "
                  f"→ {out}".replace("_", " "))


@catalogue_app.command("register")
def register(
    directory: Annotated[Path, typer.Argument(help="dossier écrit par « esante datahub synth »")],
) -> None:
    """Inscrit (ou met à jour) au catalogue les jeux synthétiques d'un dossier, avec leur
    dictionnaire de données."""
    from esante.cli import _run, console
    from esante.core.audit import Actor
    from esante.datahub import catalogue

    def go(session: Any) -> list[tuple[str, int]]:
        rows = catalogue.register_directory(session, actor=Actor.system("esante datahub"),
                                            directory=directory)
        return [(ds.slug, ds.row_count) for ds in rows]

    for slug, count in _run(go):
        console.print(f"{slug} : {count:_} lignes".replace("_", " "))

@datahub_app.command("extract")
def extract(
    project_id: Annotated[int, typer.Argument(help="numéro du projet autorisé")],
    out: Annotated[Path, typer.Option("--out", help="dossier de sortie (ne doit pas exister)")],
    engine: Annotated[str, typer.Option(help="duckdb (défaut) ou spark")] = "duckdb",
) -> None:
    """Extrait les données d'un projet autorisé : colonnes demandées seulement, oppositions
    du jour retirées, pseudonymes propres au projet, généralisation jusqu'au k (et l)
    autorisés ; Parquet et rapport de risque (JSON, HTML, PDF) dans le dossier de sortie."""
    from esante.cli import _run, console, fail
    from esante.core.audit import Actor
    from esante.datahub import extraction
    from esante.datahub.pipeline.cli import run_extract_with_progress
    from esante.datahub.pipeline.errors import PipelineError
    from esante.datahub.pipeline.ttp import project_key

    if engine not in ("duckdb", "spark"):
        fail(f"moteur inconnu : {engine} (duckdb ou spark)")
    actor = Actor.system("esante datahub extract")
    spec = _run(lambda session: extraction.build_spec(session, project_id, actor=actor))
    try:
        report = run_extract_with_progress(spec, out_dir=out, key=project_key(spec.project_id),
                                           engine=engine)
    except PipelineError as exc:
        fail(exc.fr)
    _run(lambda session: extraction.record(session, project_id, report, actor=actor))
    console.print(f"{report.opted_out_people} personne(s) opposée(s) laissée(s) de côté.")
    for t in report.tables:
        console.print(f"{t.name} : {t.rows_out} lignes, k atteint {t.k_reached}, "
                      f"l atteint {t.l_reached}, {t.rows_suppressed} supprimée(s), "
                      f"perte d'information {t.information_loss:.3f}")
    console.print(f"Rapport : {out / 'report.html'}, {out / 'report.pdf'}")


from esante.datahub.pipeline import cli as _pipeline_cli  # noqa: E402, F401 - registers the pipeline commands
