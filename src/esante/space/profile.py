"""The health profile of a space: allergies, conditions and history, current treatments,
vaccinations and measurements, each a FHIR resource of the holder's record (entered by
her or by professionals). A measurement outside the usual range needs a confirmation; one
outside what a human body can show is refused."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from esante.core.db import utcnow
from esante.core.errors import Invalid
from esante.core.policy import Principal
from esante.fhir.store import fhir_instant
from esante.space.documents import fhir_for
from esante.space.models import Space

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"


@dataclass(frozen=True)
class Measure:
    label: str
    loinc: str
    unit: str
    usual: tuple[float, float]  # outside: asks for a confirmation
    possible: tuple[float, float]  # outside: refused
    category: str = "vital-signs"


MEASURES = {
    "poids": Measure("Poids", "29463-7", "kg", (30, 200), (0.3, 650)),
    "taille": Measure("Taille", "8302-2", "cm", (45, 210), (20, 280)),
    "tension": Measure("Tension artérielle (systolique / diastolique)", "85354-9", "mm[Hg]",
                       (90, 160), (30, 320)),
    "glycemie": Measure("Glycémie", "2345-7", "g/L", (0.6, 2.0), (0.1, 15), "laboratory"),
    "pouls": Measure("Fréquence cardiaque", "8867-4", "/min", (45, 120), (10, 350)),
}
DIASTOLIC = ("8462-4", (50, 100), (15, 250))
SYSTOLIC = "8480-6"
SECTIONS = {"allergies": ("AllergyIntolerance", "Allergies"),
            "antecedents": ("Condition", "Maladies et antécédents"),
            "traitements": ("MedicationStatement", "Traitements en cours"),
            "vaccinations": ("Immunization", "Vaccinations")}


@dataclass
class Entry:
    fid: str
    text: str
    when: str
    by_holder: bool


@dataclass
class Point:
    at: datetime
    value: float
    second: float | None  # the diastolic pressure
    by_holder: bool


def _text(concept: dict[str, Any] | None) -> str:
    concept = concept or {}
    return str(concept.get("text") or next((c.get("display") or c.get("code", "")
                                            for c in concept.get("coding", [])), ""))


def _search(session: Session, p: Principal, space: Space, rtype: str,
            extra: list[tuple[str, str]] | None = None, *,
            count: int = 500) -> list[dict[str, Any]]:
    bundle = fhir_for(session, p).search(rtype, [
        ("patient", space.patient_fid), ("_count", str(count)), *(extra or [])]).resource or {}
    return [e["resource"] for e in bundle.get("entry", [])
            if e.get("search", {}).get("mode") == "match"]


def entries(session: Session, p: Principal, space: Space, section: str) -> list[Entry]:
    rtype = SECTIONS[section][0]
    me = f"Patient/{space.patient_fid}"
    out = []
    for r in _search(session, p, space, rtype):
        concept = {"AllergyIntolerance": "code", "Condition": "code",
                   "MedicationStatement": "medicationCodeableConcept",
                   "Immunization": "vaccineCode"}[rtype]
        when = (r.get("recordedDate") or r.get("dateAsserted") or r.get("occurrenceDateTime")
                or "")[:10]
        source = (r.get("recorder") or r.get("informationSource") or r.get("asserter")
                  or {}).get("reference")
        by_holder = source == me or (rtype == "Immunization" and not r.get("performer"))
        out.append(Entry(r["id"], _text(r.get(concept)), when, by_holder))
    return sorted(out, key=lambda e: e.when, reverse=True)


def add_entry(session: Session, p: Principal, space: Space, section: str, *, text: str,
              when: date | None = None) -> str:
    if section not in SECTIONS:
        raise Invalid(f"rubrique inconnue : {section[:30]}", "unknown section", code="section")
    text = " ".join(text.split())[:200]
    if len(text) < 2:
        raise Invalid("précisez l'intitulé (2 caractères au moins)", "text required",
                      code="text")
    me = {"reference": f"Patient/{space.patient_fid}"}
    day = (when or date.today()).isoformat()
    if when and when > date.today():
        raise Invalid("la date ne peut pas être dans le futur", "date in the future",
                      code="date")
    bodies: dict[str, dict[str, Any]] = {
        "allergies": {"resourceType": "AllergyIntolerance", "patient": me, "code": {"text": text},
                      "clinicalStatus": {"coding": [{
                          "system": "http://terminology.hl7.org/CodeSystem/"
                                    "allergyintolerance-clinical", "code": "active"}]},
                      "recordedDate": day, "recorder": me},
        "antecedents": {"resourceType": "Condition", "subject": me, "code": {"text": text},
                        "clinicalStatus": {"coding": [{
                            "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                            "code": "active"}]},
                        "recordedDate": day, "recorder": me},
        "traitements": {"resourceType": "MedicationStatement", "status": "active", "subject": me,
                        "medicationCodeableConcept": {"text": text}, "dateAsserted": day,
                        "informationSource": me},
        "vaccinations": {"resourceType": "Immunization", "status": "completed", "patient": me,
                         "vaccineCode": {"text": text}, "occurrenceDateTime": day,
                         "primarySource": False},
    }
    body = bodies[section]
    return str((fhir_for(session, p).create(body).resource or {})["id"])


def check_value(kind: str, value: float, *, confirmed: bool,
                bounds: tuple[tuple[float, float], tuple[float, float]] | None = None,
                label: str = "") -> None:
    m = MEASURES[kind]
    usual, possible = bounds or (m.usual, m.possible)
    label = label or m.label.lower()
    unit = m.unit.replace("[Hg]", "Hg")
    if not possible[0] <= value <= possible[1]:
        raise Invalid(f"{label} impossible : {value:g} {unit} (valeurs possibles de "
                      f"{possible[0]:g} à {possible[1]:g})", "impossible value",
                      code="out-of-range")
    if not confirmed and not usual[0] <= value <= usual[1]:
        raise Invalid(f"{label} inhabituelle : {value:g} {unit} (habituellement de {usual[0]:g} "
                      f"à {usual[1]:g}) ; vérifiez puis confirmez la saisie",
                      "unusual value: confirm", code="confirm-value")


def add_measurement(session: Session, p: Principal, space: Space, kind: str, *, value: float,
                    second: float | None = None, at: datetime | None = None,
                    confirmed: bool = False) -> str:
    if kind not in MEASURES:
        raise Invalid(f"mesure inconnue : {kind[:30]}", "unknown measurement", code="kind")
    m = MEASURES[kind]
    at = at or utcnow()
    if at > utcnow():
        raise Invalid("la date de la mesure ne peut pas être dans le futur",
                      "measurement in the future", code="date")
    check_value(kind, value, confirmed=confirmed,
                label="tension systolique" if kind == "tension" else "")
    body: dict[str, Any] = {
        "resourceType": "Observation", "status": "final",
        "category": [{"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
            "code": m.category}]}],
        "code": {"coding": [{"system": LOINC, "code": m.loinc}], "text": m.label},
        "subject": {"reference": f"Patient/{space.patient_fid}"},
        "performer": [{"reference": f"Patient/{space.patient_fid}"}],
        "effectiveDateTime": fhir_instant(at)}
    if kind == "tension":
        if second is None:
            raise Invalid("tension : indiquez aussi la diastolique", "diastolic required",
                          code="second")
        if second >= value:
            raise Invalid("tension impossible : la diastolique doit être inférieure à la "
                          "systolique", "diastolic above systolic", code="out-of-range")
        check_value(kind, second, confirmed=confirmed, bounds=(DIASTOLIC[1], DIASTOLIC[2]),
                    label="tension diastolique")
        body["component"] = [
            {"code": {"coding": [{"system": LOINC, "code": code}]},
             "valueQuantity": {"value": v, "unit": "mmHg", "system": UCUM, "code": "mm[Hg]"}}
            for code, v in ((SYSTOLIC, value), (DIASTOLIC[0], second))]
    else:
        body["valueQuantity"] = {"value": value, "unit": m.unit, "system": UCUM, "code": m.unit}
    return str((fhir_for(session, p).create(body).resource or {})["id"])


def _point(r: dict[str, Any], me: str) -> Point | None:
    """The value of an Observation of a measure (the systolic one for a pressure)."""
    when = r.get("effectiveDateTime")
    if not when:
        return None
    by_holder = any(x.get("reference") == me for x in r.get("performer", []))
    if "component" in r:
        values: dict[str, float] = {
            c["code"]["coding"][0]["code"]: float(c["valueQuantity"]["value"])
            for c in r["component"] if (c.get("valueQuantity") or {}).get("value") is not None}
        if SYSTOLIC not in values:
            return None
        return Point(datetime.fromisoformat(when), values[SYSTOLIC], values.get(DIASTOLIC[0]),
                     by_holder)
    if (r.get("valueQuantity") or {}).get("value") is not None:
        return Point(datetime.fromisoformat(when), float(r["valueQuantity"]["value"]), None,
                     by_holder)
    return None


def series(session: Session, p: Principal, space: Space, kind: str) -> list[Point]:
    if kind not in MEASURES:
        raise Invalid(f"mesure inconnue : {kind[:30]}", "unknown measurement", code="kind")
    me = f"Patient/{space.patient_fid}"
    found = (_point(r, me) for r in _search(
        session, p, space, "Observation",
        [("code", f"{LOINC}|{MEASURES[kind].loinc}"), ("_sort", "date")]))
    return [pt for pt in found if pt is not None]


def latest(session: Session, p: Principal, space: Space, kind: str) -> Point | None:
    """The last value of a measure: one Observation read (the newest by date), not the
    series (five years of weekly values are 260 records to decrypt)."""
    if kind not in MEASURES:
        raise Invalid(f"mesure inconnue : {kind[:30]}", "unknown measurement", code="kind")
    me = f"Patient/{space.patient_fid}"
    # The newest few: one without a usable value (no date, no systolic) is skipped.
    for r in _search(session, p, space, "Observation", [
            ("code", f"{LOINC}|{MEASURES[kind].loinc}"), ("_sort", "-date")],
            count=5):
        pt = _point(r, me)
        if pt is not None:
            return pt
    return None


def chart(points: list[Point], *, width: int = 640, height: int = 220) -> dict[str, Any]:
    """Coordinates of an SVG line chart (drawn by the template, no script)."""
    if not points:
        return {"lines": [], "width": width, "height": height}
    pad = 30
    t0, t1 = points[0].at.timestamp(), points[-1].at.timestamp()
    values = [v for pt in points for v in (pt.value, pt.second) if v is not None]
    lo, hi = min(values), max(values)
    if hi == lo:
        lo, hi = lo - 1, hi + 1

    def xy(at: datetime, v: float) -> str:
        x = pad + (width - 2 * pad) * ((at.timestamp() - t0) / (t1 - t0) if t1 > t0 else 0.5)
        y = height - pad - (height - 2 * pad) * (v - lo) / (hi - lo)
        return f"{x:.1f},{y:.1f}"

    lines = [" ".join(xy(pt.at, pt.value) for pt in points)]
    if any(pt.second is not None for pt in points):
        lines.append(" ".join(xy(pt.at, pt.second) for pt in points if pt.second is not None))
    return {"lines": lines, "width": width, "height": height, "lo": lo, "hi": hi,
            "first": points[0].at, "last": points[-1].at}
