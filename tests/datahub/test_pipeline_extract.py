"""Extraction on DuckDB: k and l checked by pycanon on the output, pseudonyms, opt-out, no
direct identifier left, bad input refused with nothing left behind."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest
from pycanon import anonymity

from esante.datahub.pipeline import PipelineError, run_extract, sample
from esante.datahub.pipeline.spec import ColumnSpec, MappingHierarchy, Sensitivity
from esante.datahub.pipeline.ttp import create_master_secret, project_key
from tests.datahub.pipeline_data import COMMUNES, people_file

QIS = ["age", "sexe", "commune", "diplome", "situation", "profession"]
KEY = bytes(range(32))


@pytest.fixture(scope="module")
def people(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return people_file(tmp_path_factory.mktemp("in"))


@pytest.fixture(scope="module")
def extract(people: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    opted = frozenset(str(i) for i in range(0, 300, 7))
    spec = sample.people_spec(people, project_id="p1", k=5, l=2, communes=COMMUNES, opted_out=opted)
    out = tmp_path_factory.mktemp("out") / "extract"
    run_extract(spec, engine="duckdb", out_dir=out, key=KEY)
    return out, json.loads((out / "report.json").read_text())


def _pseudo(key: bytes, pid: object) -> str:
    return hmac.new(key, str(pid).encode(), hashlib.sha256).hexdigest()


def test_reported_k_and_l_are_those_pycanon_measures(extract: tuple[Path, dict]) -> None:
    out, report = extract
    t = report["tables"][0]
    df = pd.read_parquet(out / "personnes.parquet")
    assert len(df) == t["rows_out"] > 0
    assert t["k_reached"] == anonymity.k_anonymity(df, QIS) >= 5
    assert t["l_reached"] == anonymity.l_diversity(df, QIS, ["diagnostic"]) >= 2
    assert t["t_reached"] == pytest.approx(anonymity.t_closeness(df, QIS, ["diagnostic"]), abs=1e-6)
    assert t["rows_suppressed"] <= 0.1 * (t["rows_in"] - t["rows_opted_out"])
    assert t["rows_out"] == t["rows_in"] - t["rows_opted_out"] - t["rows_suppressed"]
    assert 0 < t["information_loss"] < 1
    levels = {c["name"]: c["level"] for c in t["columns"] if c["sensitivity"] == "quasi_identifier"}
    assert any(levels.values())  # this data needs some generalisation


def test_no_direct_identifier_in_any_column(people: Path, extract: tuple[Path, dict]) -> None:
    out, _ = extract
    src = pq.read_table(people).to_pydict()
    secrets = {str(v) for col in ("person_id", "nir", "nom") for v in src[col]}
    table = pq.read_table(out / "personnes.parquet")
    assert "nir" not in table.column_names and "nom" not in table.column_names
    assert "person_id" not in table.column_names
    for col in table.column_names:
        values = {str(v) for v in table.column(col).to_pylist()}
        leaked = values & secrets
        # small integers may coincide with ages; NIRs, names and ids of 4+ digits may not
        assert not {v for v in leaked if len(v) > 3 or not v.isdigit()}, col


def test_pseudonym_is_hmac_sha256_and_opted_out_people_are_absent(
    people: Path, extract: tuple[Path, dict]
) -> None:
    out, report = extract
    pseudonyms = set(pq.read_table(out / "personnes.parquet").column("pseudonym").to_pylist())
    ids = pq.read_table(people).column("person_id").to_pylist()
    everyone = {_pseudo(KEY, i) for i in ids}
    assert pseudonyms <= everyone
    opted = {_pseudo(KEY, i) for i in range(0, 300, 7)}
    assert not pseudonyms & opted
    assert report["tables"][0]["rows_opted_out"] == len(opted)
    assert report["opted_out_people"] == len(opted)


def test_project_keys_separate_pseudonyms(tmp_path: Path) -> None:
    secret = tmp_path / "ttp" / "master.key"
    create_master_secret(secret)
    k1, k1bis, k2 = (project_key(p, secret_file=secret) for p in ("p1", "p1", "p2"))
    assert k1 == k1bis and k1 != k2 and len(k1) == 32
    assert _pseudo(k1, 42) != _pseudo(k2, 42)
    with pytest.raises(PipelineError, match="existe déjà"):
        create_master_secret(secret)


def test_same_key_same_pseudonyms_other_project_none_in_common(people: Path, tmp_path: Path) -> None:
    spec = sample.people_spec(people, project_id="p1", k=3, communes=COMMUNES)
    a = run_extract(spec, out_dir=tmp_path / "a", key=KEY)
    b = run_extract(spec, out_dir=tmp_path / "b", key=KEY)
    c = run_extract(spec.model_copy(update={"project_id": "p2"}), out_dir=tmp_path / "c", key=bytes(32))
    pa_, pb, pc = (
        set(pq.read_table(r.out_dir / "personnes.parquet").column("pseudonym").to_pylist()) for r in (a, b, c)
    )
    assert pa_ == pb and not pa_ & pc
    assert a.key_fingerprint == b.key_fingerprint != c.key_fingerprint


def test_report_written_as_json_html_and_pdf(extract: tuple[Path, dict]) -> None:
    out, _ = extract
    html = (out / "report.html").read_text()
    assert "Individualisation" in html and "Corrélation" in html and "Inférence" in html
    assert (out / "report.pdf").read_bytes().startswith(b"%PDF")


def _assert_nothing_left(parent: Path) -> None:
    assert list(parent.iterdir()) == []


def test_unknown_column_refused_nothing_left(people: Path, tmp_path: Path) -> None:
    spec = sample.people_spec(people, communes=COMMUNES)
    spec.tables["personnes"].columns["revenu"] = ColumnSpec(sensitivity=Sensitivity.other)
    with pytest.raises(PipelineError, match="revenu"):
        run_extract(spec, out_dir=tmp_path / "x", key=KEY)
    _assert_nothing_left(tmp_path)


def test_impossible_k_refused(people: Path, tmp_path: Path) -> None:
    spec = sample.people_spec(people, k=10_000, communes=COMMUNES)
    with pytest.raises(PipelineError, match="k=10000 impossible") as exc:
        run_extract(spec, out_dir=tmp_path / "x", key=KEY)
    assert exc.value.code == "impossible-k"
    _assert_nothing_left(tmp_path)


def test_hierarchy_not_covering_a_value_refused(people: Path, tmp_path: Path) -> None:
    spec = sample.people_spec(people, communes=COMMUNES)
    partial = {k: v for k, v in sample.EDUCATION.items() if k != "master"}
    spec.tables["personnes"].columns["diplome"] = ColumnSpec(
        sensitivity=Sensitivity.quasi_identifier, hierarchy=MappingHierarchy(levels=[partial])
    )
    with pytest.raises(PipelineError, match=r"ne couvre pas 1 valeur.*master"):
        run_extract(spec, out_dir=tmp_path / "x", key=KEY)
    _assert_nothing_left(tmp_path)


def test_malformed_parquet_refused(tmp_path: Path) -> None:
    bad = tmp_path / "in" / "bad.parquet"
    bad.parent.mkdir()
    bad.write_bytes(b"PAR1 this is not parquet")
    spec = sample.people_spec(bad, communes=COMMUNES)
    with pytest.raises(PipelineError, match="illisible") as exc:
        run_extract(spec, out_dir=tmp_path / "out" / "x", key=KEY)
    assert exc.value.code == "malformed-parquet"
    _assert_nothing_left(tmp_path / "out")


def test_existing_output_refused(people: Path, tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    with pytest.raises(PipelineError, match="existe déjà"):
        run_extract(sample.people_spec(people, communes=COMMUNES), out_dir=tmp_path / "x", key=KEY)


def test_search_finds_the_least_loss_of_the_whole_lattice(people: Path, tmp_path: Path) -> None:
    """Against brute force: every node of the lattice measured directly with DuckDB."""
    import itertools

    spec = sample.people_spec(people, k=5, communes=COMMUNES)
    report = run_extract(spec, out_dir=tmp_path / "x", key=KEY).tables[0]
    cols = spec.tables["personnes"].columns
    con = duckdb.connect()
    con.execute(f"CREATE TABLE p AS SELECT * FROM read_parquet('{people}')")
    from esante.datahub.pipeline.hierarchy import max_level, recode_table

    for i, q in enumerate(QIS):
        values = con.sql(f"SELECT DISTINCT {q} AS v FROM p").to_arrow_table().column("v").combine_chunks()
        con.register(f"r{i}", recode_table(con, q, cols[q].hierarchy, values))
    best = None
    n = con.sql("SELECT count(*) FROM p").fetchall()[0][0]
    for node in itertools.product(*(range(max_level(cols[q].hierarchy) + 1) for q in QIS)):
        g = ", ".join(f"r{i}.g{lv}" for i, lv in enumerate(node))
        loss = " + ".join(f"r{i}.loss{lv}" for i, lv in enumerate(node))
        sup, kept_loss = con.sql(
            "SELECT coalesce(sum(c) FILTER (WHERE c < 5), 0), coalesce(sum(l) FILTER (WHERE c >= 5), 0) FROM "
            f"(SELECT count(*) AS c, sum({loss}) AS l FROM p "
            + " ".join(f"JOIN r{i} ON p.{q} = r{i}.v" for i, q in enumerate(QIS))
            + f" GROUP BY {g})"
        ).fetchall()[0]
        if sup <= int(0.1 * n):
            il = (kept_loss + sup * len(QIS)) / (n * len(QIS))
            best = il if best is None else min(best, il)
    assert report.information_loss == pytest.approx(best, abs=1e-6)
    assert report.lattice_nodes_evaluated < 1000
