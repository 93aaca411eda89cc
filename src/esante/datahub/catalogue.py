"""The catalogue: datasets and their data dictionaries, registered from Parquet files.

Registering checks the file against its dictionary (every column of the file described,
every described column present with its type), reads the volume from the Parquet footer and
the period from the generator's manifest (or from the date columns). Registering again
updates the entry in place: a column that a project asked for may not disappear."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlalchemy import select
from sqlalchemy.orm import Session

from esante.core import audit
from esante.core.audit import Actor
from esante.core.db import utcnow
from esante.core.errors import Invalid, NotFound
from esante.datahub.dictionary import SYNTHETIC, DatasetSpec
from esante.datahub.models import Dataset, DatasetColumn, ProjectColumn

_TYPES = {"int64": pa.int64(), "int16": pa.int16(), "int8": pa.int8(), "float32": pa.float32(),
          "date": pa.date32(), "string": pa.string()}


def _arrow_type(field: pa.Field) -> pa.DataType:
    t = field.type
    return t.value_type if pa.types.is_dictionary(t) else t


def read_schema(path: Path) -> tuple[pa.Schema, int]:
    """The schema and row count of a Parquet file, or a precise error."""
    if not path.is_file():
        raise Invalid(f"fichier introuvable : {path}", f"file not found: {path}",
                      code="file-missing")
    try:
        meta = pq.read_metadata(path)
        schema = pq.read_schema(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise Invalid(f"{path.name} n'est pas un fichier Parquet lisible : {exc}",
                      f"{path.name} is not a readable Parquet file: {exc}",
                      code="parquet-invalid") from None
    return schema, meta.num_rows


def check_against(spec: DatasetSpec, schema: pa.Schema) -> None:
    described = {c.name for c in spec.columns}
    extra = [n for n in schema.names if n not in described]
    if extra:
        raise Invalid(f"{spec.file} : colonnes absentes du dictionnaire : {', '.join(extra)}",
                      f"{spec.file}: columns missing from the dictionary: {', '.join(extra)}",
                      code="dictionary-incomplete")
    for col in spec.columns:
        if col.name not in schema.names:
            raise Invalid(f"{spec.file} : la colonne « {col.name} » du dictionnaire manque au "
                          "fichier", f"{spec.file}: column {col.name} is missing",
                          code="column-missing")
        got = _arrow_type(schema.field(col.name))
        if got != _TYPES[col.data_type]:
            raise Invalid(f"{spec.file} : la colonne « {col.name} » est de type {got}, "
                          f"{col.data_type} attendu",
                          f"{spec.file}: column {col.name} is {got}, {col.data_type} expected",
                          code="column-type")


def _period(directory: Path, path: Path, spec: DatasetSpec) -> tuple[date | None, date | None]:
    manifest = directory / "manifest.json"
    if manifest.is_file():
        try:
            data = json.loads(manifest.read_text())
            return date.fromisoformat(data["period_start"]), date.fromisoformat(data["period_end"])
        except (ValueError, KeyError, TypeError):
            raise Invalid("manifest.json illisible : period_start et period_end attendus "
                          "(AAAA-MM-JJ)", "unreadable manifest.json", code="manifest") from None
    dates = [c.name for c in spec.columns if c.hierarchy == "date"]
    if not dates:
        return None, None
    lows, highs = [], []
    for name in dates:
        mm = pc.min_max(pq.read_table(path, columns=[name]).column(name)).as_py()
        if mm["min"] is not None:
            lows.append(mm["min"])
            highs.append(mm["max"])
    return (min(lows), max(highs)) if lows else (None, None)


def register(session: Session, *, actor: Actor, directory: Path, spec: DatasetSpec) -> Dataset:
    path = (directory / spec.file).resolve()
    schema, rows = read_schema(path)
    check_against(spec, schema)
    start, end = _period(directory, path, spec)
    ds = session.scalar(select(Dataset).where(Dataset.slug == spec.slug))
    if ds is None:
        ds = Dataset(slug=spec.slug, registered_by=actor.label)
        session.add(ds)
    ds.title, ds.description, ds.source = spec.title, spec.description, spec.source
    ds.path, ds.row_count, ds.period_start, ds.period_end = str(path), rows, start, end
    ds.person_id_column, ds.updated_at = spec.person_id_column, utcnow()
    session.flush()
    existing = {c.name: c for c in columns_of(session, ds)}
    for position, col in enumerate(spec.columns):
        row = existing.pop(col.name, None) or DatasetColumn(dataset_id=ds.id, name=col.name)
        row.position, row.data_type, row.meaning = position, col.data_type, col.meaning
        row.sensitivity, row.hierarchy = col.sensitivity.value, col.hierarchy
        session.add(row)
    for gone in existing.values():
        if session.scalar(select(ProjectColumn.id).where(ProjectColumn.column_id == gone.id)):
            raise Invalid(f"la colonne « {gone.name} » est demandée par un projet : elle ne peut "
                          "pas disparaître du catalogue", f"column {gone.name} is in use",
                          code="column-in-use")
        session.delete(gone)
    audit.record(session, actor=actor, action="datahub.dataset.register", object_type="dataset",
                 object_id=ds.slug, details={"rows": rows, "path": str(path)})
    session.flush()
    return ds


def register_directory(session: Session, *, actor: Actor, directory: Path) -> list[Dataset]:
    """Register the synthetic datasets found in ``directory`` (all three, or an error)."""
    if not directory.is_dir():
        raise Invalid(f"dossier introuvable : {directory}", f"no such folder: {directory}",
                      code="folder-missing")
    return [register(session, actor=actor, directory=directory, spec=spec) for spec in SYNTHETIC]


def list_datasets(session: Session) -> list[Dataset]:
    return list(session.scalars(select(Dataset).order_by(Dataset.title)))


def get_dataset(session: Session, slug: str) -> Dataset:
    ds = session.scalar(select(Dataset).where(Dataset.slug == slug))
    if ds is None:
        raise NotFound(f"jeu de données introuvable : {slug[:60]}", "dataset not found")
    return ds


def columns_of(session: Session, ds: Dataset) -> list[DatasetColumn]:
    return list(session.scalars(select(DatasetColumn).where(DatasetColumn.dataset_id == ds.id)
                                .order_by(DatasetColumn.position)))


def resolve_columns(session: Session, names: list[str]) -> list[tuple[Dataset, DatasetColumn]]:
    """``dataset.column`` names → catalogue rows, or a precise error for the first unknown."""
    out: list[tuple[Dataset, DatasetColumn]] = []
    cache: dict[str, tuple[Dataset, dict[str, DatasetColumn]]] = {}
    for raw in names:
        slug, dot, name = raw.strip().partition(".")
        if not dot or not slug or not name:
            raise Invalid(f"colonne « {raw[:130]} » : la forme attendue est jeu.colonne "
                          "(par exemple synth-stays.main_diagnosis)",
                          f"column {raw[:130]!r}: dataset.column expected", code="column-format")
        if slug not in cache:
            ds = session.scalar(select(Dataset).where(Dataset.slug == slug))
            if ds is None:
                raise Invalid(f"jeu de données inconnu : « {slug[:60]} »",
                              f"unknown dataset: {slug[:60]}", code="unknown-dataset")
            cache[slug] = (ds, {c.name: c for c in columns_of(session, ds)})
        ds, cols = cache[slug]
        if name not in cols:
            raise Invalid(f"la colonne « {name[:60]} » n'existe pas dans {slug} (colonnes : "
                          f"{', '.join(cols)})", f"column {name[:60]} does not exist in {slug}",
                          code="unknown-column", column=raw[:130])
        out.append((ds, cols[name]))
    return out


def dataset_out(session: Session, ds: Dataset, *, with_columns: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "slug": ds.slug, "title": ds.title, "description": ds.description, "source": ds.source,
        "rows": ds.row_count, "period_start": ds.period_start, "period_end": ds.period_end,
        "person_id_column": ds.person_id_column, "updated_at": ds.updated_at}
    if with_columns:
        out["columns"] = [{"name": c.name, "type": c.data_type, "meaning": c.meaning,
                           "sensitivity": c.sensitivity, "hierarchy": c.hierarchy}
                          for c in columns_of(session, ds)]
    return out
