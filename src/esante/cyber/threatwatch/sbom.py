"""Reading an inventory file: CSV (one CPE 2.3 name a line) or a CycloneDX SBOM (JSON,
validated against the CycloneDX schema of its ``specVersion`` by cyclonedx-python-lib,
then read with its model; components are walked recursively and each one's ``cpe`` kept)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass, field

from cyclonedx.model.bom import Bom
from cyclonedx.model.component import Component
from cyclonedx.schema import SchemaVersion

from esante.core.errors import Invalid
from esante.cyber.threatwatch import cpe as cpes

MAX_ITEMS = 20_000
CSV_COLUMNS = ("cpe", "nom", "name", "version")


@dataclass
class Entry:
    name: cpes.Cpe
    label: str = ""


@dataclass
class Read:
    entries: list[Entry]
    fmt: str  # csv, cyclonedx
    skipped: list[str] = field(default_factory=list)  # components without a CPE name


def read(data: bytes, filename: str = "") -> Read:
    """An inventory file, by its content: JSON is CycloneDX, anything else CSV."""
    if not data.strip():
        raise Invalid("fichier d'inventaire vide", "empty inventory file", code="inventory")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Invalid(f"le fichier n'est pas en UTF-8 (octet {exc.start})",
                      "the file is not UTF-8", code="encoding") from None
    if text.lstrip().startswith("{") or filename.lower().endswith(".json"):
        return read_cyclonedx(text)
    return read_csv(text)


def read_csv(text: str) -> Read:
    delimiter = ";" if text.split("\n", 1)[0].count(";") > text.split("\n", 1)[0].count(",") \
        else ","
    rows = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = [h.strip().lower() for h in next(rows, [])]
    if "cpe" not in header:
        raise Invalid("CSV d'inventaire : la première ligne doit nommer les colonnes, dont "
                      "« cpe » (puis « nom » et « version » si besoin)",
                      "CSV header must have a cpe column", code="inventory")
    unknown = [h for h in header if h not in CSV_COLUMNS]
    if unknown:
        raise Invalid(f"CSV d'inventaire : colonne(s) inconnue(s) {', '.join(unknown)} "
                      f"(colonnes possibles : {', '.join(CSV_COLUMNS)})",
                      "unknown CSV columns", code="inventory")
    entries = []
    for n, row in enumerate(rows, start=2):
        if not any(c.strip() for c in row):
            continue
        if len(row) != len(header):
            raise Invalid(f"CSV d'inventaire, ligne {n} : {len(row)} colonnes au lieu de "
                          f"{len(header)}", f"line {n}: wrong column count", code="inventory")
        values = dict(zip(header, (c.strip() for c in row), strict=True))
        try:
            name = _versioned(cpes.parse(values["cpe"]), values.get("version", ""))
        except Invalid as exc:
            raise Invalid(f"CSV d'inventaire, ligne {n} : {exc.fr}", f"line {n}: {exc.en}",
                          code="cpe", line=n) from None
        entries.append(Entry(name, values.get("nom") or values.get("name") or ""))
        _check_size(entries)
    if not entries:
        raise Invalid("CSV d'inventaire sans aucun produit", "no product in CSV",
                      code="inventory")
    return Read(entries, "csv")


def read_cyclonedx(text: str) -> Read:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise Invalid(f"JSON illisible, ligne {exc.lineno} colonne {exc.colno} : {exc.msg}",
                      "unreadable JSON", code="json") from None
    if not isinstance(doc, dict) or doc.get("bomFormat") != "CycloneDX":
        raise Invalid("ce JSON n'est pas une nomenclature CycloneDX (« bomFormat »: "
                      "« CycloneDX » attendu)", "not a CycloneDX BOM", code="cyclonedx")
    try:
        version = SchemaVersion.from_version(str(doc.get("specVersion")))
    except ValueError:
        raise Invalid(f"version CycloneDX « {doc.get('specVersion')} » inconnue",
                      "unknown CycloneDX specVersion", code="cyclonedx") from None
    if version < SchemaVersion.V1_2:
        raise Invalid("CycloneDX 1.2 ou plus récent attendu (JSON)", "CycloneDX >= 1.2 expected",
                      code="cyclonedx")
    # Imported here: the validator pulls jsonschema's format checkers, whose RFC 3987
    # grammar is compiled at import (seconds), which every server start and every CLI
    # command would otherwise pay.
    from cyclonedx.validation.json import JsonStrictValidator

    error = JsonStrictValidator(version).validate_str(text)
    if error is not None:
        detail = error.data
        where = "/".join(str(x) for x in getattr(detail, "absolute_path", [])) or "racine"
        message = getattr(detail, "message", str(error))
        raise Invalid(f"nomenclature CycloneDX non conforme au schéma {version.to_version()}, "
                      f"à « {where} » : {str(message)[:300]}",
                      f"CycloneDX schema violation at {where}", code="cyclonedx", where=where)
    bom = Bom.from_json(doc)  # type: ignore[attr-defined]
    entries: list[Entry] = []
    skipped: list[str] = []
    for component in _walk(bom.components):
        label = " ".join(x for x in (component.group, component.name) if x)
        if not component.cpe:
            skipped.append(f"{label} {component.version or ''}".strip())
            continue
        try:
            name = _versioned(cpes.parse(component.cpe), component.version or "")
        except Invalid as exc:
            raise Invalid(f"composant « {label} » : {exc.fr}", exc.en, code="cpe") from None
        entries.append(Entry(name, label))
        _check_size(entries)
    if not entries:
        raise Invalid("aucun composant de la nomenclature n'a de nom CPE (champ « cpe »)",
                      "no component with a CPE name", code="cyclonedx")
    return Read(entries, "cyclonedx", skipped)


def _walk(components: Iterable[Component]) -> Iterable[Component]:
    for component in components:
        yield component
        yield from _walk(component.components)


def _versioned(name: cpes.Cpe, version: str) -> cpes.Cpe:
    """A CPE name without a version takes the version given beside it (CSV, SBOM)."""
    if not name.has_version and version.strip():
        return name.with_version(version.strip())
    return name


def _check_size(entries: list[Entry]) -> None:
    if len(entries) > MAX_ITEMS:
        raise Invalid(f"inventaire trop grand (plus de {MAX_ITEMS} produits)",
                      "inventory too large", code="inventory")
