"""Permissions of messaging. A mailbox is read and written by its holder (a professional,
a citizen) or its members (an organisational or applicative mailbox); nobody else, an
administrator included: administrators manage mailboxes and the trust space, never read
messages."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from esante.core.accounts.models import Role
from esante.core.policy import Principal, rule
from esante.messaging.models import Mailbox, MailboxMember


def is_holder(session: Session, p: Principal, mailbox: Mailbox) -> bool:
    return holds(session, p.user.id, mailbox)


def holds(session: Session, user_id: int, mailbox: Mailbox) -> bool:
    """``is_holder`` knowing only the user's id."""
    if not mailbox.active:
        return False
    if mailbox.owner_user_id == user_id:
        return True
    return session.scalar(select(MailboxMember.id).where(
        MailboxMember.mailbox_id == mailbox.id, MailboxMember.user_id == user_id)) is not None


@rule("messaging.mailbox.use", write=False, label_fr="consulter une boîte aux lettres sécurisée")
def _use(p: Principal, target: tuple[Session, Mailbox]) -> bool:
    session, mailbox = target
    return is_holder(session, p, mailbox)


@rule("messaging.mailbox.send", write=True, label_fr="écrire depuis une boîte aux lettres sécurisée")
def _send(p: Principal, target: tuple[Session, Mailbox]) -> bool:
    session, mailbox = target
    return is_holder(session, p, mailbox)


@rule("messaging.mailbox.own", write=False, label_fr="voir ses boîtes aux lettres sécurisées")
def _own(_p: Principal, _t: Any) -> bool:
    return True


@rule("messaging.admin", write=True, label_fr="administrer la messagerie sécurisée")
def _admin(p: Principal, _t: Any) -> bool:
    return p.has_role(Role.ADMIN)


@rule("messaging.admin.read", write=False,
      label_fr="consulter les boîtes et l'espace de confiance (sans les messages)")
def _admin_read(p: Principal, _t: Any) -> bool:
    return p.has_role(Role.ADMIN)


@rule("messaging.directory.read", write=False,
      label_fr="consulter l'annuaire des adresses des professionnels")
def _directory(p: Principal, _t: Any) -> bool:
    # Professionals and the staff of establishments; a citizen never opens a conversation.
    return any(g.role != Role.CITIZEN for g in p.grants)
