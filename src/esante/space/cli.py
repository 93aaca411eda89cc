"""``esante space``: create the spaces of qualified INS, print a new activation code
(the letter), record an objection received by post, purge closed spaces."""

from __future__ import annotations

from typing import Annotated, Any

import typer

space_app = typer.Typer(help="Espaces santé des citoyens.", no_args_is_help=True)


@space_app.command("provision")
def provision() -> None:
    """Crée l'espace de chaque dossier portant un INS qualifié (période d'opposition
    ouverte) et affiche les codes d'activation des courriers ; clôt les périodes échues."""
    from esante.cli import _run, console
    from esante.core.audit import Actor
    from esante.space import service

    def run(session: Any) -> tuple[list[tuple[str, str]], int]:
        made, skipped = service.provision_all(session, actor=Actor.system("cli"))
        return [(s.patient_fid, code) for s, code in made], skipped

    made, skipped = _run(run)
    for fid, code in made:
        console.print(f"Patient/{fid}  code {code}", highlight=False)
    console.print(f"{len(made)} espace(s) créé(s) ; {skipped} dossier(s) sans INS qualifié "
                  "ignoré(s).", highlight=False)


@space_app.command("code")
def code(patient: Annotated[str, typer.Option("--patient", help="id du dossier Patient")]) -> None:
    """Un nouveau code d'activation (nouveau courrier) ; l'ancien ne vaut plus."""
    from esante.cli import _run, console
    from esante.core.audit import Actor
    from esante.space import service

    def run(session: Any) -> str:
        return service.new_code(session, service.get_by_patient(session, patient[:64]),
                                actor=Actor.system("cli"))

    console.print(f"Code d'activation : {_run(run)}", highlight=False)


@space_app.command("object")
def object_(patient: Annotated[str, typer.Option("--patient", help="id du dossier Patient")],
            withdraw: Annotated[bool, typer.Option("--withdraw",
                                                   help="retirer l'opposition")] = False) -> None:
    """Enregistre une opposition reçue par courrier (ou son retrait)."""
    from esante.cli import _run, console
    from esante.core.audit import Actor
    from esante.space import service

    def run(session: Any) -> str:
        space = service.record_objection(session, patient_fid=patient[:64],
                                         actor=Actor.system("cli"), objected=not withdraw)
        return service.STATUS_LABELS[space.status]

    console.print(f"Espace de Patient/{patient[:64]} : {_run(run)}.", highlight=False)


@space_app.command("purge")
def purge(dry_run: Annotated[bool, typer.Option("--dry-run",
                                                help="dire sans supprimer")] = False) -> None:
    """Supprime les espaces clôturés dont la durée légale d'archivage est écoulée, et dit
    ce qui a été supprimé."""
    from esante.cli import _run, console
    from esante.core.audit import Actor
    from esante.space import service

    report = _run(lambda session: service.purge(session, actor=Actor.system("cli"),
                                                dry_run=dry_run))
    for item in report:
        removed = ", ".join(f"{n} {t}" for t, n in sorted(item["removed"].items())) or "—"
        console.print(f"espace {item['space']} (Patient/{item['patient']}, clôturé le "
                      f"{item['closed_at']:%d/%m/%Y}) : {removed}", highlight=False)
    verb = "à supprimer" if dry_run else "supprimé(s)"
    console.print(f"{len(report)} espace(s) {verb}.", highlight=False)


@space_app.command("remind")
def remind() -> None:
    """Envoie les rappels des rendez-vous des prochaines 24 h (une fois chacun) ; le
    worker le fait tous les quarts d'heure."""
    from esante.cli import _run, console
    from esante.space.agenda import send_reminders

    console.print(f"{_run(send_reminders)} rappel(s) envoyé(s).", highlight=False)


guardian_app = typer.Typer(help="Tuteurs des espaces des mineurs.", no_args_is_help=True)
space_app.add_typer(guardian_app, name="guardian")


@guardian_app.command("add")
def guardian_add(
    patient: Annotated[str, typer.Option("--patient", help="id du dossier Patient du mineur")],
    user: Annotated[str, typer.Option("--user", help="adresse du compte citoyen du tuteur")],
    proof: Annotated[str, typer.Option("--proof", help="pièce justificative")],
    since: Annotated[str, typer.Option("--since", help="début de la tutelle (AAAA-MM-JJ)")],
) -> None:
    """Enregistre un parent ou tuteur légal qui gère l'espace d'un mineur."""
    from datetime import date

    from esante.cli import _run, console
    from esante.core.audit import Actor
    from esante.space import guardians

    try:
        start = date.fromisoformat(since)
    except ValueError:
        raise typer.BadParameter("date attendue au format AAAA-MM-JJ", param_hint="--since") from None

    def run(session: Any) -> int:
        return guardians.add(session, patient_fid=patient[:64], email=user, proof=proof,
                             since=start, actor=Actor.system("cli")).id

    console.print(f"Tutelle n° {_run(run)} enregistrée : {user} gère l'espace de "
                  f"Patient/{patient[:64]}.", highlight=False)


@guardian_app.command("remove")
def guardian_remove(
    patient: Annotated[str, typer.Option("--patient", help="id du dossier Patient du mineur")],
    user: Annotated[str, typer.Option("--user", help="adresse du compte citoyen du tuteur")],
) -> None:
    """Met fin à une tutelle : le compte ne voit plus l'espace du mineur."""
    from esante.cli import _run, console
    from esante.core.audit import Actor
    from esante.space import guardians

    _run(lambda session: guardians.remove_by(session, patient_fid=patient[:64], email=user,
                                             actor=Actor.system("cli")))
    console.print(f"Tutelle terminée : {user} ne voit plus l'espace de Patient/{patient[:64]}.",
                  highlight=False)


@space_app.command("handover")
def handover() -> None:
    """Passage à 18 ans : met fin aux tutelles des patients devenus majeurs (le worker le
    fait chaque jour)."""
    from esante.cli import _run, console
    from esante.core.audit import Actor
    from esante.space import guardians

    ended = _run(lambda session: guardians.hand_over(session, actor=Actor.system("cli")))
    for item in ended:
        console.print(f"Patient/{item['patient']} : tutelle n° {item['guardianship']} terminée "
                      "(majorité).", highlight=False)
    console.print(f"{len(ended)} tutelle(s) terminée(s).", highlight=False)
