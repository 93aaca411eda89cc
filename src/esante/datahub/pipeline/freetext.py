"""De-identification of French free text with Presidio and spaCy's ``fr_core_news_sm``.

spaCy finds people and places; patterns find what a model misses or must be exact about:
the NIR (with its key checked by python-stdnum), French dates, postal addresses, phone
numbers (libphonenumber, region FR) and e-mail addresses. Each finding is replaced by its
type in brackets (``<NOM>``, ``<NIR>``...).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from esante.datahub.pipeline.errors import PipelineError

LANG = "fr"
LABELS = {
    "PERSON": "NOM",
    "LOCATION": "LIEU",
    "FR_NIR": "NIR",
    "DATE_TIME": "DATE",
    "FR_ADDRESS": "ADRESSE",
    "PHONE_NUMBER": "TELEPHONE",
    "EMAIL_ADDRESS": "EMAIL",
}
_MONTHS = "|".join(
    [
        "janvier",
        "février",
        "fevrier",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "aout",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
        "decembre",
    ]
)
_WAYS = "rue|avenue|av\\.|boulevard|bd|place|chemin|allée|allee|impasse|route|quai|cours|square|résidence"
_NIR = r"\b[12]\s?\d{2}\s?(?:0[1-9]|1[0-2]|[2-9]\d)\s?(?:\d{2}|2[AB])\s?\d{3}\s?\d{3}\s?\d{2}\b"


def _recognizers() -> list[Any]:
    from presidio_analyzer import Pattern, PatternRecognizer
    from presidio_analyzer.predefined_recognizers import PhoneRecognizer, SpacyRecognizer
    from stdnum.fr import nir

    class NirRecognizer(PatternRecognizer):
        def validate_result(self, pattern_text: str) -> bool:
            return bool(nir.is_valid(pattern_text.replace(" ", "")))

    return [
        SpacyRecognizer(supported_language=LANG, supported_entities=["PERSON", "LOCATION"]),
        NirRecognizer(
            supported_entity="FR_NIR",
            supported_language=LANG,
            name="nir",
            patterns=[Pattern("nir", _NIR, 0.5)],
            context=["nir", "sécurité sociale", "numéro"],
        ),
        PatternRecognizer(
            supported_entity="DATE_TIME",
            supported_language=LANG,
            name="date_fr",
            patterns=[
                Pattern(
                    "jj/mm/aaaa",
                    r"\b(?:0?[1-9]|[12]\d|3[01])[/.\-](?:0?[1-9]|1[0-2])[/.\-](?:\d{4}|\d{2})\b",
                    0.8,
                ),
                Pattern(
                    "jj mois aaaa",
                    rf"(?i)\b(?:1er|0?[1-9]|[12]\d|3[01])\s+(?:{_MONTHS})(?:\s+\d{{4}})?\b",
                    0.8,
                ),
                Pattern("mois aaaa", rf"(?i)\b(?:{_MONTHS})\s+\d{{4}}\b", 0.6),
            ],
        ),
        PatternRecognizer(
            supported_entity="FR_ADDRESS",
            supported_language=LANG,
            name="adresse_fr",
            patterns=[
                Pattern(
                    "voie",
                    rf"(?i)\b\d{{1,4}}(?:\s?(?:bis|ter))?,?\s+(?:{_WAYS})\s+(?:(?:de\s+la|du|des|de|d')\s*)?"
                    r"[A-Za-zÀ-ÿ'\-]+(?:\s+[A-ZÀ-Ý][A-Za-zÀ-ÿ'\-]+){0,3}",
                    0.7,
                ),
                Pattern(
                    "code postal",
                    r"\b\d{5}\s+[A-ZÀ-Ý][A-Za-zÀ-ÿ'\-]+(?:[\s\-][A-ZÀ-Ý][A-Za-zÀ-ÿ'\-]+){0,3}",
                    0.6,
                ),
            ],
        ),
        PatternRecognizer(
            supported_entity="PERSON",
            supported_language=LANG,
            name="civilite",
            patterns=[
                Pattern(
                    "civilité",
                    r"\b(?:M\.|Mme|Mlle|Dr|Pr|Docteur|Professeur|Madame|Monsieur)\s+"
                    r"(?:[A-ZÀ-Ý][a-zà-ÿ\-]+\s+)?[A-ZÀ-Ý][A-Za-zÀ-ÿ\-]+",
                    0.7,
                ),
            ],
        ),
        PhoneRecognizer(
            supported_language=LANG, supported_regions=("FR",), context=["tél", "téléphone", "portable"]
        ),
        PatternRecognizer(
            supported_entity="PHONE_NUMBER",
            supported_language=LANG,
            name="tel_fr",
            patterns=[Pattern("tel", r"(?:\+33\s?|\b0)[1-9](?:[\s.\-]?\d{2}){4}\b", 0.7)],
        ),
        # Presidio's own e-mail recogniser fetches the public suffix list from the Internet.
        PatternRecognizer(
            supported_entity="EMAIL_ADDRESS",
            supported_language=LANG,
            name="email",
            patterns=[Pattern("email", r"\b[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}\b", 0.9)],
        ),
    ]


@lru_cache(maxsize=1)
def _engines() -> tuple[Any, Any]:
    try:
        from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
        from presidio_analyzer.nlp_engine import NlpEngineProvider
        from presidio_anonymizer import AnonymizerEngine
    except ImportError as exc:  # pragma: no cover - a dependency of the project
        raise PipelineError(f"Presidio indisponible : {exc}", code="freetext-unavailable") from None
    provider = NlpEngineProvider(
        nlp_configuration={
            "nlp_engine_name": "spacy",
            "models": [{"lang_code": LANG, "model_name": "fr_core_news_sm"}],
            "ner_model_configuration": {"labels_to_ignore": ["MISC", "ORG"]},
        }
    )
    registry = RecognizerRegistry(supported_languages=[LANG])
    for r in _recognizers():
        registry.add_recognizer(r)
    analyzer = AnalyzerEngine(
        nlp_engine=provider.create_engine(), registry=registry, supported_languages=[LANG]
    )
    return analyzer, AnonymizerEngine()


def find(text: str) -> list[tuple[int, int, str]]:
    """Spans (start, end, type) of the personal data found in ``text``."""
    analyzer, _ = _engines()
    return [(r.start, r.end, r.entity_type) for r in analyzer.analyze(text=text, language=LANG)]


def deidentify(text: str) -> str:
    from presidio_anonymizer.entities import OperatorConfig

    if not text:
        return text
    analyzer, anonymizer = _engines()
    results = analyzer.analyze(text=text, language=LANG)
    ops = {e: OperatorConfig("replace", {"new_value": f"<{label}>"}) for e, label in LABELS.items()}
    ops["DEFAULT"] = OperatorConfig("replace", {"new_value": "<DONNEE>"})
    return str(anonymizer.anonymize(text=text, analyzer_results=results, operators=ops).text)


def deidentify_parquet_columns(path: Path, columns: list[str]) -> None:
    """Rewrite the free-text columns of an extract file in place (inside the temporary directory)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    for col in columns:
        values = [None if v is None else deidentify(str(v)) for v in table.column(col).to_pylist()]
        table = table.set_column(table.schema.get_field_index(col), col, pa.array(values, pa.string()))
    pq.write_table(table, path, compression="zstd")
