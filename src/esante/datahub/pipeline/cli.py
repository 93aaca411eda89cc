"""``esante datahub`` commands of the pipeline: risk, check-output, extract-spec, ttp-init.

``run_extract_with_progress`` is what ``esante datahub extract PROJECT_ID`` calls once the
approved project's spec is read.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from esante.datahub.cli import datahub_app
from esante.datahub.pipeline.errors import PipelineError
from esante.datahub.pipeline.spec import ExtractReport, ExtractSpec

console = Console()
err = Console(stderr=True)


def _fail(exc: PipelineError | ValidationError | str) -> typer.Exit:
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        msg = f"spécification invalide : {'.'.join(str(x) for x in first['loc'])} : {first['msg']}"
    else:
        msg = exc.fr if isinstance(exc, PipelineError) else exc
    err.print(f"[red]Erreur :[/red] {msg}", highlight=False)
    return typer.Exit(code=2)


def run_extract_with_progress(
    spec: ExtractSpec,
    *,
    out_dir: Path,
    key: bytes,
    engine: str = "duckdb",
) -> ExtractReport:
    from esante.datahub.pipeline.extract import run_extract

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=err) as bar:
        task = bar.add_task("démarrage du moteur", total=None)
        return run_extract(
            spec,
            engine=engine,  # type: ignore[arg-type]
            out_dir=out_dir,
            key=key,
            progress=lambda msg: bar.update(task, description=msg),
        )


@datahub_app.command("extract-spec")
def extract_spec(
    spec_file: Annotated[Path, typer.Argument(help="Spécification de l'extraction (JSON, ExtractSpec)")],
    out_dir: Annotated[Path, typer.Argument(help="Dossier de sortie (ne doit pas exister)")],
    engine: Annotated[str, typer.Option(help="duckdb ou spark")] = "duckdb",
) -> None:
    """Extraire selon une spécification JSON : pseudonymes, généralisation, rapport de risque."""
    from esante.datahub.pipeline.ttp import project_key

    if engine not in ("duckdb", "spark"):
        raise _fail(f"moteur inconnu : {engine} (duckdb ou spark)")
    try:
        spec = ExtractSpec.model_validate_json(spec_file.read_text(encoding="utf-8"))
        report = run_extract_with_progress(
            spec, out_dir=out_dir, key=project_key(spec.project_id), engine=engine
        )
    except FileNotFoundError:
        raise _fail(f"fichier introuvable : {spec_file}") from None
    except (PipelineError, ValidationError) as exc:
        raise _fail(exc) from None
    for t in report.tables:
        console.print(
            f"{t.name} : {t.rows_out} lignes extraites, k={t.k_reached}, l={t.l_reached}, "
            f"{t.rows_suppressed} supprimées, perte {t.information_loss:.3f}"
        )
    console.print(f"Rapport : {out_dir / 'report.html'}, {out_dir / 'report.pdf'}")


@datahub_app.command("risk")
def risk(
    file: Annotated[Path, typer.Argument(help="Fichier Parquet à mesurer")],
    qi: Annotated[str, typer.Option("--qi", help="Quasi-identifiants, séparés par des virgules")],
    sensitive: Annotated[str | None, typer.Option(help="Colonne sensible (l-diversité, t-proximité)")] = None,
    k: Annotated[int, typer.Option(help="Seuil k des enregistrements à risque", min=1)] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Sortie JSON")] = False,
) -> None:
    """Mesurer le risque de ré-identification d'un fichier tel qu'il est."""
    from esante.datahub.pipeline.risk import measure_parquet

    try:
        m = measure_parquet(
            file, qis=[c.strip() for c in qi.split(",") if c.strip()], sensitive=sensitive, k_threshold=k
        )
    except PipelineError as exc:
        raise _fail(exc) from None
    if as_json:
        console.print_json(m.model_dump_json())
        return
    table = Table(title=f"Risque — {file.name}")
    table.add_column("Mesure")
    table.add_column("Valeur", justify="right")
    for label, value in [
        ("Lignes", m.rows),
        ("Classes d'équivalence", m.classes),
        ("k (plus petite classe)", m.k),
        ("Enregistrements uniques", m.uniques),
        ("Risque procureur max", m.prosecutor_risk_max),
        ("Risque procureur moyen", m.prosecutor_risk_avg),
        (f"Enregistrements dans une classe < {k}", m.records_at_risk),
        ("l-diversité", m.l),
        ("t-proximité", m.t),
    ]:
        table.add_row(label, "—" if value is None else str(value))
    console.print(table)


@datahub_app.command("check-output")
def check_output_cmd(
    table_file: Annotated[Path, typer.Argument(help="Tableau agrégé (CSV, libellés en première colonne)")],
    threshold: Annotated[
        int | None, typer.Option(help="Seuil des petites cellules (défaut : réglage, 10)", min=1)
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Écrire le tableau vérifié dans ce fichier")] = None,
    project: Annotated[
        int | None, typer.Option(help="Soumettre le tableau à la vérification de sortie de ce projet")
    ] = None,
    submitter: Annotated[
        str | None, typer.Option("--as", help="Adresse du chercheur qui soumet (avec --project)")
    ] = None,
) -> None:
    """Vérifier un tableau de résultats : secret des petites cellules, primaire et secondaire.

    Avec --project et --as, le tableau est soumis à la vérification de sortie du projet (le
    relecteur autorise ou refuse ensuite sa sortie : « esante datahub release »)."""
    if project is not None:
        if not submitter:
            raise _fail("--as ADRESSE est nécessaire avec --project (le chercheur qui soumet)")
        if threshold is not None:
            raise _fail("--threshold ne s'emploie pas avec --project : le seuil est celui du hub")
        from esante.datahub.cli import submit_output

        submit_output(project, submitter, table_file)
        return
    from esante.datahub.pipeline.outputcheck import check_output
    from esante.datahub.pipeline.ttp import PipelineSettings

    limit = threshold or PipelineSettings().small_cell_threshold
    try:
        checked = check_output(table_file, threshold=limit)
    except PipelineError as exc:
        raise _fail(exc) from None
    text = checked.to_csv()
    if out:
        out.write_text(text, encoding="utf-8")
    else:
        console.print(text, end="", highlight=False, markup=False)
    err.print(
        f"Seuil {limit} : {checked.primary} cellule(s) masquée(s) (secret primaire), "
        f"{checked.secondary} de plus (secret secondaire)."
    )


@datahub_app.command("ttp-init")
def ttp_init() -> None:
    """Tiers de confiance : créer le secret maître (fichier ESANTE_DATAHUB_TTP_SECRET_FILE)."""
    from esante.datahub.pipeline.ttp import PipelineSettings, create_master_secret

    path = PipelineSettings().ttp_secret_file
    try:
        create_master_secret(path)
    except PipelineError as exc:
        raise _fail(exc) from None
    console.print(f"Secret maître créé : {path} (à ne confier qu'au tiers de confiance)")


def spec_json_schema() -> str:
    return json.dumps(ExtractSpec.model_json_schema(), ensure_ascii=False, indent=2)
