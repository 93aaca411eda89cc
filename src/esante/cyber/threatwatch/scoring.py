"""CVSS vectors scored by the ``cvss`` package (FIRST specifications 3.0, 3.1 and 4.0)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from cvss import CVSS3, CVSS4
from cvss.exceptions import CVSSError

from esante.core.errors import Invalid

SEVERITY_LABELS = {"None": "aucune", "Low": "faible", "Medium": "moyenne", "High": "élevée",
                   "Critical": "critique"}
MAX_VECTOR = 300


@dataclass(frozen=True)
class Score:
    vector: str
    version: str  # 3.0, 3.1, 4.0
    base: Decimal
    severity: str  # None, Low, Medium, High, Critical (FIRST's words)

    @property
    def severity_fr(self) -> str:
        return SEVERITY_LABELS.get(self.severity, self.severity)


def score(vector: str) -> Score:
    """The base score of a CVSS 3.x or 4.0 vector, or ``Invalid`` naming the fault."""
    v = (vector or "").strip()
    if len(v) > MAX_VECTOR:
        raise Invalid("vecteur CVSS trop long", "CVSS vector too long", code="cvss")
    try:
        if v.startswith(("CVSS:3.0/", "CVSS:3.1/")):
            c3 = CVSS3(v)
            return Score(c3.clean_vector(), v[5:8], Decimal(c3.base_score),
                         str(c3.severities()[0]))
        if v.startswith("CVSS:4.0/"):
            c4 = CVSS4(v)
            return Score(c4.clean_vector(), "4.0", Decimal(str(c4.base_score)), str(c4.severity))
    except CVSSError as exc:
        raise Invalid(f"vecteur CVSS invalide « {v[:120]} » : {exc}",
                      f"invalid CVSS vector: {exc}", code="cvss") from None
    raise Invalid(f"vecteur CVSS « {v[:120]} » non reconnu : il commence par « CVSS:3.1/ », "
                  "« CVSS:3.0/ » ou « CVSS:4.0/ »", "unsupported CVSS vector", code="cvss")
