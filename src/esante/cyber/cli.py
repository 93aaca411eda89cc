"""``esante cyber``: the cyber-vigilance commands (threat watch, indicators, logs)."""

from __future__ import annotations

import typer

cyber_app = typer.Typer(help="Cybervigilance : veille, indicateurs, journaux.",
                        no_args_is_help=True)

from esante.cyber.indicators import cli as _indicators_cli  # noqa: E402, F401
from esante.cyber.threatwatch import cli as _threatwatch_cli  # noqa: E402, F401
