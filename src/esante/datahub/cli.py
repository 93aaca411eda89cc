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


def _principal(session: Any, email: str) -> Any:
    from esante.core.accounts import service as accounts
    from esante.core.errors import NotFound
    from esante.core.policy import Principal

    user = accounts.get_user_by_email(session, email)
    if user is None or not user.is_active:
        raise NotFound(f"utilisateur inconnu ou inactif : {email}", "unknown user")
    return Principal.of(user)


def submit_output(project_id: int, email: str, path: Path) -> None:
    """``check-output --project``: the table submitted to the project's output check."""
    from esante.cli import _run, console, fail
    from esante.datahub import outputs, projects

    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        fail(f"fichier introuvable : {path}")
    except UnicodeDecodeError:
        fail(f"{path.name} : encodage illisible (UTF-8 attendu)")

    def go(session: Any) -> tuple[int, str, int, int, int]:
        p = _principal(session, email)
        c = outputs.submit(session, p, projects.get_project(session, p, project_id),
                           name=path.name, text=text)
        return c.id, c.checked_csv, c.primary_cells, c.secondary_cells, c.threshold

    check_id, checked, primary, secondary, limit = _run(go)
    console.print(checked, end="", highlight=False, markup=False)
    console.print(f"Tableau n° {check_id} soumis : seuil {limit}, {primary} cellule(s) masquée(s) "
                  f"(secret primaire), {secondary} de plus (secondaire) ; en attente de la "
                  "décision de sortie.", highlight=False)


@datahub_app.command("release")
def release(
    check_id: Annotated[int, typer.Argument(help="numéro du tableau soumis")],
    reviewer: Annotated[str, typer.Option("--as", help="adresse du relecteur du hub")],
    reason: Annotated[str, typer.Option(help="motif de la décision")],
    approve: Annotated[bool, typer.Option("--approve/--refuse",
                                          help="autoriser ou refuser la sortie")],
    out: Annotated[Path | None, typer.Option(
        help="écrire le tableau vérifié dans ce fichier (sortie autorisée)")] = None,
) -> None:
    """Autorise ou refuse la sortie d'un tableau de résultats vérifié, avec son motif."""
    from esante.cli import _run, console
    from esante.core.errors import NotFound
    from esante.datahub import outputs
    from esante.datahub.models import OutputCheck, Project

    def go(session: Any) -> tuple[str, str | None]:
        p = _principal(session, reviewer)
        check = session.get(OutputCheck, check_id)
        if check is None:
            raise NotFound(f"tableau n° {check_id} introuvable", "output check not found")
        project = session.get(Project, check.project_id)
        check = outputs.review(session, p, outputs.get(session, p, project, check_id),
                               approve=approve, reason=reason)
        released = (outputs.released_csv(session, p, check)
                    if check.status == "approved" and out is not None else None)
        return check.status, released

    status, checked = _run(go)
    console.print(f"Tableau n° {check_id} : {outputs.STATUS_LABELS[status]}.", highlight=False)
    if checked is not None and out is not None:
        out.write_text(checked, encoding="utf-8")
        console.print(f"Tableau vérifié écrit dans {out}", highlight=False)


from esante.datahub.pipeline import cli as _pipeline_cli  # noqa: E402, F401 - registers the pipeline commands
