"""French free text: recall of Presidio + fr_core_news_sm + our recognisers on clinical-style
sentences written for this test (every personal datum marked)."""

from __future__ import annotations

import pytest

from esante.datahub.pipeline.freetext import deidentify, find


def _nir(base: str) -> str:
    return f"{base} {97 - int(base.replace(' ', '')) % 97:02d}"


NIR1 = _nir("1 84 12 76 451 089")
NIR2 = _nir("2 91 07 13 055 214")

# (sentence, the personal data it contains)
CASES: list[tuple[str, list[str]]] = [
    (f"Patient M. Jean Dupont, NIR {NIR1}, admis le 14/02/2024.", ["M. Jean Dupont", NIR1, "14/02/2024"]),
    (
        "Mme Sophie Martin, née le 3 mars 1956, consulte pour une dyspnée.",
        ["Mme Sophie Martin", "3 mars 1956"],
    ),
    ("Adressé par le Dr Lefèvre pour bilan cardiologique.", ["Dr Lefèvre"]),
    ("Domicile : 12 rue Victor Hugo, 69003 Lyon.", ["12 rue Victor Hugo", "69003 Lyon"]),
    (
        "Joignable au 06 12 34 56 78 ou par courriel a.bernard@exemple.fr.",
        ["06 12 34 56 78", "a.bernard@exemple.fr"],
    ),
    (f"Numéro de sécurité sociale : {NIR2}.", [NIR2]),
    ("Sortie prévue le 1er avril 2025 vers le domicile à Marseille.", ["1er avril 2025", "Marseille"]),
    ("Compte rendu transmis au Professeur Moreau, CHU de Rennes.", ["Professeur Moreau", "Rennes"]),
    ("La fille de la patiente, Madame Camille Roux, est la personne de confiance.", ["Madame Camille Roux"]),
    ("Hospitalisé du 02/01/2023 au 09/01/2023 pour pneumopathie.", ["02/01/2023", "09/01/2023"]),
    ("Tél. du médecin traitant : 01 45 67 89 10.", ["01 45 67 89 10"]),
    ("Vit seul au 5 bis avenue de la République à Nantes.", ["5 bis avenue de la République", "Nantes"]),
    ("Monsieur Karim Benali, 67 ans, diabétique de type 2.", ["Monsieur Karim Benali"]),
    ("Revu en consultation en septembre 2024 par le Dr Nguyen.", ["septembre 2024", "Dr Nguyen"]),
    ("Écrire à lucie.petit@hopital-exemple.fr pour le suivi.", ["lucie.petit@hopital-exemple.fr"]),
    ("Antécédents : infarctus en 2019, HTA traitée.", []),
]


def _covered(text: str, gold: str, spans: list[tuple[int, int, str]]) -> bool:
    start = text.index(gold)
    return all(
        any(s <= i < e for s, e, _ in spans) for i in range(start, start + len(gold)) if not text[i].isspace()
    )


@pytest.fixture(scope="module")
def measured() -> tuple[int, int]:
    found = total = 0
    for text, golds in CASES:
        spans = find(text)
        for gold in golds:
            total += 1
            found += _covered(text, gold, spans)
    return found, total


def test_recall_on_french_clinical_sentences(measured: tuple[int, int]) -> None:
    found, total = measured
    recall = found / total
    print(f"rappel {found}/{total} = {recall:.2f}")
    assert total == 25
    assert recall >= 0.9


def test_nir_needs_a_valid_key() -> None:
    good = f"NIR {NIR1}."
    bad = good[:-3] + ("00" if not good.endswith("00.") else "01") + "."
    assert any(t == "FR_NIR" for _, _, t in find(good))
    assert not any(t == "FR_NIR" for _, _, t in find(bad))


def test_deidentify_replaces_with_the_type() -> None:
    out = deidentify(f"Mme Sophie Martin, NIR {NIR1}, tél. 06 12 34 56 78.")
    assert "Martin" not in out and NIR1 not in out and "06 12" not in out
    assert "<NIR>" in out and "<TELEPHONE>" in out


def test_free_text_column_of_an_extract_is_deidentified(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import pyarrow as pa
    import pyarrow.parquet as pq

    from esante.datahub.pipeline import run_extract
    from esante.datahub.pipeline.spec import ColumnSpec, ExtractSpec, TableSpec

    notes = [f"Vu le 12/03/2024, Mme Claire Roux, NIR {NIR2}.", "Rappeler au 06 11 22 33 44.", None]
    src = tmp_path / "docs.parquet"
    pq.write_table(pa.table({"person_id": [1, 2, 3], "note": notes}), src)
    spec = ExtractSpec(
        project_id="p-text",
        k=1,
        tables={"documents": TableSpec(path=src, columns={"note": ColumnSpec(free_text=True)})},
    )
    run_extract(spec, out_dir=tmp_path / "out", key=bytes(32))
    out = pq.read_table(tmp_path / "out" / "documents.parquet").column("note").to_pylist()
    assert out[0] is not None and "Roux" not in out[0] and NIR2 not in out[0] and "<NIR>" in out[0]
    assert "<TELEPHONE>" in out[1] and "06 11" not in out[1]  # (the small model also tags "Rappeler")
    assert out[2] is None
