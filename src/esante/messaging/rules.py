"""The rules of the trust space, applied to every message whatever its way in (web, API,
submission, another operator): only a professional opens a conversation with a patient;
``X-MSS-MES: FIN`` forbids the patient's reply; patients never write to each other; one
patient per conversation."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from esante.core.errors import Forbidden
from esante.messaging.mailboxes import is_patient_address
from esante.messaging.models import Message, Thread


class RuleBroken(Forbidden):
    code = "trust-space-rule"


def find_thread(session: Session, refs: list[str]) -> Thread | None:
    for ref in reversed([r for r in refs if r]):
        thread_id = session.scalar(select(Message.thread_id).where(Message.message_id == ref)
                                   .limit(1))
        if thread_id is not None:
            return session.get(Thread, thread_id)
    return None


def check(session: Session, *, sender: str, recipients: list[str], thread: Thread | None,
          report: bool) -> None:
    patients = [r for r in recipients if is_patient_address(r)]
    if is_patient_address(sender):
        if patients:
            raise RuleBroken("un usager ne peut pas écrire à un autre usager",
                             "patients cannot write to each other")
        if report:
            return
        if thread is None or thread.patient_address != sender:
            raise RuleBroken("seul un professionnel ouvre une conversation avec un usager : "
                             "répondez à un message reçu", "only a professional opens a "
                             "conversation with a patient")
        if thread.closed_for_patient:
            raise RuleBroken("le professionnel a indiqué que ce message n'appelle pas de "
                             "réponse (X-MSS-MES: FIN)", "X-MSS-MES: FIN forbids the reply")
        participants = set(session.scalars(select(Message.sender).where(
            Message.thread_id == thread.id)))
        strangers = [r for r in recipients if r not in participants]
        if strangers:
            raise RuleBroken(f"un usager ne répond qu'aux participants de la conversation "
                             f"({strangers[0][:100]} n'en fait pas partie)",
                             "a patient replies to the conversation's participants only")
        return
    if len(set(patients)) > 1:
        raise RuleBroken("un message ne s'adresse qu'à un seul usager à la fois",
                         "one patient per message")
    if patients and thread is not None and thread.patient_address \
            and thread.patient_address != patients[0]:
        raise RuleBroken("cette conversation concerne un autre usager : ouvrez-en une nouvelle",
                         "the conversation belongs to another patient")
