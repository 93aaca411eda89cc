"""``esante ins`` (the identifier itself) and ``esante identity`` (identities and vigilance)."""

from __future__ import annotations

import typer

ins_app = typer.Typer(help="INS : contrôle d'un NIR ou d'un NIA.", no_args_is_help=True)
identity_app = typer.Typer(help="Identités : import, doublons, identitovigilance.",
                           no_args_is_help=True)
from esante.identity.matching import cli as _matching_cli  # noqa: E402, F401 - registers "dedup"
