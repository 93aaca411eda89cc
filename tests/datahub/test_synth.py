"""The synthetic data: shape, validity of every identifier, distributions roughly right,
reproducible, nothing left behind on failure; the CLI with its progress bar."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from stdnum import ean
from stdnum.fr import nir as stdnir
from typer.testing import CliRunner

from esante.cli import app
from esante.core.identifiers import validate_finess
from esante.datahub.synth.generate import generate

N = 20_000


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth")
    report = generate(out, people=N, seed=11, chunk=7000)  # three uneven chunks
    assert report.people == N
    return out


def read(synth: Path, name: str):  # type: ignore[no-untyped-def]
    return pq.read_table(synth / f"{name}.parquet")


def test_files_and_columns(synth: Path) -> None:
    assert sorted(p.name for p in synth.iterdir()) == [
        "claims.parquet", "manifest.json", "people.parquet", "stays.parquet"]
    assert read(synth, "people").column_names == [
        "person_id", "nir", "sex", "birth_date", "commune", "department", "region"]
    assert read(synth, "stays").column_names == [
        "stay_id", "person_id", "finess", "admission_date", "discharge_date", "length_of_stay",
        "main_diagnosis", "secondary_diagnosis", "act"]
    assert read(synth, "claims").column_names == [
        "claim_id", "person_id", "dispensed_on", "atc", "cip13", "boxes", "amount"]
    manifest = json.loads((synth / "manifest.json").read_text())
    assert manifest["people"] == N
    assert manifest["stays"] == read(synth, "stays").num_rows
    assert manifest["claims"] == read(synth, "claims").num_rows


def test_every_nir_is_valid_and_matches_its_person(synth: Path) -> None:
    people = read(synth, "people").to_pylist()
    assert [p["person_id"] for p in people] == list(range(1, N + 1))
    for p in people:
        nir = p["nir"]
        assert stdnir.is_valid(nir), nir
        assert nir[0] == ("2" if p["sex"] == "F" else "1")
        assert nir[1:3] == f"{p['birth_date'].year % 100:02d}"
        assert nir[3:5] == f"{p['birth_date'].month:02d}"
        assert p["commune"].startswith(p["department"])
    duplicates = N - len({p["nir"] for p in people})
    assert duplicates / N < 0.005  # random order numbers: rare collisions, measured here


def test_distributions_are_roughly_french(synth: Path) -> None:
    people = read(synth, "people")
    female = pc.sum(pc.equal(people.column("sex"), "F")).as_py() / N
    assert 0.50 < female < 0.53  # INSEE: 51.6 % women
    ages = [(date(2025, 1, 1) - d).days / 365.25 for d in people.column("birth_date").to_pylist()]
    over_65 = sum(a >= 65 for a in ages) / N
    under_20 = sum(a < 20 for a in ages) / N
    assert 0.19 < over_65 < 0.24  # INSEE 2024: 21.5 %
    assert 0.21 < under_20 < 0.26  # INSEE 2024: 23 %
    regions = Counter(str(r) for r in people.column("region").to_pylist())
    assert 0.16 < regions["11"] / N < 0.21  # Île-de-France: 18 %
    assert regions.most_common(1)[0][0] == "11"


def test_stays_are_consistent(synth: Path) -> None:
    stays = read(synth, "stays").to_pylist()
    births = {p["person_id"]: p["birth_date"] for p in read(synth, "people").to_pylist()}
    assert 0.15 < len(stays) / N / 2 < 0.35  # stays per person and year (PMSI MCO: ~0.26)
    for s in stays[:5000]:
        assert s["admission_date"] >= births[s["person_id"]]
        assert (s["discharge_date"] - s["admission_date"]).days == s["length_of_stay"]
        assert date(2023, 1, 1) <= s["admission_date"] <= date(2024, 12, 31)
    for finess in {s["finess"] for s in stays}:
        assert validate_finess(finess) == finess
    dx = Counter(s["main_diagnosis"] for s in stays)
    # Zipf-like: the most frequent diagnosis weighs several times a rare one
    assert dx.most_common(1)[0][1] > 5 * dx["Z45.0"]
    assert all(d[0].isalpha() and d[1:3].isdigit() for d in dx)
    # deliveries only for women of child-bearing age
    sexes = {p["person_id"]: p["sex"] for p in read(synth, "people").to_pylist()}
    assert all(sexes[s["person_id"]] == "F" for s in stays if s["main_diagnosis"] == "O80")
    ambulatory = sum(s["length_of_stay"] == 0 for s in stays) / len(stays)
    assert 0.3 < ambulatory < 0.5


def test_claims_codes_are_valid(synth: Path) -> None:
    claims = read(synth, "claims")
    assert 3 < claims.num_rows / N < 12  # dispensations per person and year
    for cip in set(claims.column("cip13").to_pylist()):
        assert len(cip) == 13 and cip.startswith("34009") and ean.is_valid(cip)
    atc = Counter(claims.column("atc").to_pylist())
    assert atc.most_common(1)[0][0] == "N02BE01"  # paracetamol, first in town pharmacies
    assert pc.min(claims.column("boxes")).as_py() >= 1


def test_same_seed_same_files(tmp_path: Path) -> None:
    generate(tmp_path / "a", people=1500, seed=3, chunk=1000)
    generate(tmp_path / "b", people=1500, seed=3, chunk=1000)
    generate(tmp_path / "c", people=1500, seed=4, chunk=1000)
    for name in ("people", "stays", "claims"):
        a = pq.read_table(tmp_path / "a" / f"{name}.parquet")
        assert a.equals(pq.read_table(tmp_path / "b" / f"{name}.parquet"))
        assert not a.equals(pq.read_table(tmp_path / "c" / f"{name}.parquet"))


def test_cli_writes_and_reports(tmp_path: Path) -> None:
    r = CliRunner().invoke(app, ["datahub", "synth", "--people", "2500", "--out",
                                 str(tmp_path / "out"), "--chunk", "1000"])
    assert r.exit_code == 0, r.output
    assert "2 500 personnes" in r.output
    assert pq.read_metadata(tmp_path / "out" / "people.parquet").num_rows == 2500


def test_cli_bad_input(tmp_path: Path) -> None:
    r = CliRunner().invoke(app, ["datahub", "synth", "--people", "0", "--out", str(tmp_path)])
    assert r.exit_code != 0
    a_file = tmp_path / "file"
    a_file.write_text("x")
    r = CliRunner().invoke(app, ["datahub", "synth", "--people", "10", "--out", str(a_file)])
    assert r.exit_code == 1
    assert "n'est pas un dossier" in " ".join(r.output.split())


def test_a_failed_run_leaves_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"

    def boom(_n: int) -> None:
        raise RuntimeError("disque plein")

    with pytest.raises(RuntimeError):
        generate(out, people=3000, chunk=1000, progress=boom)
    assert list(out.iterdir()) == []
