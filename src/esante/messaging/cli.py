"""``esante messaging``: mailboxes, the trust space, sending, the test authority, the SMTP
gateway and the outbound queue."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from sqlalchemy.orm import Session

from esante.core.children import die_with_parent
from esante.core.policy import Principal

messaging_app = typer.Typer(help="Messagerie sécurisée de santé (MSSanté).",
                            no_args_is_help=True)
console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def _fail(message: str) -> None:
    err.print(f"[red]erreur :[/red] {message}", highlight=False)
    raise typer.Exit(1)


def _admin_principal(session: Session, email: str) -> Principal:
    from esante.core.accounts import service as accounts

    user = accounts.get_user_by_email(session, email)
    if user is None:
        _fail(f"compte {email} introuvable")
        raise typer.Exit(1)
    return Principal.of(user)


def _interruptible() -> None:
    """Ctrl-C (SIGINT) stops the long-running commands even when the parent process was
    ignoring it when it started them (an ignored signal is inherited, and Python then
    installs no handler)."""
    signal.signal(signal.SIGINT, signal.default_int_handler)


@messaging_app.command("mailbox-create")
def mailbox_create(
    local_part: Annotated[str, typer.Argument(help="partie locale de l'adresse")],
    kind: Annotated[str, typer.Option(help="personal, organisational, applicative")] = "personal",
    name: Annotated[str, typer.Option(help="nom affiché")] = "",
    owner: Annotated[str, typer.Option(help="courriel du titulaire")] = "",
    member: Annotated[list[str] | None, typer.Option(help="courriel d'un membre (répétable)")] = None,
    profession: Annotated[str, typer.Option()] = "",
    establishment: Annotated[str, typer.Option()] = "",
    finess: Annotated[str, typer.Option(
        help="FINESS de l'établissement (les indicateurs partagés qu'il voit sont cherchés "
             "dans le courrier reçu)")] = "",
    town: Annotated[str, typer.Option()] = "",
    admin: Annotated[str, typer.Option("--as", help="courriel de l'administrateur")] = "",
) -> None:
    """Crée une boîte professionnelle (personnelle, organisationnelle ou applicative)."""
    from esante.core.db import transaction
    from esante.core.errors import DomainError
    from esante.messaging import mailboxes

    try:
        with transaction() as session:
            box = mailboxes.create(session, _admin_principal(session, admin), kind=kind,
                                   local_part=local_part, display_name=name or local_part,
                                   owner_email=owner, members=member or [],
                                   profession=profession, establishment=establishment,
                                   finess=finess.strip(), town=town)
            address = box.address
    except DomainError as exc:
        _fail(exc.fr)
        return
    console.print(f"boîte {address} créée", highlight=False)


@messaging_app.command("domain-add")
def domain_add(domain: Annotated[str, typer.Argument(help="domaine d'un opérateur")],
               operator: Annotated[str, typer.Option(help="nom de l'opérateur")] = "",
               admin: Annotated[str, typer.Option("--as")] = "") -> None:
    """Ajoute un domaine d'opérateur à l'espace de confiance (liste blanche)."""
    from esante.core.db import transaction
    from esante.core.errors import DomainError
    from esante.messaging import mailboxes

    try:
        with transaction() as session:
            mailboxes.add_domain(session, _admin_principal(session, admin), domain=domain,
                                 operator=operator)
    except DomainError as exc:
        _fail(exc.fr)
    console.print(f"{domain} ajouté à l'espace de confiance", highlight=False)


@messaging_app.command("send")
def send(sender: Annotated[str, typer.Option("--from", help="adresse d'envoi")],
         to: Annotated[list[str], typer.Option("--to", help="destinataire (répétable)")],
         subject: Annotated[str, typer.Option()],
         body: Annotated[str, typer.Option()] = "",
         attach: Annotated[list[Path] | None, typer.Option(help="pièce jointe (PDF, PNG, JPEG)")] = None,
         cda: Annotated[list[Path] | None, typer.Option(help="document CDA (mis en XDM)")] = None,
         fin: Annotated[bool, typer.Option(help="X-MSS-MES: FIN")] = False,
         user: Annotated[str, typer.Option("--as", help="courriel du titulaire")] = "") -> None:
    """Envoie un message depuis une boîte que le compte détient."""
    import mimetypes

    from esante.core.db import transaction
    from esante.core.errors import DomainError
    from esante.messaging import delivery, mailboxes, mime

    try:
        with transaction() as session:
            p = _admin_principal(session, user)
            box = mailboxes.by_address(session, sender)
            if box is None:
                _fail(f"boîte {sender} inconnue")
                return
            atts = [mime.Attachment(f.name, mimetypes.guess_type(f.name)[0] or "", f.read_bytes())
                    for f in attach or []]
            msg = delivery.send(session, p, from_mailbox_id=box.id, draft=mime.Draft(
                sender="", to=to, subject=subject, text=body, attachments=atts,
                cdas=[f.read_bytes() for f in cda or []], fin=fin), via="api")
            mid = msg.message_id
    except (DomainError, OSError) as exc:
        _fail(getattr(exc, "fr", str(exc)))
        return
    console.print(f"message {mid} envoyé", highlight=False)


@messaging_app.command("ca")
def ca(folder: Annotated[Path | None, typer.Option(help="dossier (ESANTE_MSS_TLS_DIR)")] = None,
       client: Annotated[list[str] | None, typer.Option(
           help="domaine d'un opérateur pair à qui fabriquer un certificat client")] = None) -> None:
    """Fabrique une autorité de test, le certificat du serveur et des certificats clients."""
    from esante.messaging import tls
    from esante.messaging.config import get_mss_settings

    cfg = get_mss_settings()
    target = folder or cfg.resolved_tls_dir
    for path in tls.make_all(target, domain=cfg.domain, clients=client or []):
        console.print(str(path), highlight=False)


@messaging_app.command("revoke")
def revoke(certificate: Annotated[Path, typer.Argument(help="le certificat (PEM) à révoquer")],
           folder: Annotated[Path | None, typer.Option(
               help="dossier de l'autorité (ESANTE_MSS_TLS_DIR)")] = None) -> None:
    """Révoque un certificat de l'autorité de test (liste de révocation crl.pem)."""
    from esante.core.errors import DomainError
    from esante.messaging import tls
    from esante.messaging.config import get_mss_settings

    target = folder or get_mss_settings().resolved_tls_dir
    try:
        serial = tls.revoke(target, certificate)
    except DomainError as exc:
        _fail(exc.fr)
        return
    console.print(f"certificat révoqué (numéro de série {serial:x}) ; la passerelle SMTP et "
                  "IMAP le refusent à leur prochain démarrage", highlight=False)


@messaging_app.command("smtp")
def smtp(queue_every: Annotated[float, typer.Option(
        help="secondes entre deux passages de la file sortante")] = 10.0,
         child: Annotated[bool, typer.Option("--child", hidden=True)] = False) -> None:
    """Démarre la passerelle SMTP (soumission et réception entre opérateurs) et la file."""
    from esante.core.db import session_factory, transaction
    from esante.core.errors import DomainError
    from esante.messaging import gateway, outbound
    from esante.messaging.config import get_mss_settings

    _interruptible()
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # stops like Ctrl-C
    cfg = get_mss_settings()
    count = 1 if child else cfg.gateway_processes
    try:
        servers = gateway.controllers(cfg, session_factory(), shared=child or count > 1)
    except DomainError as exc:
        _fail(exc.fr)
        return
    # The other processes share the ports; they die with this one (even killed), and one
    # that stops is started again.
    def other() -> subprocess.Popen[bytes]:
        return subprocess.Popen([sys.executable, "-m", "esante.cli", "messaging", "smtp",
                                 "--child"], preexec_fn=die_with_parent(signal.SIGKILL))

    others = [other() for _ in range(count - 1)]
    started = []
    try:  # an interruption while starting still stops what had started
        for c in servers:
            c.start()
            started.append(c)
        if child:
            console.print(f"processus {os.getpid()} de la passerelle prêt", highlight=False)
            while True:
                time.sleep(3600)
        if not cfg.product_ref:
            err.print("attention : ESANTE_MSS_PRODUCT_REF absent, les messages composés ici "
                      "partent sans X-MSS-NIL (référence produit Convergence)", highlight=False)
        console.print(f"soumission {cfg.host}:{cfg.submission_port} (STARTTLS + AUTH), "
                      f"réception {cfg.host}:{cfg.relay_port} (TLS mutuel) ; "
                      f"{count} processus", highlight=False)
        while True:
            with transaction() as session:
                outbound.run_once(session, cfg=cfg)
            for i, p in enumerate(others):
                if p.poll() is not None:
                    err.print(f"processus {p.pid} de la passerelle arrêté (code {p.returncode})"
                              " : relancé", highlight=False)
                    others[i] = other()
            time.sleep(queue_every)
    except KeyboardInterrupt:
        pass
    finally:
        for p in others:
            p.terminate()
        for c in started:
            c.stop()
        for p in others:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()


@messaging_app.command("software")
def software(days: Annotated[int, typer.Option(help="période, en jours")] = 30,
             admin: Annotated[str, typer.Option("--as")] = "") -> None:
    """Messages par logiciel émetteur (en-tête X-MSS-NIL) et par voie d'arrivée."""
    from esante.core.db import transaction
    from esante.core.errors import DomainError
    from esante.messaging import mailboxes

    try:
        with transaction() as session:
            rows = mailboxes.sending_software(session, _admin_principal(session, admin),
                                              days=days)
    except DomainError as exc:
        _fail(exc.fr)
        return
    for nil, via, count in rows:
        console.print(f"{nil or '(sans X-MSS-NIL)':<42} {via:<11} {count}", highlight=False,
                      markup=False)
    console.print(f"{sum(r[2] for r in rows)} message(s) en {days} jour(s)", highlight=False)


@messaging_app.command("imap")
def imap(print_config: Annotated[bool, typer.Option(
        "--print-config", help="affiche la configuration de Dovecot sans le démarrer")] = False,
         ) -> None:
    """Démarre l'IMAP des clients de messagerie (Dovecot, alimenté par la plateforme)."""
    from esante.core.db import session_factory
    from esante.core.errors import DomainError
    from esante.messaging import imap as service
    from esante.messaging.config import get_mss_settings

    _interruptible()
    cfg = get_mss_settings()
    running: service.Service | None = None
    try:  # Ctrl-C at any moment, even while starting, stops what has started
        if print_config:
            layout = service.Layout(cfg.resolved_imap_dir)
            console.print(service.render(cfg, layout, service.account(cfg)), highlight=False,
                          markup=False, end="")
            return
        running = service.Service(cfg, session_factory())
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        running.start()
        console.print(f"IMAP {cfg.host}:{cfg.imap_port} (STARTTLS), IMAPS {cfg.host}:"
                      f"{cfg.imaps_port} ; Dovecot sous le compte "
                      f"{running.prepared.account.name}, dossier {running.prepared.layout.root}",
                      highlight=False, markup=False)
        running.run_forever()
    except KeyboardInterrupt:
        pass
    except DomainError as exc:
        _fail(exc.fr)
    except OSError as exc:  # the IMAP dir or a certificate unreadable, a port taken
        _fail(f"IMAP non démarré : {exc}")
    finally:
        if running is not None:
            running.stop()


@messaging_app.command("queue")
def queue() -> None:
    """Passe une fois sur la file sortante (envois vers les autres opérateurs)."""
    from esante.core.db import transaction
    from esante.messaging import outbound

    with transaction() as session:
        done = outbound.run_once(session)
    console.print(f"{done['sent']} envoyé(s), {done['retry']} à réessayer, "
                  f"{done['bounced']} en échec (avis de non-distribution)", highlight=False)
