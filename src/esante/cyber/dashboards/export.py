"""A dashboard as CSV: one line per figure (``indicateur;cle;libelle;valeur;part``).

Semicolon-separated with a byte-order mark, the form French spreadsheets open directly."""

from __future__ import annotations

import csv
import io

from esante.cyber.dashboards.schemas import Count, Dashboard, Share

HEADER = ("indicateur", "cle", "libelle", "valeur", "part")


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    # Spreadsheets run cells starting with these as formulas (CSV injection).
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _rows(d: Dashboard) -> list[tuple[object, ...]]:
    rows: list[tuple[object, ...]] = [
        ("perimetre", d.scope, d.title, d.ref, ""),
        ("incidents", "total", "Incidents déclarés", d.total, ""),
        ("incidents", "ouverts", "Incidents en cours", d.open, ""),
    ]

    def counts(name: str, items: list[Count]) -> None:
        rows.extend((name, c.key, c.label, c.count, "") for c in items)

    def shares(name: str, items: list[Share]) -> None:
        rows.extend((name, s.key, s.label, s.count, "" if s.share is None else s.share)
                    for s in items)

    counts("par_annee", d.by_year)
    counts("par_mois", d.by_month)
    shares("par_categorie", d.by_category)
    counts("par_region", d.by_region)
    counts("par_gravite", d.by_severity)
    shares("malveillance", d.malicious)
    shares("impact_soins", d.care_impact)
    for name, dur in (("delai_declaration", d.time_to_declare),
                      ("delai_qualification", d.time_to_qualify)):
        rows.append((name, "incidents", dur.label, dur.count, ""))
        rows.append((name, "mediane_heures", dur.label, dur.median_hours, ""))
        rows.append((name, "p90_heures", dur.label, dur.p90_hours, ""))
    rows.extend(("retards", o.code, f"{o.label} — {o.authority}", o.count, "") for o in d.overdue)
    for line in d.incidents:
        late = sum(1 for o in line.obligations if o.status == "overdue")
        rows.append(("incident", line.reference or str(line.id), line.title, line.status_label,
                     f"{late} échéance(s) dépassée(s)" if late else ""))
    return rows


def to_csv(d: Dashboard) -> str:
    buf = io.StringIO()
    buf.write("\ufeff")
    writer = csv.writer(buf, delimiter=";", lineterminator="\r\n")
    writer.writerow(HEADER)
    for row in _rows(d):
        writer.writerow([_cell(v) for v in row])
    return buf.getvalue()


def filename(d: Dashboard) -> str:
    ref = f"-{d.ref}" if d.ref else ""
    return f"cybervigilance-{d.scope}{ref}-{d.generated_at:%Y%m%d}.csv"
