"""The rules of an incident that need no database: the five legal categories, the status
workflow, the health severity grid and the deadline clocks.

Deadlines (facts in shared/DOMAIN.md): the health declaration is due "without delay"; a
personal-data breach is notified to the CNIL within 72 h of its discovery; in NIS2 scope,
an early warning within 24 h, a notification within 72 h and a final report one month
after the notification. Hours are elapsed time (UTC); the month is a calendar month in
Paris time, so that daylight saving never shifts a due date by an hour."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")


class Category(StrEnum):
    CARE_SAFETY = "care_safety"
    DATA = "data"
    OPERATIONS = "operations"
    HEALTH_ORGANISATION = "health_organisation"
    SPREAD = "spread"


CATEGORY_LABELS: dict[str, str] = {
    "care_safety": "Conséquences potentielles ou avérées sur la sécurité des soins",
    "data": "Atteinte à la confidentialité ou à l'intégrité des données de santé",
    "operations": "Atteinte au fonctionnement normal de l'établissement",
    "health_organisation": "Impact sur l'organisation départementale, régionale ou nationale "
                           "du système de santé",
    "spread": "Risque de propagation à d'autres structures (prestataire partagé, GHT…)",
}


class Status(StrEnum):
    DRAFT = "draft"
    DECLARED = "declared"
    ACKNOWLEDGED = "acknowledged"
    QUALIFIED = "qualified"
    REMEDIATION = "remediation"
    CLOSED = "closed"


STATUS_LABELS: dict[str, str] = {
    "draft": "Brouillon", "declared": "Déclaré", "acknowledged": "Pris en compte",
    "qualified": "Qualifié", "remediation": "En remédiation", "closed": "Clos",
}

# (from, to) → who may do it: the declaring establishment, or the national cell.
TRANSITIONS: dict[tuple[Status, Status], str] = {
    (Status.DRAFT, Status.DECLARED): "establishment",
    (Status.DECLARED, Status.ACKNOWLEDGED): "cell",
    (Status.ACKNOWLEDGED, Status.QUALIFIED): "cell",
    (Status.QUALIFIED, Status.REMEDIATION): "cell",
    (Status.QUALIFIED, Status.CLOSED): "cell",
    (Status.REMEDIATION, Status.CLOSED): "cell",
    (Status.CLOSED, Status.REMEDIATION): "cell",  # re-opening
}


def transition_allowed(current: str, target: str) -> str | None:
    """Who may move an incident from ``current`` to ``target`` (None: not allowed)."""
    try:
        return TRANSITIONS.get((Status(current), Status(target)))
    except ValueError:
        return None


# --- severity grid --------------------------------------------------------------------------

CARE_LEVELS = ("aucun", "mineur", "mode dégradé", "soins interrompus ou transferts")
DATA_LEVELS = ("aucun", "limité", "important", "massif")
SPREAD_LEVELS = ("aucun", "possible", "avéré")
SEVERITY_LABELS = {1: "1 — faible", 2: "2 — modéré", 3: "3 — grave", 4: "4 — majeur"}


def severity(care: int, data: int, spread: int) -> int:
    """The health severity grid: level 1 (low) to 4 (major)."""
    if not (0 <= care <= 3 and 0 <= data <= 3 and 0 <= spread <= 2):
        raise ValueError("niveaux hors grille")
    if care == 3 or data == 3 or (spread == 2 and max(care, data) >= 2):
        return 4
    if care == 2 or data == 2 or spread == 2:
        return 3
    if care or data or spread:
        return 2
    return 1


# --- deadlines ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Obligation:
    code: str
    label: str
    authority: str
    due_at: datetime | None  # None: "sans délai" (without delay)
    done_at: datetime | None

    def status(self, now: datetime) -> str:
        if self.done_at is not None:
            return "done"
        if self.due_at is not None and now > self.due_at:
            return "overdue"
        return "due"


OBLIGATION_LABELS = {
    "health_declaration": ("Déclaration d'incident de sécurité des SI de santé", "CERT Santé / ARS"),
    "cnil": ("Notification de violation de données personnelles (72 h)", "CNIL"),
    "nis2_early_warning": ("NIS2 — alerte précoce (24 h)", "ANSSI"),
    "nis2_notification": ("NIS2 — notification d'incident (72 h)", "ANSSI"),
    "nis2_final_report": ("NIS2 — rapport final (1 mois)", "ANSSI"),
}


def add_month_paris(at: datetime) -> datetime:
    local = at.astimezone(PARIS)
    year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
    day = min(local.day, calendar.monthrange(year, month)[1])
    return local.replace(year=year, month=month, day=day).astimezone(at.tzinfo)


def obligations(*, detected_at: datetime, declared_at: datetime | None,
                personal_data_breach: bool, nis2_in_scope: bool,
                reports: dict[str, datetime]) -> list[Obligation]:
    """Every obligation the record triggers, with its due date and whether it is done.
    ``reports`` maps an obligation code to the time its report was submitted."""

    def make(code: str, due: datetime | None, done: datetime | None) -> Obligation:
        label, authority = OBLIGATION_LABELS[code]
        return Obligation(code, label, authority, due, done)

    out = [make("health_declaration", None, declared_at)]
    if personal_data_breach:
        out.append(make("cnil", detected_at + timedelta(hours=72), reports.get("cnil")))
    if nis2_in_scope:
        out.append(make("nis2_early_warning", detected_at + timedelta(hours=24),
                        reports.get("nis2_early_warning")))
        notified = reports.get("nis2_notification")
        out.append(make("nis2_notification", detected_at + timedelta(hours=72), notified))
        basis = notified or detected_at + timedelta(hours=72)
        out.append(make("nis2_final_report", add_month_paris(basis),
                        reports.get("nis2_final_report")))
    return out
