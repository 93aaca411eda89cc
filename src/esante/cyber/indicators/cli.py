"""``esante cyber match``, ``esante cyber ioc-export`` and ``esante cyber ioc-import``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.orm import Session

from esante.core.audit import Actor
from esante.cyber.cli import cyber_app
from esante.cyber.indicators.access import Audience
from esante.cyber.indicators.matcher import Hit


def _audience(session: Session, finess: str | None, token: str | None) -> tuple[Audience, Actor]:
    """(audience, actor) for --finess (an establishment) or --token (a user's rights)."""
    from esante.core import policy
    from esante.core.accounts import service as accounts
    from esante.core.orgs import service as orgs
    from esante.core.policy import Principal
    from esante.cyber.indicators.access import audience_of, audience_of_establishment

    if (finess is None) == (token is None):
        raise typer.BadParameter("indiquez --finess (un établissement) ou --token (un jeton "
                                 "d'API), l'un des deux")
    if finess is not None:
        est = orgs.get_establishment(session, finess)
        return (audience_of_establishment(session, est.finess),
                Actor.system(f"esante cyber match --finess {est.finess}"))
    user, tok = accounts.authenticate_token(session, token or "")
    p = Principal.of(user, token_scopes=tok.scopes)
    policy.authorize(p, "cyber.ioc.board")
    return audience_of(session, p), p.actor


@cyber_app.command("match")
def match(
    logfile: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True,
                                            help="journal à analyser (proxy, pare-feu, "
                                                 "messagerie…), une ligne par événement")],
    finess: Annotated[str | None, typer.Option(help="l'établissement dont on applique les "
                                                    "droits (TLP)")] = None,
    token: Annotated[str | None, typer.Option(envvar="ESANTE_TOKEN", help=(
        "jeton d'API : les indicateurs que son titulaire peut voir"))] = None,
    encoding: Annotated[str, typer.Option(help="encodage du journal")] = "utf-8",
    engine: Annotated[str, typer.Option(help="aho (Aho-Corasick) ou regex (jetons + "
                                             "ensembles)")] = "aho",
    record: Annotated[bool, typer.Option(
        "--record-sightings", help="enregistrer un « vu » par indicateur trouvé "
                                   "(avec --finess)")] = False,
    limit: Annotated[int, typer.Option(min=0, help="nombre maximal de touches affichées "
                                                   "(0 : toutes)")] = 0,
) -> None:
    """Cherche dans un journal les indicateurs partagés que l'établissement peut voir
    (TLP appliqué) ; affiche ligne, indicateur et événement de chaque touche."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

    from esante.cli import console, fail
    from esante.core import audit
    from esante.core.db import transaction
    from esante.core.errors import DomainError
    from esante.cyber.indicators import matcher, service

    if engine not in ("aho", "regex"):
        fail(f"moteur inconnu « {engine} » : aho ou regex")
    if record and finess is None:
        fail("--record-sightings demande --finess")
    try:
        matcher.check_encoding(encoding)
    except matcher.LogEncodingError as exc:
        fail(str(exc))
    try:
        with transaction() as session:
            aud, actor = _audience(session, finess, token)
            known = list(service.active_indicators(session, aud))
            m = matcher.make(engine, known)
            hits: list[matcher.Hit] = []
            size = logfile.stat().st_size
            with Progress("[progress.description]{task.description}", BarColumn(),
                          DownloadColumn(), TransferSpeedColumn(), console=console,
                          transient=True, disable=not sys.stderr.isatty()) as bar:
                task = bar.add_task(f"{logfile.name} ({len(known)} indicateurs)", total=size)
                hits = list(matcher.scan(logfile, m, encoding=encoding,
                                         progress=lambda n: bar.advance(task, n)))
            for h in hits[: limit or None]:
                typer.echo(f"ligne {h.line}\t{h.known.kind}\t{h.known.value}\t"
                           f"événement {h.known.event_id} « {h.known.event_title} » "
                           f"(TLP:{h.known.tlp.upper()})")
            if record:
                _record(session, finess or "", hits)
            audit.record(session, actor=actor, action="cyber.ioc.match",
                         object_type="log_file", object_id=logfile.name[:120],
                         details={"indicators": len(known), "hits": len(hits),
                                  "engine": engine, "finess": finess})
    except matcher.LogEncodingError as exc:
        fail(f"{logfile.name} : {exc}")
    except DomainError as exc:
        fail(exc.fr)
    console.print(f"{len(hits)} touche(s) dans {logfile.name} ({len(known)} indicateurs "
                  "applicables).", highlight=False)


def _record(session: Session, finess: str, hits: list[Hit]) -> None:
    from esante.cyber.indicators.models import Sighting

    for ind_id in sorted({h.known.indicator_id for h in hits}):
        session.add(Sighting(indicator_id=ind_id, kind="seen",
                             finess=finess, source="logs", note="esante cyber match"))
