"""The data dictionaries of the synthetic datasets: every column, its meaning, its type and
its sensitivity, as the catalogue shows them and the review checks requests against."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Sensitivity(StrEnum):
    DIRECT_IDENTIFIER = "direct_identifier"
    QUASI_IDENTIFIER = "quasi_identifier"
    SENSITIVE = "sensitive"
    OTHER = "other"


SENSITIVITY_LABELS = {
    "direct_identifier": "Identifiant direct",
    "quasi_identifier": "Quasi-identifiant",
    "sensitive": "Donnée sensible",
    "other": "Autre",
}


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    data_type: str
    meaning: str
    sensitivity: Sensitivity
    hierarchy: str = ""  # age, geography, date: how the pipeline may generalise it


@dataclass(frozen=True)
class DatasetSpec:
    slug: str
    file: str
    title: str
    description: str
    source: str
    person_id_column: str
    columns: tuple[ColumnSpec, ...]


D, Q, S, OTHER = (Sensitivity.DIRECT_IDENTIFIER, Sensitivity.QUASI_IDENTIFIER,
                  Sensitivity.SENSITIVE, Sensitivity.OTHER)
SYNTH_SOURCE = "Données synthétiques générées par « esante datahub synth » (aucune personne réelle)"

SYNTHETIC: tuple[DatasetSpec, ...] = (
    DatasetSpec(
        slug="synth-people", file="people.parquet", title="Population (synthétique)",
        description="Une ligne par personne : sexe, date de naissance selon la pyramide des "
                    "âges de l'INSEE, commune, département et région de résidence, NIR à clé "
                    "valide.",
        source=SYNTH_SOURCE, person_id_column="person_id",
        columns=(
            ColumnSpec("person_id", "int64", "Identifiant de la personne dans l'entrepôt "
                       "(remplacé par un pseudonyme propre au projet à l'extraction)", D),
            ColumnSpec("nir", "string", "Numéro d'inscription au répertoire (NIR, 15 "
                       "caractères, clé comprise)", D),
            ColumnSpec("sex", "string", "Sexe (F, M)", Q),
            ColumnSpec("birth_date", "date", "Date de naissance", Q, "age"),
            ColumnSpec("commune", "string", "Code INSEE de la commune de résidence", Q,
                       "geography"),
            ColumnSpec("department", "string", "Code du département de résidence", Q,
                       "geography"),
            ColumnSpec("region", "string", "Code INSEE de la région de résidence", Q,
                       "geography"),
        )),
    DatasetSpec(
        slug="synth-stays", file="stays.parquet", title="Séjours hospitaliers (synthétique)",
        description="Une ligne par séjour en médecine, chirurgie, obstétrique : établissement "
                    "(FINESS), dates, durée, diagnostic principal et associé (CIM-10), acte "
                    "principal (format CCAM).",
        source=SYNTH_SOURCE, person_id_column="person_id",
        columns=(
            ColumnSpec("stay_id", "int64", "Numéro du séjour", OTHER),
            ColumnSpec("person_id", "int64", "Identifiant de la personne (voir Population)", D),
            ColumnSpec("finess", "string", "Numéro FINESS de l'établissement", Q, "geography"),
            ColumnSpec("admission_date", "date", "Date d'entrée", Q, "date"),
            ColumnSpec("discharge_date", "date", "Date de sortie", Q, "date"),
            ColumnSpec("length_of_stay", "int16", "Durée du séjour en jours (0 : ambulatoire)",
                       OTHER),
            ColumnSpec("main_diagnosis", "string", "Diagnostic principal (CIM-10)", S),
            ColumnSpec("secondary_diagnosis", "string", "Diagnostic associé (CIM-10), "
                       "facultatif", S),
            ColumnSpec("act", "string", "Acte principal (code au format CCAM)", S),
        )),
    DatasetSpec(
        slug="synth-claims", file="claims.parquet",
        title="Délivrances de médicaments en ville (synthétique)",
        description="Une ligne par délivrance en pharmacie : date, substance (ATC), "
                    "présentation (CIP13), nombre de boîtes, montant remboursable.",
        source=SYNTH_SOURCE, person_id_column="person_id",
        columns=(
            ColumnSpec("claim_id", "int64", "Numéro de la délivrance", OTHER),
            ColumnSpec("person_id", "int64", "Identifiant de la personne (voir Population)", D),
            ColumnSpec("dispensed_on", "date", "Date de délivrance", Q, "date"),
            ColumnSpec("atc", "string", "Substance (classification ATC, niveau 5)", S),
            ColumnSpec("cip13", "string", "Présentation (code CIP13)", S),
            ColumnSpec("boxes", "int8", "Nombre de boîtes", OTHER),
            ColumnSpec("amount", "float32", "Montant remboursable en euros", OTHER),
        )),
)
