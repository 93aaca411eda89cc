"""The catalogue: registered from the synthetic files with their dictionary, public pages
and API, precise errors on files that do not match."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from esante.core.audit import Actor
from esante.core.errors import Invalid
from esante.datahub import catalogue
from esante.datahub.models import Dataset, DatasetColumn
from tests.datahub.factories import register, synth_dir


def test_register_with_dictionary(db) -> None:
    register(db)
    stays = catalogue.get_dataset(db, "synth-stays")
    assert stays.row_count == pq.read_metadata(synth_dir() / "stays.parquet").num_rows
    assert str(stays.period_start) == "2023-01-01" and str(stays.period_end) == "2024-12-31"
    cols = {c.name: c for c in catalogue.columns_of(db, stays)}
    assert list(cols) == pq.read_schema(synth_dir() / "stays.parquet").names
    assert cols["person_id"].sensitivity == "direct_identifier"
    assert cols["admission_date"].sensitivity == "quasi_identifier"
    assert cols["main_diagnosis"].sensitivity == "sensitive"
    assert cols["length_of_stay"].sensitivity == "other"
    assert all(c.meaning for c in cols.values())
    people = {c.name: c for c in catalogue.columns_of(db, catalogue.get_dataset(db, "synth-people"))}
    assert people["nir"].sensitivity == "direct_identifier"
    assert people["commune"].hierarchy == "geography"
    ids = {c.name: c.id for c in catalogue.columns_of(db, stays)}
    register(db)  # again: updated in place, column ids kept
    assert {c.name: c.id for c in catalogue.columns_of(db, stays)} == ids
    assert db.scalar(select(func.count()).select_from(Dataset)) == 3


def _copy(tmp_path: Path) -> Path:
    out = tmp_path / "copy"
    shutil.copytree(synth_dir(), out)
    return out


def _count(db) -> int:  # type: ignore[no-untyped-def]
    return db.scalar(select(func.count()).select_from(DatasetColumn)) or 0


def test_malformed_files_are_refused_and_nothing_saved(db, tmp_path: Path) -> None:
    out = _copy(tmp_path)
    (out / "claims.parquet").write_bytes(b"PAR1 not really parquet")
    with pytest.raises(Invalid, match=r"claims\.parquet n'est pas un fichier Parquet lisible"):
        catalogue.register_directory(db, actor=Actor.system("t"), directory=out)
    db.rollback()
    assert _count(db) == 0


def test_columns_must_match_the_dictionary(db, tmp_path: Path) -> None:
    out = _copy(tmp_path)
    table = pq.read_table(out / "people.parquet")
    pq.write_table(table.append_column("name", pa.array(["X"] * table.num_rows)),
                   out / "people.parquet")
    with pytest.raises(Invalid, match="colonnes absentes du dictionnaire : name"):
        catalogue.register_directory(db, actor=Actor.system("t"), directory=out)
    pq.write_table(table.drop_columns(["sex"]), out / "people.parquet")
    with pytest.raises(Invalid, match="la colonne « sex » du dictionnaire manque"):
        catalogue.register_directory(db, actor=Actor.system("t"), directory=out)
    pq.write_table(table.set_column(2, "sex", pa.array([1] * table.num_rows)),
                   out / "people.parquet")
    with pytest.raises(Invalid, match="« sex » est de type int64, string attendu"):
        catalogue.register_directory(db, actor=Actor.system("t"), directory=out)
    with pytest.raises(Invalid, match="dossier introuvable"):
        catalogue.register_directory(db, actor=Actor.system("t"), directory=tmp_path / "none")


def test_api_is_public(client, db) -> None:
    register(db)
    listing = client.get("/api/datahub/datasets").json()
    assert {d["slug"] for d in listing} == {"synth-people", "synth-stays", "synth-claims"}
    detail = client.get("/api/datahub/datasets/synth-claims").json()
    assert [c["name"] for c in detail["columns"]][:3] == ["claim_id", "person_id", "dispensed_on"]
    assert "path" not in detail and str(synth_dir()) not in str(detail)
    r = client.get("/api/datahub/datasets/nope")
    assert r.status_code == 404 and "jeu de données introuvable" in r.json()["detail"]


def test_cli_register_bad_folder(tmp_path: Path) -> None:
    from esante.cli import app

    r = CliRunner().invoke(app, ["datahub", "catalogue", "register", str(tmp_path / "none")])
    assert r.exit_code == 1
    assert "dossier introuvable" in r.output
