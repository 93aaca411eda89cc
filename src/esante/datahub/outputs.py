"""Output checking: an aggregated table a researcher wants to take out of the hub.

The project's owner submits the table (CSV, labels in the first column); the small cells
are suppressed at once (``pipeline.outputcheck``: primary below the hub's threshold, then
secondary so that no total gives one back); the hub's reviewer sees both versions and
approves or refuses the release with a reason; only the suppressed version of an approved
table leaves. The table as submitted is kept encrypted; each step is audited and appears
on the project's public timeline (its name and counts, never a cell)."""

from __future__ import annotations

import csv

from sqlalchemy import select
from sqlalchemy.orm import Session

from esante.core import audit, policy
from esante.core.crypto import Vault
from esante.core.db import utcnow
from esante.core.errors import Conflict, Invalid, NotFound
from esante.core.policy import Principal
from esante.datahub.models import OutputCheck, Project, ProjectEvent
from esante.datahub.pipeline.outputcheck import HIDDEN, TOTAL, CheckedTable, read_table, suppress
from esante.datahub.pipeline.ttp import PipelineSettings

MAX_BYTES = 1_000_000
PURPOSE = "datahub-output"
STATUS_LABELS = {"pending": "En attente de vérification", "approved": "Sortie autorisée",
                 "refused": "Sortie refusée"}


def _context(check: OutputCheck) -> str:
    return f"datahub-output:{check.project_id}:{check.name}"


def _event(session: Session, project_id: int, p: Principal, kind: str, text: str,
           check: OutputCheck) -> None:
    session.add(ProjectEvent(project_id=project_id, at=utcnow(), actor_id=p.user.id,
                             actor_label=p.user.display_name, kind=kind, text=text,
                             data={"output_check": check.id}))
    audit.record(session, actor=p.actor, action=f"datahub.output.{kind.removeprefix('output_')}",
                 object_type="output_check", object_id=check.id,
                 details={"project": project_id, "name": check.name, "status": check.status,
                          "primary": check.primary_cells, "secondary": check.secondary_cells})


def submit(session: Session, p: Principal, project: Project, *, name: str,
           text: str) -> OutputCheck:
    policy.authorize(p, "datahub.output.submit", project)
    if project.status != "approved":
        raise Conflict("seul un projet autorisé (en cours) soumet des tableaux de résultats",
                       "only an approved project submits result tables", code="not-approved")
    name = name.strip()[:200] or "tableau"
    if len(text.encode()) > MAX_BYTES:
        raise Invalid(f"{name} : tableau trop volumineux (1 Mo au plus)", "table too large",
                      code="too-large")
    threshold = PipelineSettings().small_cell_threshold
    checked = suppress(read_table(text.removeprefix("\ufeff"), name=name), threshold=threshold)
    now = utcnow()
    check = OutputCheck(project_id=project.id, name=name, threshold=threshold,
                        submitted_by=p.user.id, submitted_by_label=p.user.display_name,
                        submitted_at=now, original_enc="", checked_csv=checked.to_csv(),
                        primary_cells=checked.primary, secondary_cells=checked.secondary,
                        status="pending", reason="", reviewed_by_label="")
    check.original_enc = Vault(session).encrypt_text(text, purpose=PURPOSE,
                                                     context=_context(check))
    session.add(check)
    session.flush()
    _event(session, project.id, p, "output_submitted",
           f"« {name} » : {checked.primary} cellule(s) masquée(s) (secret primaire, seuil "
           f"{threshold}), {checked.secondary} de plus (secret secondaire)", check)
    return check


def review(session: Session, p: Principal, check: OutputCheck, *, approve: bool,
           reason: str) -> OutputCheck:
    project = session.get(Project, check.project_id)
    policy.authorize(p, "datahub.output.review", project)
    if check.status != "pending":
        raise Conflict(f"ce tableau a déjà été examiné ({STATUS_LABELS[check.status]})",
                       "this table was already reviewed", code="already-reviewed")
    reason = reason.strip()[:5000]
    if not reason:
        raise Invalid("donnez le motif de la décision", "a reason is required", code="reason")
    check.status = "approved" if approve else "refused"
    check.reason, check.reviewed_at = reason, utcnow()
    check.reviewed_by, check.reviewed_by_label = p.user.id, p.user.display_name
    session.flush()
    _event(session, check.project_id, p, f"output_{check.status}", f"« {check.name} » : {reason}",
           check)
    return check


# --- reading -----------------------------------------------------------------------------------

def of_project(session: Session, p: Principal | None, project: Project) -> list[OutputCheck]:
    if p is None or not policy.can(p, "datahub.output.read", project):
        return []
    return list(session.scalars(select(OutputCheck).where(OutputCheck.project_id == project.id)
                                .order_by(OutputCheck.submitted_at.desc(), OutputCheck.id.desc())))


def get(session: Session, p: Principal | None, project: Project, check_id: int) -> OutputCheck:
    check = session.get(OutputCheck, check_id)
    if (check is None or check.project_id != project.id or p is None
            or not policy.can(p, "datahub.output.read", project)):
        raise NotFound("tableau introuvable", "output check not found")
    return check


def original(session: Session, p: Principal, check: OutputCheck) -> CheckedTable:
    """The table as submitted, for the reviewer who decides (an audited read)."""
    project = session.get(Project, check.project_id)
    policy.authorize(p, "datahub.output.review", project)
    text = Vault(session).decrypt_text(check.original_enc, context=_context(check))
    audit.record(session, actor=p.actor, action="datahub.output.read_original",
                 object_type="output_check", object_id=check.id,
                 details={"project": check.project_id})
    return read_table(text.removeprefix("\ufeff"), name=check.name)


def read_checked(check: OutputCheck) -> CheckedTable:
    """The suppressed table as stored, with its hidden cells."""
    lines = [line for line in check.checked_csv.splitlines() if line]
    rows = list(csv.reader(lines))
    header, body = rows[0], rows[1:]
    t = CheckedTable(row_header=header[0], row_labels=[r[0] for r in body if r[0] != TOTAL],
                     col_labels=header[1:-1], values=[], primary=check.primary_cells,
                     secondary=check.secondary_cells)
    for i, r in enumerate(body):
        t.values.append([0 if v == HIDDEN else int(v) for v in r[1:]])
        t.hidden |= {(i, j) for j, v in enumerate(r[1:]) if v == HIDDEN}
    return t


def released_csv(session: Session, p: Principal, check: OutputCheck) -> str:
    """The suppressed table, once its release is approved (an audited download)."""
    if check.status != "approved":
        raise Conflict("ce tableau n'est pas autorisé à sortir", "release not approved",
                       code="not-released")
    audit.record(session, actor=p.actor, action="datahub.output.download",
                 object_type="output_check", object_id=check.id,
                 details={"project": check.project_id})
    return check.checked_csv


def check_out(check: OutputCheck) -> dict[str, object]:
    return {"id": check.id, "project_id": check.project_id, "name": check.name,
            "threshold": check.threshold, "submitted_by": check.submitted_by_label,
            "submitted_at": check.submitted_at, "primary_cells": check.primary_cells,
            "secondary_cells": check.secondary_cells, "status": check.status,
            "status_label": STATUS_LABELS[check.status], "reason": check.reason or None,
            "reviewed_by": check.reviewed_by_label or None, "reviewed_at": check.reviewed_at,
            "checked_csv": check.checked_csv}
