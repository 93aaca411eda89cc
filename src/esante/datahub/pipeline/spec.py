"""What an extract asks for (``ExtractSpec``) and what it reports (``ExtractReport``).

The spec is built from an approved project (datasets and columns requested, approved k/l/t,
suppression bound) and the opt-out register at the time of extraction. Everything is
file-based: input tables are Parquet files, the output is a directory of Parquet files plus
the risk report.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Name = Annotated[str, Field(min_length=1, max_length=63, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]


class Sensitivity(StrEnum):
    """The data dictionary's sensitivity of a column (catalogue wording)."""

    direct_identifier = "direct_identifier"  # dropped (NIR, name, address, phone...)
    quasi_identifier = "quasi_identifier"  # generalised along its hierarchy
    sensitive = "sensitive"  # kept, checked for l-diversity / t-closeness
    other = "other"  # kept as is


class BandsHierarchy(BaseModel):
    """Numbers in bands: ``widths=[5, 10, 20]`` gives levels 0 (exact), 5-, 10-, 20-wide, then ``*``."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["bands"] = "bands"
    widths: list[Annotated[int, Field(gt=0)]] = Field(min_length=1, max_length=8)


class DateHierarchy(BaseModel):
    """Dates: exact, then each of ``levels`` in order (``month`` → ``year`` by default), then ``*``.

    ``shift``: before anything else, each person's dates move by the same number of days,
    derived from the project key (never zero, at most ``ExtractSpec.date_shift_max_days``
    either way): intervals between one person's dates stay exact, calendar dates do not.
    """

    model_config = ConfigDict(extra="forbid")
    kind: Literal["date"] = "date"
    levels: list[Literal["month", "quarter", "year"]] = Field(default=["month", "year"], min_length=1)
    shift: bool = False


class PrefixHierarchy(BaseModel):
    """Codes cut to a prefix: ``lengths=[3, 1]`` for ICD-10 ``E119`` → ``E11`` → ``E``, then ``*``."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["prefix"] = "prefix"
    lengths: list[Annotated[int, Field(gt=0)]] = Field(min_length=1, max_length=8)


class MappingHierarchy(BaseModel):
    """Explicit levels: ``levels[0]`` maps each value to level 1, ``levels[1]`` level 1 to level 2...

    Commune → department → region is one (the INSEE code lists). A value missing from a
    level's map is an error at extraction (the hierarchy must cover the data).
    """

    model_config = ConfigDict(extra="forbid")
    kind: Literal["mapping"] = "mapping"
    levels: list[dict[str, str]] = Field(default_factory=list, max_length=8)


Hierarchy = Annotated[
    BandsHierarchy | DateHierarchy | PrefixHierarchy | MappingHierarchy, Field(discriminator="kind")
]


class ColumnSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sensitivity: Sensitivity = Sensitivity.other
    hierarchy: Hierarchy | None = None
    # Free text (reports, letters): de-identified with Presidio before it leaves.
    free_text: bool = False

    @model_validator(mode="after")
    def _qi_needs_hierarchy(self) -> ColumnSpec:
        if self.sensitivity is Sensitivity.quasi_identifier and self.hierarchy is None:
            raise ValueError("un quasi-identifiant doit avoir une hiérarchie de généralisation")
        return self


class TableSpec(BaseModel):
    """One input table: its Parquet file(s) and the requested columns (only those are read)."""

    model_config = ConfigDict(extra="forbid")
    path: Path
    columns: dict[Name, ColumnSpec] = Field(min_length=1, max_length=200)


class ExtractSpec(BaseModel):
    """An approved project's extract.

    k (and l, t) apply to every table separately, counted over its rows; for a table with
    one row per person this is the usual per-person k-anonymity.
    """

    model_config = ConfigDict(extra="forbid")
    project_id: Annotated[str, Field(min_length=1, max_length=64)]
    tables: dict[Name, TableSpec] = Field(min_length=1, max_length=50)
    # The person identifier column, present in every table; replaced by the project pseudonym.
    person_id_column: Name = "person_id"
    k: int = Field(ge=1, le=1_000_000)
    l: int | None = Field(default=None, ge=1, le=1000)  # noqa: E741 - the field's own name
    t: float | None = Field(default=None, gt=0, le=1)
    # The sensitive column l and t apply to; required when l or t is set, in every table
    # that has quasi-identifiers.
    sensitive_column: Name | None = None
    max_suppression: float = Field(default=0.1, ge=0, le=1)
    opted_out: frozenset[str] = frozenset()
    # Bound of the per-person date shift (``DateHierarchy.shift``), in days either way.
    date_shift_max_days: int = Field(default_factory=lambda: _settings_shift(), ge=1, le=365)

    @model_validator(mode="after")
    def _sensitive_named(self) -> ExtractSpec:
        if (self.l or self.t) and not self.sensitive_column:
            raise ValueError("l ou t demandé sans colonne sensible (sensitive_column)")
        return self


def _settings_shift() -> int:
    from esante.datahub.pipeline.ttp import PipelineSettings

    return PipelineSettings().date_shift_max_days


class ColumnReport(BaseModel):
    name: str
    sensitivity: Sensitivity
    level: int = 0  # chosen generalisation level (0 = exact; max = fully suppressed ``*``)
    max_level: int = 0
    information_loss: float = 0.0  # normalised certainty penalty, 0 (exact) .. 1 (``*``)
    date_shift_max_days: int | None = None  # dates shifted per person, at most this either way


class TableReport(BaseModel):
    """The risk report of one output table, by the three EU (WP29 05/2014) criteria."""

    name: str
    output_path: Path
    rows_in: int
    rows_opted_out: int
    rows_suppressed: int
    rows_out: int
    columns: list[ColumnReport]
    # singling out
    k_required: int
    k_reached: int | None  # smallest equivalence class in the output (None: no QI)
    classes: int
    uniques_before: int  # records unique on their exact QIs in the input
    prosecutor_risk_max: float
    prosecutor_risk_avg: float
    # linkability
    journalist_risk_max: float  # against the population table (input, before opt-out)
    # inference
    l_required: int | None = None
    l_reached: int | None = None
    t_required: float | None = None
    t_reached: float | None = None
    # utility
    information_loss: float  # mean of the QI columns' losses, suppressed rows counting 1
    lattice_nodes_evaluated: int = 0


class ExtractReport(BaseModel):
    project_id: str
    engine: str
    pseudonym: str = "HMAC-SHA-256, clé par projet dérivée (HKDF-SHA-256) du secret du tiers de confiance"
    key_fingerprint: str  # first bytes of SHA-256(key): tells keys apart, reveals nothing
    opted_out_people: int
    tables: list[TableReport]
    out_dir: Path
    seconds: float
