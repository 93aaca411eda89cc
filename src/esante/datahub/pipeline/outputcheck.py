"""Output checking of an aggregated table before it leaves the secure environment.

The table is a cross-tabulation in CSV: the first column holds the row labels, the others one
count per column category. Totals are recomputed (never read). Primary suppression hides every
non-zero cell below the threshold (and a total below it); secondary suppression then makes
sure that no row or column (with its total) has exactly one hidden cell, which subtraction
from the published total would give back: the smallest visible non-zero cell of that line is
hidden too, until every line is safe.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from esante.datahub.pipeline.errors import PipelineError

HIDDEN = "s"  # the mark INSEE and the French statistical offices use for "secret"
TOTAL = "Total"


@dataclass
class CheckedTable:
    row_header: str
    row_labels: list[str]
    col_labels: list[str]
    # values including the totals: rows then the totals row, columns then the totals column
    values: list[list[int]]
    hidden: set[tuple[int, int]] = field(default_factory=set)
    primary: int = 0
    secondary: int = 0

    def to_csv(self) -> str:
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\n")
        w.writerow([self.row_header, *self.col_labels, TOTAL])
        for i, label in enumerate([*self.row_labels, TOTAL]):
            w.writerow(
                [label, *(HIDDEN if (i, j) in self.hidden else str(v) for j, v in enumerate(self.values[i]))]
            )
        return out.getvalue()


def read_table(text: str, *, name: str = "tableau") -> CheckedTable:
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        raise PipelineError(f"{name} : CSV illisible ({exc})", code="malformed-csv") from None
    rows = [r for r in rows if any(c.strip() for c in r)]
    if len(rows) < 2 or len(rows[0]) < 2:
        raise PipelineError(
            f"{name} : il faut une ligne d'en-tête et au moins une ligne de comptes, "
            "avec au moins une colonne de comptes",
            code="malformed-csv",
        )
    header = [c.strip() for c in rows[0]]
    labels = [r[0].strip() for r in rows[1:]]
    for label in [*header[1:], *labels]:
        if label.casefold() in ("total", "ensemble"):
            raise PipelineError(
                f"{name} : retirer la ligne ou colonne « {label} » : les totaux sont recalculés",
                code="malformed-csv",
            )
    values: list[list[int]] = []
    for lineno, r in enumerate(rows[1:], start=2):
        if len(r) != len(header):
            raise PipelineError(
                f"{name}, ligne {lineno} : {len(r)} champs au lieu de {len(header)}", code="malformed-csv"
            )
        line = []
        for col, cell in zip(header[1:], r[1:], strict=True):
            try:
                v = int(cell.strip().replace("\u202f", "").replace(" ", ""))
            except ValueError:
                raise PipelineError(
                    f"{name}, ligne {lineno}, colonne « {col} » : « {cell} » n'est pas un effectif entier",
                    code="malformed-csv",
                ) from None
            if v < 0:
                raise PipelineError(
                    f"{name}, ligne {lineno}, colonne « {col} » : effectif négatif", code="malformed-csv"
                )
            line.append(v)
        values.append([*line, sum(line)])
    values.append([sum(c) for c in zip(*values, strict=True)])
    return CheckedTable(row_header=header[0], row_labels=labels, col_labels=header[1:], values=values)


def _lines(t: CheckedTable) -> list[list[tuple[int, int]]]:
    """Each additive constraint: a row with its total, a column with its total."""
    n_rows, n_cols = len(t.values), len(t.values[0])
    return [[(i, j) for j in range(n_cols)] for i in range(n_rows)] + [
        [(i, j) for i in range(n_rows)] for j in range(n_cols)
    ]


def suppress(t: CheckedTable, *, threshold: int) -> CheckedTable:
    for i, row in enumerate(t.values):
        for j, v in enumerate(row):
            if 0 < v < threshold:
                t.hidden.add((i, j))
    t.primary = len(t.hidden)
    changed = True
    while changed:
        changed = False
        for line in _lines(t):
            if sum(c in t.hidden for c in line) != 1:
                continue
            candidates = [c for c in line if c not in t.hidden and t.values[c[0]][c[1]] > 0]
            if not candidates:  # only zeros left: they reveal nothing, the line is safe
                continue
            # the smallest cell loses least information; interior cells before the total
            total_pos = max(line)
            pick = min(candidates, key=lambda c: (c == total_pos, t.values[c[0]][c[1]], c))
            t.hidden.add(pick)
            t.secondary += 1
            changed = True
    return t


def check_output(path: Path, *, threshold: int) -> CheckedTable:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise PipelineError(f"fichier introuvable : {path}", code="file-not-found") from None
    except UnicodeDecodeError:
        raise PipelineError(
            f"{path.name} : encodage illisible (UTF-8 attendu)", code="malformed-csv"
        ) from None
    return suppress(read_table(text, name=path.name), threshold=threshold)
