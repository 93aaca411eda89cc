"""``esante identity import``: all or nothing, the bad line named."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from esante.identity import importer
from esante.identity.importer import FileError
from esante.identity.models import LocalIdentity

HEADER = "local_id;birth_name;used_name;first_names;sex;birth_date;birth_place;nir;document\n"


def _count(db) -> int:
    return db.scalar(select(func.count()).select_from(LocalIdentity)) or 0


def test_import_all(db, personas, tmp_path):
    f = tmp_path / "ok.csv"
    f.write_text(HEADER + "IPP1;Lefèvre;;Zoé Anne;F;1980-05-12;75056;;CNI\n"
                 "IPP2;Lefevre;;Zoe;F;1980-05-12;75056;;\n"
                 "IPP3;Durand;Roux;Jean-Pierre;M;1950-00-00;99109;;\n", encoding="utf-8")
    report = importer.run(db, importer.read(f), finess=personas.est["A"].finess,
                          agent="idv_a@test.esante.fr")
    assert report == {"created": 3, "pairs": 1}
    statuses = db.scalars(select(LocalIdentity.status).order_by(LocalIdentity.id)).all()
    assert statuses == ["VALI", "PROV", "PROV"]


@pytest.mark.parametrize(("content", "message"), [
    ("birth_name,sex\nA,F\n", "ligne 1 : colonne(s) manquante(s) : first_names, birth_date"),
    (HEADER + "1;Ok;;Zoé;F;1980-05-12;75056;;\n2;Lef3vre;;Zoé;F;1980-05-12;75056;;\n",
     "ligne 3 : nom de naissance : caractère « 3 » non autorisé"),
    (HEADER + "1;Ok;;Zoé;F;1980-13-12;;;\n", "ligne 2 : date de naissance 1980-13-12 impossible"),
    (HEADER + "1;Ok;;Zoé;F;1980-05-12;75999;;\n", "ligne 2 : lieu de naissance 75999 inconnu"),
    (HEADER + "1;Ok;;Zoé;F;1980-05-12;;279035121518900;\n", "ligne 2 : matricule INS invalide : "
     "clé attendue 89, reçue 00"),
    (HEADER + "1;Ok;;Zoé;F;1980-05-12;;;;extra\n", "ligne 2 : plus de valeurs que de colonnes"),
])
def test_bad_files_import_nothing(db, personas, tmp_path, content, message):
    f = tmp_path / "bad.csv"
    f.write_text(content, encoding="utf-8")
    with pytest.raises(FileError, match=message.replace("(", r"\(").replace(")", r"\)")):
        importer.run(db, importer.read(f), finess=personas.est["A"].finess,
                     agent="clerk_a@test.esante.fr")
    assert _count(db) == 0


def test_broken_encoding_names_the_line(tmp_path):
    f = tmp_path / "latin1.csv"
    f.write_bytes((HEADER + "1;Ok;;Zoe;F;1980-05-12;;;\n").encode() +
                  "2;Lefèvre;;Zoé;F;1980-05-12;;;\n".encode("latin-1"))
    with pytest.raises(FileError, match="ligne 3 : encodage illisible"):
        importer.read(f)


def test_cli_import_and_check(tmp_path, monkeypatch):
    """The commands themselves, against a fresh migrated SQLite database."""
    from typer.testing import CliRunner

    from esante.cli import app

    runner = CliRunner()
    ok = runner.invoke(app, ["ins", "check", "279035121518989"])
    assert ok.exit_code == 0 and "Dompremy" in ok.output
    bad = runner.invoke(app, ["ins", "check", "279035121518900"])
    assert bad.exit_code == 1
    assert "clé attendue 89, reçue 00" in bad.output
    missing = runner.invoke(app, ["identity", "import", str(tmp_path / "none.csv"),
                                  "--establishment", "750000010", "--agent", "x@y.fr"])
    assert missing.exit_code == 1 and "fichier introuvable" in missing.output
