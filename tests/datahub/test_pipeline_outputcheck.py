"""Small-cell suppression of result tables, primary and secondary, and the CLI around it."""

from __future__ import annotations

import csv
import io
import itertools
from pathlib import Path

import pytest
from typer.testing import CliRunner

from esante.cli import app
from esante.datahub.pipeline import PipelineError
from esante.datahub.pipeline.outputcheck import HIDDEN, read_table, suppress

TABLE = "Âge,Femmes,Hommes,Autre\n0-17,3,40,12\n18-64,120,130,25\n65+,15,8,30\n"


def _grid(text: str) -> list[list[str]]:
    return [r[1:] for r in csv.reader(io.StringIO(text))][1:]


def _safe(grid: list[list[str]]) -> bool:
    """No row or column (with its total) has exactly one hidden cell."""
    lines = [*grid, *(list(c) for c in zip(*grid, strict=True))]
    return all(sum(v == HIDDEN for v in line) != 1 for line in lines)


def test_primary_and_secondary_suppression() -> None:
    t = suppress(read_table(TABLE), threshold=10)
    grid = _grid(t.to_csv())
    assert grid[0][0] == HIDDEN and grid[2][1] == HIDDEN  # 3 and 8: primary
    assert t.primary == 2 and t.secondary >= 2
    assert _safe(grid)
    # visible totals are the true ones
    assert grid[-1][-1] == str(3 + 40 + 12 + 120 + 130 + 25 + 15 + 8 + 30)
    # no visible cell below the threshold except zeros
    assert all(v == HIDDEN or int(v) == 0 or int(v) >= 10 for v in itertools.chain(*grid))


def test_a_small_total_is_hidden_too() -> None:
    t = suppress(read_table("x,a,b\nr1,4,3\nr2,50,60\n"), threshold=10)
    grid = _grid(t.to_csv())
    assert grid[0] == [HIDDEN, HIDDEN, HIDDEN]  # 4, 3 and their total 7
    assert _safe(grid)


def test_nothing_hidden_when_every_cell_is_large() -> None:
    t = suppress(read_table("x,a,b\nr1,40,30\nr2,50,60\n"), threshold=10)
    assert not t.hidden and HIDDEN not in t.to_csv()


def test_zero_cells_stay_visible() -> None:
    t = suppress(read_table("x,a,b\nr1,0,30\nr2,50,60\n"), threshold=10)
    assert not t.hidden


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x,a\nr1,douze\n", "ligne 2, colonne « a » : « douze » n'est pas un effectif entier"),
        ("x,a,b\nr1,1\n", "ligne 2 : 2 champs au lieu de 3"),
        ("x,a\nr1,-4\n", "effectif négatif"),
        ("x,a\n", "au moins une ligne"),
        ("x,a\nr1,4\nTotal,4\n", "les totaux sont recalculés"),
    ],
)
def test_malformed_tables_refused(text: str, message: str) -> None:
    with pytest.raises(PipelineError, match=message):
        read_table(text)


def test_cli_check_output(tmp_path: Path) -> None:
    src, out = tmp_path / "t.csv", tmp_path / "checked.csv"
    src.write_text(TABLE, encoding="utf-8")
    result = CliRunner().invoke(
        app, ["datahub", "check-output", str(src), "--threshold", "10", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert _safe(_grid(out.read_text()))
    bad = tmp_path / "bad.csv"
    bad.write_text("x,a\nr1,abc\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["datahub", "check-output", str(bad)])
    assert result.exit_code == 2
    assert "n'est pas un effectif entier" in result.output
