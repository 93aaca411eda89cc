"""The governance page as a PDF for the board (fpdf2): maturity with its radar drawn in the
PDF itself, open incidents, awareness coverage, and the threat watch when available.

The standard PDF fonts cover Latin-1 only: the few typographic characters outside it
(dashes, curly quotes, œ) are written with their plain equivalents."""

from __future__ import annotations

import math

from fpdf import FPDF

from esante.cyber.governance.service import Governance
from esante.cyber.maturity.catalogue import catalogue

_PLAIN = str.maketrans({"—": "-", "–": "-", "’": "'", "‘": "'", "“": '"', "”": '"',
                        "…": "...", "œ": "oe", "Œ": "OE", "\u202f": " ", "\u00a0": " "})
BLUE = (0, 0, 145)
RED = (225, 0, 15)


def _t(text: object) -> str:
    return str(text).translate(_PLAIN).encode("latin-1", "replace").decode("latin-1")


def _score(v: float | None) -> str:
    return "-" if v is None else f"{v:.0f} / 100"


class _Report(FPDF):
    title_text = ""

    def header(self) -> None:
        self.set_font("Helvetica", "B", 9)
        self.set_text_color(*BLUE)
        self.cell(0, 6, _t(self.title_text), new_x="LMARGIN", new_y="NEXT")
        self.set_text_color(0, 0, 0)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("Helvetica", "", 8)
        self.cell(0, 6, _t(f"Page {self.page_no()}/{{nb}} - document interne, diffusion au "
                           "conseil de surveillance"), align="C")


def _h(pdf: FPDF, text: str) -> None:
    pdf.ln(3)
    pdf.set_font("Helvetica", "B", 13)
    pdf.set_text_color(*BLUE)
    pdf.cell(0, 8, _t(text), new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)
    pdf.set_font("Helvetica", "", 10)


def _line(pdf: FPDF, text: str) -> None:
    pdf.multi_cell(0, 5.5, _t(text), new_x="LMARGIN", new_y="NEXT")


def _radar(pdf: FPDF, labels: list[str], series: list[tuple[list[float | None],
                                                              tuple[int, int, int]]]) -> None:
    """A radar chart (0-100 on each axis) drawn with lines."""
    cx, cy, r = pdf.w / 2, pdf.get_y() + 48, 38
    n = len(labels)

    def point(i: int, value: float) -> tuple[float, float]:
        angle = -math.pi / 2 + 2 * math.pi * i / n
        return cx + r * value / 100 * math.cos(angle), cy + r * value / 100 * math.sin(angle)

    pdf.set_draw_color(200, 200, 200)
    pdf.set_line_width(0.2)
    for ring in (20, 40, 60, 80, 100):
        pdf.polygon([point(i, ring) for i in range(n)], style="D")
    pdf.set_font("Helvetica", "", 7)
    for i, label in enumerate(labels):
        pdf.line(cx, cy, *point(i, 100))
        x, y = point(i, 118)
        width = 34
        pdf.set_xy(x - width / 2, y - 2.5)
        pdf.multi_cell(width, 3, _t(label), align="C")
    pdf.set_line_width(0.6)
    for values, colour in series:
        pdf.set_draw_color(*colour)
        pdf.polygon([point(i, v or 0) for i, v in enumerate(values)], style="D")
    pdf.set_draw_color(0, 0, 0)
    pdf.set_line_width(0.2)
    pdf.set_y(cy + r + 14)
    pdf.set_font("Helvetica", "", 10)


def _maturity(pdf: FPDF, g: Governance) -> None:
    _h(pdf, "Maturité cyber (guide d'hygiène de l'ANSSI et gouvernance)")
    s = g.maturity
    if s.latest is None:
        _line(pdf, "Aucune auto-évaluation enregistrée.")
        return
    _line(pdf, f"Score global : {_score(s.latest.overall_score)} au "
               f"{s.latest.assessed_at:%d/%m/%Y}.")
    if s.peers.median is not None:
        _line(pdf, f"Médiane de {s.peers.count} établissements de même catégorie et de même "
                   f"région : {_score(s.peers.median.overall)} (tracé rouge).")
    else:
        _line(pdf, "Médiane des établissements comparables : non disponible (moins de 5).")
    cat = catalogue()
    series = [([s.latest.chapter_scores.get(c.code) for c in cat.chapters], BLUE)]
    if s.peers.median is not None:
        series.append(([s.peers.median.chapters.get(c.code) for c in cat.chapters], RED))
    _radar(pdf, [c.title for c in cat.chapters], series)
    if s.recommendations:
        _line(pdf, "Priorités :")
        for r in s.recommendations[:8]:
            _line(pdf, f"  - {r.item.label} : {r.item.title}")


def _incidents(pdf: FPDF, g: Governance) -> None:
    _h(pdf, "Incidents de sécurité")
    _line(pdf, f"{g.incidents_last_12_months} incident(s) déclaré(s) ces douze derniers mois ; "
               f"{len(g.open_incidents)} en cours.")
    for i in g.open_incidents[:15]:
        when = f"{i.declared_at:%d/%m/%Y}" if i.declared_at else "-"
        grav = f", gravité {i.severity}" if i.severity else ""
        _line(pdf, f"  - {i.reference} ({when}, {i.status_label}{grav}) : {i.title}")


def _campaigns(pdf: FPDF, g: Governance) -> None:
    _h(pdf, "Sensibilisation (Tous cybervigilants)")
    if not g.campaigns:
        _line(pdf, "Aucune campagne publiée.")
    for c in g.campaigns:
        if not c.enrolled:
            _line(pdf, f"  - {c.title} : établissement non inscrit.")
            continue
        cov = "-" if c.coverage is None else f"{c.coverage * 100:.0f} %"
        _line(pdf, f"  - {c.title} : {cov} des {c.staff} personnels visés formés ; quiz réussis "
                   f"{c.quiz_passed}/{c.quiz_taken} ; simulations : {c.clicked} clic(s) et "
                   f"{c.reported} signalement(s) pour {c.simulated} destinataire(s).")


def render_pdf(g: Governance) -> bytes:
    pdf = _Report(format="A4")
    pdf.title_text = f"Gouvernance cyber - {g.est.name} (FINESS {g.est.finess})"
    pdf.set_title(_t(pdf.title_text))
    pdf.set_creator("esante")
    pdf.alias_nb_pages()
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.multi_cell(0, 8, _t(f"Sécurité du système d'information - {g.est.name}"),
                   new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    _line(pdf, "Rapport pour le conseil de surveillance, établi le "
               f"{g.generated_at:%d/%m/%Y à %H:%M} UTC.")
    _maturity(pdf, g)
    _incidents(pdf, g)
    _campaigns(pdf, g)
    _h(pdf, "Veille et alertes de sécurité")
    _line(pdf, str(g.advisories) + ".")
    for a in g.advisories.unresolved:
        score = f"CVSS {a.cvss:.1f}" if a.cvss is not None else "CVSS —"
        _line(pdf, f"{a.reference} ({score}, {a.status_label}) : {a.title}")
    return bytes(pdf.output())
