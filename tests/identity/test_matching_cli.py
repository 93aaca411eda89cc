"""``esante identity dedup``: a good file, and files it refuses (nothing written)."""

from __future__ import annotations

import csv
from pathlib import Path

from typer.testing import CliRunner

from esante.cli import app

HEADER = "record_id,birth_name,used_name,first_names,sex,birth_date,birth_place,nir\n"
ROWS = ("1,DUPONT,,Marie Claire,F,1985-03-04,75056,285037505612307\n"
        "2,Dupont,,MARIE,2,04/03/1985,75056,\n"
        "3,MARTIN,DUPONT,Luc,M,1990-07-12,69123,\n"
        "4,DUPONT,,Sophie,F,1985-03-04,75056,\n")


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["identity", "dedup", *args], env={"COLUMNS": "200"})
    return result.exit_code, result.output


def test_good_file_gives_clusters(tmp_path: Path) -> None:
    source, out = tmp_path / "in.csv", tmp_path / "out.csv"
    source.write_text(HEADER + ROWS, encoding="utf-8")
    code, output = run(str(source), "--out", str(out))
    assert code == 0, output
    assert "4 fiche(s)" in output
    with out.open() as f:
        rows = {r["record_id"]: r for r in csv.DictReader(f)}
    assert rows["1"]["cluster_id"] == rows["2"]["cluster_id"] == "1"
    assert float(rows["2"]["match_probability"]) > 0.9
    assert rows["4"]["cluster_id"] == "4"  # the twin sister stays apart
    assert rows["3"]["cluster_id"] == "3" and rows["3"]["match_probability"] == ""


def test_semicolon_separated_file_with_bom(tmp_path: Path) -> None:
    source, out = tmp_path / "in.csv", tmp_path / "out.csv"
    source.write_text("\ufeff" + (HEADER + ROWS).replace(",", ";"), encoding="utf-8")
    code, output = run(str(source), "--out", str(out))
    assert code == 0, output
    assert len(out.read_text().splitlines()) == 5


def test_missing_column_is_named(tmp_path: Path) -> None:
    source, out = tmp_path / "in.csv", tmp_path / "out.csv"
    source.write_text(HEADER.replace(",nir", "") + "1,DUPONT,,Marie,F,1985-03-04,75056\n")
    code, output = run(str(source), "--out", str(out))
    assert code != 0
    assert "colonne(s) manquante(s) : nir" in output
    assert not out.exists()


def test_broken_encoding_names_the_line(tmp_path: Path) -> None:
    source, out = tmp_path / "in.csv", tmp_path / "out.csv"
    source.write_bytes((HEADER + ROWS).encode() + "5,LEFÈVRE,,Zoé,F,1970-01-01,59350,\n".encode("latin-1"))
    code, output = run(str(source), "--out", str(out))
    assert code != 0
    assert "ligne 6 : encodage invalide (UTF-8 attendu), octet 0xC8" in output
    assert not out.exists()


def test_impossible_date_names_the_line(tmp_path: Path) -> None:
    source, out = tmp_path / "in.csv", tmp_path / "out.csv"
    source.write_text(HEADER + ROWS + "5,LEFEVRE,,Zoé,F,1970-02-30,59350,\n")
    code, output = run(str(source), "--out", str(out))
    assert code != 0
    assert "ligne 6 : date de naissance illisible ou impossible" in output and "1970-02-30" in output
    assert not out.exists()


def test_repeated_record_id_is_refused(tmp_path: Path) -> None:
    source, out = tmp_path / "in.csv", tmp_path / "out.csv"
    source.write_text(HEADER + ROWS + "2,LEFEVRE,,Zoé,F,1970-02-03,59350,\n")
    code, output = run(str(source), "--out", str(out))
    assert code != 0
    assert "ligne 6 : record_id « 2 » déjà vu ligne 3" in output


def test_ragged_line_is_refused(tmp_path: Path) -> None:
    source, out = tmp_path / "in.csv", tmp_path / "out.csv"
    source.write_text(HEADER + ROWS + "5,LEFEVRE,Zoé\n")
    code, output = run(str(source), "--out", str(out))
    assert code != 0
    assert "fichier CSV illisible" in output
    assert not out.exists()


def test_missing_output_folder_is_said(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text(HEADER + ROWS)
    code, output = run(str(source), "--out", str(tmp_path / "nowhere" / "out.csv"))
    assert code != 0
    assert "n'existe pas" in output
