"""Who may do what with lessons learned.

The national cell (analysts) writes, checks, publishes and withdraws lessons, and alone
sees their source incident. Once published, a lesson is read by the security staff of
every establishment (security officers, directors), the regional agencies and the cell."""

from __future__ import annotations

from typing import Any

from esante.core.accounts.models import Role
from esante.core.policy import Principal, rule
from esante.cyber.scopes import in_cell

READERS = (Role.SECURITY_OFFICER, Role.DIRECTOR, Role.REGIONAL_OFFICER, Role.CYBER_ANALYST)


@rule("cyber.lesson.list", write=False, label_fr="consulter les retours d'expérience")
def _list(p: Principal, _t: Any) -> bool:
    return p.has_role(*READERS)


@rule("cyber.lesson.read", write=False, label_fr="consulter un retour d'expérience")
def _read(p: Principal, lesson: Any) -> bool:
    if lesson is not None and lesson.status != "published":
        return in_cell(p)
    return p.has_role(*READERS)


@rule("cyber.lesson.write", write=True,
      label_fr="rédiger et publier un retour d'expérience (cellule nationale)")
def _write(p: Principal, _t: Any) -> bool:
    return in_cell(p)


@rule("cyber.lesson.source", write=False,
      label_fr="voir l'incident à l'origine d'un retour d'expérience (cellule nationale)")
def _source(p: Principal, _t: Any) -> bool:
    return in_cell(p)
