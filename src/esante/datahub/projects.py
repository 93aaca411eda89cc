"""Research projects, reviewed in the open.

draft → submitted → (secretariat) complete, or returned to the researcher who submits again
→ (ethics opinion) opinion_given → (authorisation) approved or refused → closed, with its
results. A project under a reference methodology (MR-00x) with a conformity commitment
skips the authorisation when the opinion is favourable: the commitment is recorded as the
decision. Every step is dated and attributed on the project's public timeline and written
to the hash-chained audit trail; nobody reviews their own project."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from esante.core import audit, policy
from esante.core.db import utcnow
from esante.core.errors import Conflict, Invalid, NotFound
from esante.core.policy import Principal
from esante.datahub import (
    access,  # noqa: F401 - registers the hub's permissions
    catalogue,
)
from esante.datahub.models import Dataset, DatasetColumn, Project, ProjectColumn, ProjectEvent
from esante.datahub.schemas import (
    CompletenessIn,
    DecisionIn,
    Methodology,
    Opinion,
    OpinionIn,
    ProjectIn,
    ResultsIn,
)

MIN_K = 5  # the hub's floor; a project may ask for more
DEFAULT_SUPPRESSION_LIMIT = 0.10

STATUS_LABELS = {
    "draft": "Brouillon", "submitted": "Déposé (vérification de complétude)",
    "returned": "Renvoyé pour compléments", "complete": "Complet (en attente de l'avis éthique)",
    "opinion_given": "Avis rendu (en attente de la décision)", "approved": "Autorisé",
    "refused": "Refusé", "closed": "Terminé (résultats publiés)",
}
OPINION_LABELS = {
    "favourable": "Favorable", "favourable_with_recommendations": "Favorable avec recommandations",
    "reserved": "Réservé", "unfavourable": "Défavorable",
}
METHODOLOGY_LABELS = {
    "MR-001": "MR-001 (recherches impliquant la personne humaine, avec consentement)",
    "MR-003": "MR-003 (recherches impliquant la personne humaine, sans recueil du consentement)",
    "MR-004": "MR-004 (recherches n'impliquant pas la personne humaine, études, évaluations)",
    "MR-005": "MR-005 (études nécessitant l'accès aux données du PMSI par les établissements)",
    "MR-006": "MR-006 (études nécessitant l'accès aux données du PMSI par les industriels)",
    "authorisation": "Autorisation spécifique (CNIL)",
}
EVENT_LABELS = {
    "created": "Brouillon créé", "edited": "Projet modifié", "submitted": "Dépôt",
    "returned": "Renvoyé pour compléments",
    "complete": "Dossier complet", "opinion": "Avis du comité éthique",
    "conformity": "Engagement de conformité à une méthodologie de référence",
    "approved": "Autorisation", "refused": "Refus", "closed": "Résultats publiés",
    "extract": "Extraction", "extract_failed": "Extraction en échec",
    "extract_requeued": "Extraction relancée après un arrêt du processus de fond",
    "output_submitted": "Tableau de résultats soumis à vérification",
    "output_approved": "Sortie de tableau autorisée", "output_refused": "Sortie de tableau refusée",
}
QUEUES = {"submitted": "Complétude à vérifier", "complete": "Avis éthique à rendre",
          "opinion_given": "Décision à prendre"}
PUBLIC_STATUSES = tuple(s for s in STATUS_LABELS if s != "draft")


# --- reading ---------------------------------------------------------------------------------

def get_project(session: Session, p: Principal | None, project_id: int) -> Project:
    """A project the caller may see: any submitted one (public), or their own draft."""
    project = session.get(Project, project_id)
    if project is None or (project.status == "draft"
                           and not policy.can(p, "datahub.project.read", project)):
        raise NotFound("projet introuvable", "project not found")
    return project


def registry(session: Session, *, status: str | None = None, limit: int = 100,
             offset: int = 0) -> tuple[int, list[Project]]:
    """The public registry: every project past the draft stage."""
    stmt = select(Project).where(Project.status != "draft")
    if status:
        stmt = stmt.where(Project.status == status)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(Project.submitted_at.desc(), Project.id.desc())
                           .limit(limit).offset(offset))
    return total, list(rows)


def mine(session: Session, p: Principal) -> list[Project]:
    policy.authorize(p, "datahub.project.mine")
    return list(session.scalars(select(Project).where(Project.owner_id == p.user.id)
                                .order_by(Project.created_at.desc(), Project.id.desc())))


def queue(session: Session, p: Principal) -> dict[str, list[Project]]:
    policy.authorize(p, "datahub.review.queue")
    rows = session.scalars(select(Project).where(Project.status.in_(list(QUEUES)))
                           .order_by(Project.submitted_at, Project.id))
    out: dict[str, list[Project]] = {k: [] for k in QUEUES}
    for row in rows:
        out[row.status].append(row)
    return out


def requested(session: Session, project: Project) -> list[tuple[Dataset, DatasetColumn]]:
    rows = session.execute(
        select(Dataset, DatasetColumn).join(DatasetColumn, DatasetColumn.dataset_id == Dataset.id)
        .join(ProjectColumn, ProjectColumn.column_id == DatasetColumn.id)
        .where(ProjectColumn.project_id == project.id)
        .order_by(Dataset.slug, DatasetColumn.position)).all()
    return [(r[0], r[1]) for r in rows]


def timeline(session: Session, project: Project) -> list[ProjectEvent]:
    return list(session.scalars(select(ProjectEvent).where(ProjectEvent.project_id == project.id)
                                .order_by(ProjectEvent.at, ProjectEvent.id)))


# --- writing ---------------------------------------------------------------------------------

def _event(session: Session, project: Project, p: Principal, kind: str, text: str = "",
           **data: Any) -> None:
    now = utcnow()
    project.updated_at = now
    session.add(ProjectEvent(project_id=project.id, at=now, actor_id=p.user.id,
                             actor_label=p.user.display_name, kind=kind, text=text, data=data))
    audit.record(session, actor=p.actor, action=f"datahub.project.{kind}", object_type="project",
                 object_id=project.id, details={"status": project.status, **data})


def _check_request(session: Session, body: ProjectIn) -> list[tuple[Dataset, DatasetColumn]]:
    """The rules a request must follow, each refused with a precise message."""
    cols = catalogue.resolve_columns(session, body.columns)
    names = [f"{ds.slug}.{c.name}" for ds, c in cols]
    if len(set(names)) != len(names):
        raise Invalid("une colonne est demandée deux fois", "a column is requested twice",
                      code="duplicate-column")
    direct = [f"{ds.slug}.{c.name}" for ds, c in cols if c.sensitivity == "direct_identifier"]
    if direct and not (body.linkage and body.linkage_justification):
        raise Invalid(f"identifiant direct demandé sans autorisation d'appariement : "
                      f"{', '.join(direct)} (le pseudonyme de la personne est toujours fourni ; "
                      "l'appariement doit être demandé et justifié)",
                      f"direct identifiers requested without linkage authorisation: "
                      f"{', '.join(direct)}", code="direct-identifier")
    if body.linkage and not body.linkage_justification:
        raise Invalid("l'appariement demandé doit être justifié", "linkage needs a justification",
                      code="linkage-justification")
    if body.methodology != Methodology.AUTHORISATION:
        if not body.conformity_commitment:
            raise Invalid(f"un projet sous {body.methodology.value} doit comporter l'engagement de "
                          "conformité à cette méthodologie de référence",
                          "a reference methodology needs a conformity commitment",
                          code="conformity")
        if body.linkage:
            raise Invalid("un appariement par le NIR sort du cadre des méthodologies de référence "
                          ": demandez une autorisation spécifique",
                          "linkage needs a specific authorisation", code="linkage-methodology")
    _check_k_l(body.k, body.l, body.l_column, cols)
    return cols


def _check_k_l(k: int, l_value: int | None, l_column: str | None,
               cols: list[tuple[Dataset, DatasetColumn]]) -> None:
    if k < MIN_K:
        raise Invalid(f"k = {k} est en dessous du minimum de l'entrepôt ({MIN_K})",
                      f"k below the hub's minimum {MIN_K}", code="k-too-small")
    population = min(ds.row_count for ds, _ in cols)
    if k > population:
        raise Invalid(f"k = {k} est impossible : plus grand que la population ({population:,} "
                      "lignes)".replace(",", " "), f"k = {k} exceeds the population",
                      code="k-impossible")
    if (l_value is None) != (not l_column):
        raise Invalid("l et sa colonne sensible vont ensemble : donnez les deux ou aucun",
                      "l and its sensitive column go together", code="l-column")
    if l_value is not None and l_column:
        if l_value > k:
            raise Invalid(f"l = {l_value} ne peut dépasser k = {k}", "l cannot exceed k",
                          code="l-too-large")
        match = [c for ds, c in cols if f"{ds.slug}.{c.name}" == l_column.strip()]
        if not match:
            raise Invalid(f"la colonne de l-diversité « {l_column[:130]} » doit faire partie "
                          "des colonnes demandées", "the l column must be requested",
                          code="l-column")
        if match[0].sensitivity != "sensitive":
            raise Invalid(f"la colonne de l-diversité « {l_column[:130]} » doit être une donnée "
                          "sensible", "the l column must be sensitive", code="l-column")


def create(session: Session, p: Principal, body: ProjectIn) -> Project:
    policy.authorize(p, "datahub.project.create")
    cols = _check_request(session, body)
    project = Project(
        title=body.title, purpose=body.purpose, team=[m.model_dump() for m in body.team],
        methodology=body.methodology.value, methodology_details=body.methodology_details,
        conformity_commitment=body.conformity_commitment, linkage=body.linkage,
        linkage_justification=body.linkage_justification, duration_months=body.duration_months,
        expected_outputs=body.expected_outputs, requested_k=body.k, requested_l=body.l,
        l_column=(body.l_column or "").strip() or None, status="draft", owner_id=p.user.id)
    session.add(project)
    session.flush()
    for _ds, col in cols:
        session.add(ProjectColumn(project_id=project.id, column_id=col.id))
    _event(session, project, p, "created", columns=len(cols))
    session.flush()
    return project


def update(session: Session, p: Principal, project: Project, body: ProjectIn) -> Project:
    """The owner completes a draft, or a project returned by the secretariat."""
    policy.authorize(p, "datahub.project.submit", project)
    _expect(project, "draft", "returned", doing="modifier le projet")
    cols = _check_request(session, body)
    project.title, project.purpose = body.title, body.purpose
    project.team = [m.model_dump() for m in body.team]
    project.methodology, project.methodology_details = (body.methodology.value,
                                                        body.methodology_details)
    project.conformity_commitment, project.linkage = body.conformity_commitment, body.linkage
    project.linkage_justification = body.linkage_justification
    project.duration_months, project.expected_outputs = body.duration_months, body.expected_outputs
    project.requested_k, project.requested_l = body.k, body.l
    project.l_column = (body.l_column or "").strip() or None
    wanted = {col.id for _ds, col in cols}
    for row in session.scalars(select(ProjectColumn).where(ProjectColumn.project_id == project.id)):
        if row.column_id not in wanted:
            session.delete(row)
        wanted.discard(row.column_id)
    for column_id in sorted(wanted):
        session.add(ProjectColumn(project_id=project.id, column_id=column_id))
    _event(session, project, p, "edited", columns=len(cols))
    session.flush()
    return project


def _expect(project: Project, *statuses: str, doing: str) -> None:
    if project.status not in statuses:
        raise Conflict(f"impossible de {doing} : le projet est à l'étape "
                       f"« {STATUS_LABELS[project.status]} »",
                       f"cannot {doing}: project is {project.status}", code="wrong-step")


def submit(session: Session, p: Principal, project: Project) -> Project:
    policy.authorize(p, "datahub.project.submit", project)
    _expect(project, "draft", "returned", doing="soumettre le projet")
    now = utcnow()
    if project.reference is None:
        project.reference = f"HDH-{now.year}-{project.id:05d}"
    project.status, project.submitted_at = "submitted", now
    _event(session, project, p, "submitted", f"Projet {project.reference} déposé")
    session.flush()
    return project


def check_completeness(session: Session, p: Principal, project: Project,
                       body: CompletenessIn) -> Project:
    policy.authorize(p, "datahub.project.review", project)
    _expect(project, "submitted", doing="vérifier la complétude")
    if not body.complete and not body.note:
        raise Invalid("dites ce qui manque au dossier pour le renvoyer", "say what is missing",
                      code="note-required")
    project.status = "complete" if body.complete else "returned"
    _event(session, project, p, project.status, body.note)
    session.flush()
    return project


def give_opinion(session: Session, p: Principal, project: Project, body: OpinionIn) -> Project:
    policy.authorize(p, "datahub.project.review", project)
    _expect(project, "complete", doing="rendre l'avis éthique")
    now = utcnow()
    project.opinion, project.opinion_reasons, project.opinion_at = (
        body.opinion.value, body.reasons, now)
    project.status = "opinion_given"
    _event(session, project, p, "opinion", body.reasons, opinion=body.opinion.value)
    favourable = body.opinion in (Opinion.FAVOURABLE, Opinion.WITH_RECOMMENDATIONS)
    if project.methodology != Methodology.AUTHORISATION and project.conformity_commitment \
            and favourable:
        _approve(project, k=project.requested_k, l_value=project.requested_l,
                 l_column=project.l_column, limit=DEFAULT_SUPPRESSION_LIMIT)
        _event(session, project, p, "conformity",
               f"Engagement de conformité à la {project.methodology} : pas d'autorisation "
               "spécifique", k=project.approved_k, l=project.approved_l,
               suppression_limit=project.suppression_limit)
    session.flush()
    return project


def _approve(project: Project, *, k: int, l_value: int | None, l_column: str | None,
             limit: float) -> None:
    project.status, project.decided_at = "approved", utcnow()
    project.approved_k, project.approved_l = k, l_value
    project.approved_l_column, project.suppression_limit = l_column, limit


def decide(session: Session, p: Principal, project: Project, body: DecisionIn) -> Project:
    policy.authorize(p, "datahub.project.review", project)
    _expect(project, "opinion_given", doing="décider de l'autorisation")
    if not body.authorised:
        project.status, project.decided_at = "refused", utcnow()
        _event(session, project, p, "refused", body.reasons)
        session.flush()
        return project
    k = body.k or project.requested_k
    l_value = body.l if body.l is not None else project.requested_l
    l_column = body.l_column if body.l_column is not None else project.l_column
    _check_k_l(k, l_value, l_column, requested(session, project))
    limit = body.suppression_limit if body.suppression_limit is not None \
        else DEFAULT_SUPPRESSION_LIMIT
    _approve(project, k=k, l_value=l_value, l_column=l_column, limit=limit)
    project.date_shift = body.date_shift
    _event(session, project, p, "approved", body.reasons, k=k, l=l_value,
           l_column=l_column, suppression_limit=limit, date_shift=body.date_shift)
    session.flush()
    return project


def publish_results(session: Session, p: Principal, project: Project,
                    body: ResultsIn) -> Project:
    policy.authorize(p, "datahub.project.results", project)
    _expect(project, "approved", doing="publier les résultats")
    project.results, project.status, project.closed_at = body.results, "closed", utcnow()
    _event(session, project, p, "closed", body.results)
    session.flush()
    return project


def project_out(session: Session, project: Project, *, detail: bool = False) -> dict[str, Any]:
    """What the public registry shows of a project (never who at the hub holds what)."""
    out: dict[str, Any] = {
        "id": project.id, "reference": project.reference, "title": project.title,
        "purpose": project.purpose, "team": project.team, "methodology": project.methodology,
        "linkage": project.linkage, "duration_months": project.duration_months,
        "expected_outputs": project.expected_outputs, "status": project.status,
        "status_label": STATUS_LABELS[project.status], "created_at": project.created_at,
        "submitted_at": project.submitted_at, "opinion": project.opinion,
        "opinion_at": project.opinion_at, "decided_at": project.decided_at,
        "approved_k": project.approved_k, "approved_l": project.approved_l,
        "results": project.results or None, "closed_at": project.closed_at}
    if detail:
        out["columns"] = [{"dataset": ds.slug, "column": c.name, "sensitivity": c.sensitivity}
                          for ds, c in requested(session, project)]
        out["requested_k"], out["requested_l"] = project.requested_k, project.requested_l
        out["l_column"], out["opinion_reasons"] = project.l_column, project.opinion_reasons
        out["linkage_justification"] = project.linkage_justification
        out["methodology_details"] = project.methodology_details
        out["conformity_commitment"] = project.conformity_commitment
        out["suppression_limit"] = project.suppression_limit
        out["date_shift"] = project.date_shift
        out["timeline"] = [{"at": e.at, "actor": e.actor_label, "kind": e.kind,
                            "label": EVENT_LABELS.get(e.kind, e.kind), "text": e.text,
                            "data": e.data} for e in timeline(session, project)]
    return out
