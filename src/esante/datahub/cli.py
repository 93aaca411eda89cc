"""``esante datahub``: synthetic data, extracts, risk measurement, output checks."""

from __future__ import annotations

import typer

datahub_app = typer.Typer(help="Entrepôt de données de santé : données, extractions, risque.",
                          no_args_is_help=True)

from esante.datahub.pipeline import cli as _pipeline_cli  # noqa: E402, F401 - registers the pipeline commands
