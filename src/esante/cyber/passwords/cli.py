"""``esante passwords ...``: importing breached-password hashes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

passwords_app = typer.Typer(help="Mots de passe compromis (contrôle par k-anonymat).",
                            no_args_is_help=True)


def _sources(source: Path) -> list[tuple[Path, str | None]]:
    """The files to read, each with its range prefix (None: a full dump)."""
    from esante.cyber.passwords.importer import range_prefix

    if source.is_dir():
        files = sorted(p for p in source.iterdir() if p.is_file() and not p.name.startswith("."))
        return [(p, range_prefix(p)) for p in files]
    return [(source, None)]


@passwords_app.command("import")
def import_(
    source: Annotated[Path, typer.Argument(exists=True, readable=True, help=(
        "un fichier au format SHA1:NOMBRE (une ligne par haché), ou un dossier de fichiers "
        "de plage nommés par leur préfixe (5BAA6.txt : SUFFIXE:NOMBRE)"))],
    batch: Annotated[int, typer.Option(min=100, max=50_000, help="lignes par lot")] = 5000,
) -> None:
    """Importe des hachés SHA-1 de mots de passe compromis (idempotent : réimporter ne
    duplique rien, le nombre d'occurrences est mis à jour)."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

    from esante.cli import console, fail

    try:
        sources = _sources(source)
    except ValueError as exc:
        fail(str(exc))
    total = sum(p.stat().st_size for p, _ in sources)
    done = 0
    columns = ("[progress.description]{task.description}", BarColumn(), DownloadColumn(),
               TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("Import", total=total)
        for path, prefix in sources:
            bar.update(task, description=path.name)
            try:
                done += _import_file(path, prefix, batch, lambda n: bar.advance(task, n))
            except ValueError as exc:
                fail(f"{path.name} : {exc}")
    console.print(f"{done} haché(s) importé(s) depuis {len(sources)} fichier(s).")


def _import_file(path: Path, prefix: str | None, batch: int,
                 advance: Callable[[int], object]) -> int:
    """One file, one transaction per batch: a dump of a billion lines is not one
    transaction, and an interrupted import is simply run again (idempotent)."""
    from esante.core.db import transaction
    from esante.cyber.passwords.importer import import_lines

    done = 0
    with path.open("rb") as raw:
        while True:
            chunk = raw.readlines(batch * 50)  # about ``batch`` lines of 40+ bytes
            if not chunk:
                return done
            with transaction() as session:
                done += import_lines(session, (b.decode("ascii", "replace") for b in chunk),
                                     prefix=prefix, batch=batch)
            advance(sum(len(b) for b in chunk))
