"""The shipped INSEE geographic code: current, delegated and former communes, countries."""

from __future__ import annotations

import json

from esante.identity import cog


def test_places():
    data = cog.load()
    assert data.place("75056").name == "Paris"  # type: ignore[union-attr]
    assert data.place("99109").country  # type: ignore[union-attr]  # Germany
    assert data.place("01340").kind == "ancienne"  # type: ignore[union-attr]  # merged code
    delegated = [c for c, (_n, kind) in data.communes.items() if kind == "deleguee"]
    assert len(delegated) > 500  # those whose code differs from the new commune's
    assert data.place("20004") is not None  # Corsica before 1976
    assert data.place("99999") is None and data.place("75999") is None
    assert len(data.countries) > 200 and len(data.communes) > 38_000


def test_build_from_sources(tmp_path):
    """The refresh reads the npm package's data folder (a tiny one here)."""
    src = tmp_path / "package" / "data"
    src.mkdir(parents=True)
    (tmp_path / "package" / "package.json").write_text(json.dumps({"version": "9.9.9"}))
    (src / "communes.json").write_text(json.dumps([
        {"code": "01015", "nom": "Arboys en Bugey", "type": "commune-actuelle",
         "anciensCodes": ["01340"]},
        {"code": "01015", "nom": "Arbignieu", "type": "commune-deleguee"},
        {"code": "01036", "nom": "Cerdon-Ancien", "type": "commune-associee"}]))
    (src / "departements.json").write_text(json.dumps([{"code": "01", "nom": "Ain"}]))
    content = cog.build(src)
    assert content["communes"]["01015"] == ["Arboys en Bugey", "actuelle"]
    assert content["communes"]["01340"][1] == "ancienne"
    assert content["communes"]["01036"][1] == "associee"
    assert "9.9.9" in content["meta"]["sources"][0]
    out = tmp_path / "cog.json.gz"
    cog.write(content, out)
    assert cog.load(out).place("01015").name == "Arboys en Bugey"  # type: ignore[union-attr]
