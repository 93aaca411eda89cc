"""The extract's risk report as an HTML fragment (DSFR) and a PDF (fpdf2)."""

from __future__ import annotations

from pathlib import Path

from fpdf import FPDF
from jinja2 import Environment, FileSystemLoader, select_autoescape

from esante.datahub.pipeline.spec import ExtractReport, Sensitivity, TableReport

TEMPLATES = Path(__file__).resolve().parents[2] / "web" / "templates"
LABELS = {
    Sensitivity.direct_identifier: "identifiant direct (supprimé)",
    Sensitivity.quasi_identifier: "quasi-identifiant",
    Sensitivity.sensitive: "sensible",
    Sensitivity.other: "autre",
}


def render_html(report: ExtractReport) -> str:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
    return env.get_template("datahub/pipeline/_risk_report.html").render(r=report, labels=LABELS)


def write_html(report: ExtractReport, path: Path) -> None:
    path.write_text(render_html(report), encoding="utf-8")


def _latin1(text: str) -> str:
    # The PDF core fonts are Latin-1: French accents pass, a few symbols are spelt out.
    text = text.replace("≤", "<=").replace("≥", ">=").replace("—", "-").replace("·", "-")
    return text.encode("latin-1", "replace").decode("latin-1")


def _rows(t: TableReport) -> list[tuple[str, str, str, str]]:
    def f(x: float | None) -> str:
        return "-" if x is None else f"{x:.4f}"

    return [
        ("Individualisation", "k atteint (plus petite classe)", str(t.k_reached or "-"), str(t.k_required)),
        ("", "Uniques avant généralisation", str(t.uniques_before), "-"),
        ("", "Risque procureur max / moyen", f"{f(t.prosecutor_risk_max)} / {f(t.prosecutor_risk_avg)}", "-"),
        ("Corrélation", "Séparation des pseudonymes", "clé par projet", "oui"),
        ("", "Risque journaliste max", f(t.journalist_risk_max), "-"),
        ("Inférence", "l-diversité", str(t.l_reached or "-"), str(t.l_required or "-")),
        ("", "t-proximité", f(t.t_reached), str(t.t_required or "-")),
        ("Utilité", "Perte d'information (NCP)", f(t.information_loss), "-"),
        ("", "Lignes supprimées / extraites", f"{t.rows_suppressed} / {t.rows_out}", "-"),
    ]


def write_pdf(report: ExtractReport, path: Path) -> None:
    pdf = FPDF()
    pdf.set_title(_latin1(f"Rapport de risque - projet {report.project_id}"))
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 14)
    pdf.multi_cell(
        0,
        8,
        _latin1(f"Rapport de risque de l'extraction - projet {report.project_id}"),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.set_font("Helvetica", size=9)
    pdf.multi_cell(
        0,
        5,
        _latin1(
            f"Moteur {report.engine}, {report.seconds} s. Pseudonymes : {report.pseudonym} (empreinte "
            f"{report.key_fingerprint}). {report.opted_out_people} personne(s) opposée(s) écartée(s)."
        ),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    for t in report.tables:
        pdf.ln(3)
        pdf.set_font("Helvetica", "B", 11)
        pdf.cell(
            0,
            7,
            _latin1(f"Table {t.name} : {t.rows_in} lignes lues, {t.rows_out} extraites"),
            new_x="LMARGIN",
            new_y="NEXT",
        )
        pdf.set_font("Helvetica", size=9)
        with pdf.table(col_widths=(30, 70, 45, 25)) as table:
            table.row([_latin1(x) for x in ("Critère", "Mesure", "Valeur", "Exigé")])
            for row in _rows(t):
                table.row([_latin1(x) for x in row])
        pdf.ln(2)
        with pdf.table(col_widths=(50, 50, 40, 30)) as table:
            table.row([_latin1(x) for x in ("Colonne", "Sensibilité", "Niveau", "Perte")])
            for c in t.columns:
                level = f"{c.level} / {c.max_level}" if c.max_level else "-"
                if c.date_shift_max_days:
                    level += f" (décalage +/- {c.date_shift_max_days} j)"
                table.row(
                    [_latin1(x) for x in (c.name, LABELS[c.sensitivity], level, f"{c.information_loss:.4f}")]
                )
    pdf.output(str(path))
