"""The ``esante`` command."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import Progress, TaskID

from esante.core.children import die_with_parent
from esante.core.errors import DomainError

app = typer.Typer(help="esante — plateforme ouverte du virage numérique en santé.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
db_app = typer.Typer(help="Base de données : migrations.", no_args_is_help=True)
user_app = typer.Typer(help="Comptes utilisateurs.", no_args_is_help=True)
token_app = typer.Typer(help="Jetons d'API.", no_args_is_help=True)
audit_app = typer.Typer(help="Piste d'audit.", no_args_is_help=True)
keys_app = typer.Typer(help="Clés de chiffrement au repos.", no_args_is_help=True)
backup_app = typer.Typer(help="Sauvegardes (base + fichiers chiffrés ; clés à part).",
                         no_args_is_help=True)
for sub, name in ((db_app, "db"), (user_app, "user"), (token_app, "token"),
                  (audit_app, "audit"), (keys_app, "keys"), (backup_app, "backup")):
    app.add_typer(sub, name=name)

from esante.fhir.cli import fhir_app  # noqa: E402 - domains bring their own sub-commands

app.add_typer(fhir_app, name="fhir")

from esante.cyber.passwords.cli import passwords_app  # noqa: E402

app.add_typer(passwords_app, name="passwords")

from esante.cyber.cli import cyber_app  # noqa: E402
from esante.datahub.cli import datahub_app  # noqa: E402
from esante.identity.cli import identity_app, ins_app  # noqa: E402
from esante.space.cli import space_app  # noqa: E402

app.add_typer(cyber_app, name="cyber")
app.add_typer(ins_app, name="ins")
app.add_typer(identity_app, name="identity")
app.add_typer(datahub_app, name="datahub")
app.add_typer(space_app, name="space")

from esante.apps.cli import apps_app  # noqa: E402

app.add_typer(apps_app, name="apps")

from esante.messaging.cli import messaging_app  # noqa: E402

app.add_typer(messaging_app, name="messaging")

console = Console()
err = Console(stderr=True)


def fail(message: str, code: int = 1) -> None:
    err.print(f"[red]erreur :[/red] {message}", highlight=False)
    raise typer.Exit(code)


def _run(fn):
    """Run a unit of work; domain errors become one clear line and a non-zero exit."""
    from esante.core.db import transaction

    try:
        with transaction() as session:
            return fn(session)
    except DomainError as exc:
        fail(exc.fr)
    except ValueError as exc:
        fail(str(exc))


# --- serving -------------------------------------------------------------------------------

@app.command()
def serve(host: str = "127.0.0.1", port: int = 8000,
          workers: Annotated[int, typer.Option(help="processus web")] = 1) -> None:
    """Démarre le serveur web (sans le worker)."""
    import uvicorn

    uvicorn.run("esante.web.main:app", host=host, port=port, workers=workers,
                proxy_headers=False, server_header=False, access_log=False)


@app.command()
def worker() -> None:
    """Démarre le worker des tâches de fond (envoi des courriels, purges)."""
    from huey.consumer import Consumer

    from esante.worker import huey

    Consumer(huey, workers=1, periodic=True, check_worker_health=True).run()


def _messaging_procs(exe: list[str]) -> list[subprocess.Popen[bytes]]:
    """The SMTP gateway and IMAP (Dovecot), once the gateway has its certificates (`esante
    demo` or `esante messaging ca` make test ones); IMAP only where Dovecot is installed."""
    from esante.messaging.config import get_mss_settings

    cfg = get_mss_settings()
    if not (cfg.resolved_tls_dir / "server.crt").exists():
        console.print("messagerie non démarrée : certificats absents (`esante messaging ca`)")
        return []
    procs = [subprocess.Popen([*exe, "messaging", "smtp"],  # noqa: S603
                              preexec_fn=die_with_parent())]
    if Path(cfg.dovecot).exists():
        procs.append(subprocess.Popen([*exe, "messaging", "imap"],  # noqa: S603
                                      preexec_fn=die_with_parent()))
    else:
        console.print(f"IMAP non démarré : Dovecot absent ({cfg.dovecot} ; apt-get install "
                      "dovecot-imapd dovecot-lmtpd)")
    return procs


@app.command("run")
def run_all(host: str = "127.0.0.1", port: int = 8000) -> None:
    """Démarre le worker, la messagerie (passerelle SMTP, IMAP) puis le serveur web ;
    Ctrl-C (ou SIGTERM) arrête tout ; tué, il emporte les autres."""
    # SIGTERM stops like Ctrl-C: uvicorn raises the signal again once it has stopped, and
    # the processes started here are then stopped in order (killed outright, this process
    # takes them with it: die_with_parent).
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    exe = [sys.executable, "-m", "esante.cli"]
    worker_proc = subprocess.Popen([*exe, "worker"],  # noqa: S603
                                   preexec_fn=die_with_parent())
    console.print(f"esante : http://{host}:{port}/  (worker pid {worker_proc.pid})")
    procs = [worker_proc]
    procs.extend(_messaging_procs(exe))
    try:
        serve(host=host, port=port, workers=1)
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=15)


# --- database ------------------------------------------------------------------------------

@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Applique les migrations (crée la base au besoin)."""
    from esante.core import migrate
    from esante.core.db import get_engine

    migrate.upgrade(get_engine(), revision)
    if revision == "head":
        from esante.core.orgs.service import ensure_regions

        _run(ensure_regions)  # reference data: the 18 regions and their ARS
    console.print(f"base à jour : {migrate.current_revision(get_engine())}")


@db_app.command("downgrade")
def db_downgrade(revision: str = typer.Argument(..., help="révision cible, ex. base")) -> None:
    """Annule des migrations jusqu'à la révision donnée."""
    from esante.core import migrate
    from esante.core.db import get_engine

    migrate.downgrade(get_engine(), revision)
    console.print(f"base à la révision : {migrate.current_revision(get_engine())}")


@db_app.command("current")
def db_current() -> None:
    """Affiche la révision de la base."""
    from esante.core import migrate
    from esante.core.db import get_engine

    console.print(migrate.current_revision(get_engine()) or "(vide)")


# --- demo ----------------------------------------------------------------------------------

@app.command()
def demo() -> None:
    """Remplit la base de démonstration (idempotent) et affiche les comptes de démo."""
    from esante.core import demo as demo_data
    from esante.core.settings import get_settings

    if get_settings().mode == "production":
        fail("les données de démonstration sont refusées en production")

    def seed(session):
        with Progress(console=console, transient=True) as bar:
            task = bar.add_task("Établissements", total=demo_data.ESTABLISHMENTS)
            created = demo_data.seed_establishments(
                session, progress=lambda n: bar.advance(task, n))
        people = demo_data.seed_personas(session)
        return created, people

    created, people = _run(seed)
    console.print(f"{created} établissement(s) créé(s) ; {demo_data.ESTABLISHMENTS} au total.")
    # Each domain brings its demo data, one transaction each; each says what it made.
    for label, step in _demo_steps(demo_data):
        with Progress(console=console, transient=True) as bar:
            task = bar.add_task(label, total=None)
            said = _run(lambda session, step=step, bar=bar, task=task: step(session, bar, task))
        console.print(said, highlight=False)
    # One plain line per account: logins and secrets must be copied whole, never truncated
    # to the width of the terminal.
    console.print(f"Comptes de démonstration — mot de passe : {demo_data.DEMO_PASSWORD}")
    for persona, _user, _ in people:
        secret = "" if persona.role == "citizen" else demo_data.totp_secret_for(persona.email)
        scope = f"{persona.scope_kind} {persona.scope_ref}".strip()
        line = f"  {persona.role.value:<17} {persona.email:<40} {scope:<25}"
        console.print(line + (f" TOTP {secret}" if secret else " (sans TOTP)"),
                      soft_wrap=True, highlight=False)


def _demo_steps(demo_data: Any) -> list[tuple[str, Callable[[Any, Progress, TaskID], str]]]:
    """The domains' demo data, in order: (label of the progress bar, step)."""

    def incidents(session: Any, _bar: Progress, _task: TaskID) -> str:
        from esante.cyber.demo import seed_incidents

        return (f"{seed_incidents(session)} incident(s) de cybervigilance créé(s) "
                "(historique de démonstration).")

    def passwords(session: Any, _bar: Progress, _task: TaskID) -> str:
        from esante.cyber.passwords.importer import load_shipped_corpus

        return (f"{load_shipped_corpus(session)} empreinte(s) de mots de passe compromis "
                "chargée(s) (corpus fourni).")

    def identities(session: Any, bar: Progress, task: TaskID) -> str:
        from esante.identity import demo as identity_demo

        bar.update(task, total=identity_demo.demo_people())
        directory = identity_demo.seed_directory(
            session, progress=lambda n: bar.update(task, completed=n))
        identity_demo.seed_local(session, finess=demo_data.anchor_finess()[0],
                                 clerk_email="accueil@chu-paris.demo.esante.fr")
        return f"{directory} personne(s) ajoutée(s) à l'annuaire de référence des identités."

    def threatwatch(session: Any, _bar: Progress, _task: TaskID) -> str:
        from esante.cyber.threatwatch.demo import seed

        return str(seed(session))

    def indicators(session: Any, _bar: Progress, _task: TaskID) -> str:
        from esante.cyber.indicators.demo import seed_indicators

        return (f"{seed_indicators(session)} événement(s) d'indicateurs partagés créé(s) "
                "(un par niveau TLP).")

    def maturity(session: Any, _bar: Progress, _task: TaskID) -> str:
        from esante.cyber.maturity.demo import seed_demo

        assessments, enrolled = seed_demo(session)
        return (f"{assessments} auto-évaluation(s) de maturité, {enrolled} inscription(s) à la "
                "campagne de sensibilisation.")

    def datahub(session: Any, _bar: Progress, _task: TaskID) -> str:
        from esante.datahub.demo import seed_datahub

        people, projects = seed_datahub(session)
        return (f"Entrepôt de données : {people} personnes synthétiques au catalogue, "
                f"{projects} projet(s) de démonstration créé(s).")

    def space(session: Any, _bar: Progress, _task: TaskID) -> str:
        from esante.space.demo import CITIZEN, seed_space

        ins, code = seed_space(session)
        if not code:
            return f"Espace santé de {CITIZEN} : déjà activé (INS {ins})."
        return (f"Espace santé de {CITIZEN} : INS {ins}, code d'activation {code} "
                "(page /espace/courrier ; une double authentification sera demandée).")

    def messaging(session: Any, _bar: Progress, _task: TaskID) -> str:
        from esante.messaging.demo import seed

        return seed(session)

    return [("Incidents", incidents), ("Mots de passe compromis", passwords),
            ("Annuaire d'identités", identities), ("Veille des vulnérabilités", threatwatch),
            ("Indicateurs partagés", indicators), ("Maturité et sensibilisation", maturity),
            ("Entrepôt de données", datahub), ("Espace santé", space),
            ("Messagerie", messaging)]


# --- users and tokens ----------------------------------------------------------------------

@user_app.command("create")
def user_create(
    email: Annotated[str, typer.Option(help="adresse électronique (identifiant)")],
    password: Annotated[str, typer.Option(help="mot de passe (12 caractères au moins)",
                                          prompt=True, hide_input=True)],
    role: Annotated[list[str], typer.Option(help="rôle, répétable : admin, citizen, ...")],
    scope: Annotated[list[str] | None, typer.Option(
        help="portée de chaque rôle, dans l'ordre : nation, region:11, establishment:FINESS")] = None,
    name: Annotated[str | None, typer.Option(help="nom affiché")] = None,
    rpps: Annotated[str | None, typer.Option(help="numéro RPPS (professionnels)")] = None,
) -> None:
    """Crée un compte avec ses rôles."""
    from esante.core.accounts import service
    from esante.core.accounts.models import Role
    from esante.core.accounts.service import ROLE_SCOPES
    from esante.core.audit import Actor

    scopes = list(scope or [])

    def create(session):
        actor = Actor.system("cli")
        user = service.create_user(session, actor=actor, email=email, password=password,
                                   display_name=name or email.split("@")[0], rpps=rpps)
        for i, r in enumerate(role):
            if r not in Role.__members__.values():
                raise DomainError(f"rôle inconnu : {r} (attendu : {', '.join(x.value for x in Role)})")
            spec = scopes[i] if i < len(scopes) else ROLE_SCOPES[Role(r)][0].value
            kind, _, ref = spec.partition(":")
            service.grant_role(session, actor=actor, user=user, role=r, scope_kind=kind,
                               scope_ref=ref)
        return user.id

    user_id = _run(create)
    console.print(f"compte créé : {email} (id {user_id})")


@token_app.command("create")
def token_create(
    user: Annotated[str, typer.Option(help="adresse du compte")],
    scope: Annotated[list[str] | None, typer.Option(help="read et/ou write")] = None,
    name: str = "cli",
    days: Annotated[int, typer.Option(help="validité en jours (1 à 365)")] = 30,
) -> None:
    """Crée un jeton d'API et l'affiche (une seule fois)."""
    from esante.core.accounts import service
    from esante.core.audit import Actor

    def create(session):
        account = service.get_user_by_email(session, user)
        if account is None:
            raise DomainError(f"aucun compte pour {user}")
        _, raw = service.create_token(session, actor=Actor.system("cli"), user=account,
                                      name=name, scopes=scope or ["read"], days=days)
        return raw

    typer.echo(_run(create))


# --- audit, keys ---------------------------------------------------------------------------

@audit_app.command("verify")
def audit_verify() -> None:
    """Vérifie la chaîne d'empreintes de la piste d'audit."""
    from esante.core.audit import seal, verify_chain

    sealed = _run(seal)  # chain what was appended since the worker's last pass
    report = _run(verify_chain)
    if report.ok:
        console.print(f"piste d'audit intacte : {report.checked} enregistrement(s) vérifié(s)"
                      f" dont {sealed} scellé(s) à l'instant")
        return
    fail(f"piste d'audit altérée à l'enregistrement {report.first_bad_id} : {report.reason} "
         f"({report.checked} enregistrement(s) intacts avant lui)", code=2)


@keys_app.command("init")
def keys_init() -> None:
    """Crée le trousseau de clés maîtres s'il n'existe pas."""
    from esante.core.crypto import KeyRing
    from esante.core.settings import get_settings

    path = get_settings().resolved_keyring_path
    if path.exists():
        console.print(f"trousseau déjà présent : {path}")
        return
    KeyRing.create(path)
    console.print(f"trousseau créé : {path} (à sauvegarder à part des données)")


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Ajoute une clé maître et re-chiffre toutes les clés de données avec elle."""
    from esante.core.crypto import rotate_master_key

    new_id, count = _run(rotate_master_key)
    console.print(f"nouvelle clé maître {new_id} ; {count} clé(s) de données re-chiffrée(s)")


@contextmanager
def _progress_bars() -> Iterator[Callable[[str, int, int | None], None]]:
    """A rich progress bar per stage for the core functions' ``progress`` callback."""
    with Progress(console=console, transient=True) as bar:
        tasks: dict[str, TaskID] = {}

        def update(label: str, done: int, total: int | None) -> None:
            if label not in tasks:
                tasks[label] = bar.add_task(label, total=total)
            bar.update(tasks[label], completed=done, total=total)

        yield update


@backup_app.command("create")
def backup_create(path: Annotated[Path, typer.Argument(help="fichier .tar.gz à écrire")]) -> None:
    """Sauvegarde la base et les fichiers chiffrés (sans les clés maîtres)."""
    from esante.core import backup
    from esante.core.audit import Actor

    try:
        with _progress_bars() as progress:
            report = backup.create_backup(path, progress=progress, actor=Actor.system("cli"))
    except DomainError as exc:
        fail(exc.fr)
    console.print(report.summary_fr())


@backup_app.command("restore")
def backup_restore(
    path: Annotated[Path, typer.Argument(help="sauvegarde .tar.gz à restaurer")],
    force: Annotated[bool, typer.Option(
        "--force", help="remplacer une base ou des fichiers qui contiennent déjà des données")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", help="remplacer les données sans confirmer")] = False,
) -> None:
    """Restaure une sauvegarde : remplace toutes les données de la base et les fichiers.

    Refuse une base non vide sans --force ; le trousseau de clés n'est pas dans la
    sauvegarde et doit être remis en place à part."""
    from esante.core import backup
    from esante.core.audit import Actor

    if force and not yes:
        typer.confirm("Toutes les données actuelles seront remplacées. Continuer ?", abort=True)
    try:
        with _progress_bars() as progress:
            report = backup.restore_backup(path, force=force, progress=progress,
                                           actor=Actor.system("cli"))
    except DomainError as exc:
        fail(exc.fr)
    console.print(report.summary_fr())


def main() -> None:
    app()


if __name__ == "__main__":
    main()
