"""Import of local identities from a CSV file: all or nothing.

Every line is checked first (columns, encoding, traits, NIR, birth place); the first bad
line stops the import with its number and nothing is written. Then every identity is
created in one transaction, with its duplicate candidates queued."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from esante.core.accounts.models import User
from esante.core.errors import DomainError, Invalid
from esante.core.policy import Principal
from esante.identity import service
from esante.identity.duplicates import QUEUED
from esante.identity.traits import Traits

REQUIRED = ("birth_name", "first_names", "sex", "birth_date")
OPTIONAL = ("local_id", "used_name", "used_first_name", "birth_place", "nir", "attribute",
            "document")
MAX_BYTES = 50 * 1024 * 1024


class FileError(Exception):
    """A file that cannot be imported, with the line that says why."""


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise FileError(f"ligne {line} : encodage illisible (UTF-8 attendu)") from None


def read(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        raise FileError(f"fichier introuvable : {path}")
    raw = path.read_bytes()
    if len(raw) > MAX_BYTES:
        raise FileError(f"fichier trop gros : {MAX_BYTES // 1024 // 1024} Mo au plus")
    text = _decode(raw)
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise FileError(f"ligne 1 : colonne(s) manquante(s) : {', '.join(missing)}")
    rows = []
    for row in reader:
        if None in row:
            raise FileError(f"ligne {reader.line_num} : plus de valeurs que de colonnes")
        rows.append({k.strip(): (v or "").strip() for k, v in row.items()} |
                    {"_line": str(reader.line_num)})
    if not rows:
        raise FileError("fichier vide : aucune identité")
    return rows


def _traits(row: dict[str, str]) -> Traits:
    return Traits(row["birth_name"], row["first_names"].split(" "), row["sex"],
                  row["birth_date"], row.get("birth_place", ""), row.get("used_name", ""),
                  row.get("used_first_name", ""))


def run(session: Session, rows: list[dict[str, str]], *, finess: str, agent: str,
        progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    user = session.scalar(select(User).where(User.email == agent.strip().lower()))
    if user is None:
        raise FileError(f"compte inconnu : {agent}")
    p = Principal.of(user)
    for row in rows:  # everything is checked before anything is written
        try:
            service.prepare(_traits(row), row.get("nir", ""))
        except DomainError as exc:
            raise FileError(f"ligne {row['_line']} : {exc.fr}") from None
    created = pairs = 0
    for i, row in enumerate(rows, 1):
        try:
            _identity, found = service.create(
                session, p, finess=finess, traits=_traits(row), matricule=row.get("nir", ""),
                attribute=row.get("attribute", ""), document=row.get("document", ""),
                method="import", local_id=row.get("local_id", ""))
        except Invalid as exc:
            raise FileError(f"ligne {row['_line']} : {exc.fr}") from None
        created += 1
        pairs += sum(1 for c in found if c.score >= QUEUED)
        if progress and (i % 100 == 0 or i == len(rows)):
            progress(i)
    return {"created": created, "pairs": pairs}
