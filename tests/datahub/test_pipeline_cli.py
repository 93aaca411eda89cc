"""``esante datahub risk`` and ``extract-spec`` from the command line."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from esante.cli import app
from esante.datahub.pipeline import sample
from tests.datahub.pipeline_data import COMMUNES, people_file


def test_risk_json_on_a_raw_file(tmp_path: Path) -> None:
    people = people_file(tmp_path, rows=500)
    result = CliRunner().invoke(
        app,
        ["datahub", "risk", str(people), "--qi", "age,sexe,commune", "--sensitive", "diagnostic", "--json"],
    )
    assert result.exit_code == 0, result.output
    m = json.loads(result.output)
    assert m["rows"] == 500 and m["k"] == 1 and m["uniques"] > 0 and m["prosecutor_risk_max"] == 1.0


def test_risk_unknown_column_is_one_clear_line(tmp_path: Path) -> None:
    people = people_file(tmp_path, rows=50)
    result = CliRunner().invoke(app, ["datahub", "risk", str(people), "--qi", "age,revenu"])
    assert result.exit_code == 2
    assert "colonne(s) absente(s) de people.parquet : revenu" in result.output


def test_extract_spec_with_the_ttp_key(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("ESANTE_DATAHUB_TTP_SECRET_FILE", str(tmp_path / "ttp" / "master.key"))
    runner = CliRunner()
    assert runner.invoke(app, ["datahub", "ttp-init"]).exit_code == 0
    people = people_file(tmp_path, rows=800)
    spec = tmp_path / "spec.json"
    spec.write_text(sample.people_spec(people, project_id="p9", k=3, communes=COMMUNES).model_dump_json())
    result = runner.invoke(app, ["datahub", "extract-spec", str(spec), str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "personnes :" in result.output and (tmp_path / "out" / "report.pdf").exists()
    spec.write_text(json.dumps({"project_id": "p9", "tables": {}, "k": 0}))
    result = runner.invoke(app, ["datahub", "extract-spec", str(spec), str(tmp_path / "out2")])
    assert result.exit_code == 2 and "spécification invalide" in result.output
    assert not (tmp_path / "out2").exists()
