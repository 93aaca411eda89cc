"""Background work, run by ``esante worker`` (huey): outbound mail, purges.

The queue lives in Redis when ``ESANTE_REDIS_URL`` is set, in a SQLite file otherwise.
Tasks only read the database's outbox, so a lost queue message loses nothing: the
periodic sweep finds what is due.
"""

from __future__ import annotations

from huey import RedisHuey, SqliteHuey, crontab
from huey.api import Huey

from esante.core.accounts.service import purge_expired
from esante.core.db import transaction
from esante.core.notifications.service import deliver_pending
from esante.core.settings import get_settings


def make_huey() -> Huey:
    s = get_settings()
    if s.redis_url:
        return RedisHuey("esante", url=s.redis_url)
    s.data_dir.mkdir(parents=True, exist_ok=True)
    return SqliteHuey("esante", filename=str(s.data_dir / "queue.db"))


huey = make_huey()


@huey.periodic_task(crontab(minute="*"))
def send_mail() -> int:
    with transaction() as session:
        return deliver_pending(session)


@huey.periodic_task(crontab(minute="*"))
def seal_audit() -> int:
    """Chain the audit records appended since the last pass (see esante.core.audit)."""
    from esante.core.audit import seal

    with transaction() as session:
        return seal(session)


@huey.periodic_task(crontab(minute="*/15"))
def purge_sessions() -> int:
    with transaction() as session:
        return purge_expired(session)


@huey.task()
def run_export_job(job_id: str) -> str:
    """A FHIR bulk $export (esante.fhir.bulk): pages through the store, writes encrypted
    NDJSON files, audits each patient exported."""
    from esante.fhir.bulk import run_export

    with transaction() as session:
        return run_export(session, job_id)


@huey.periodic_task(crontab(minute="*"))
def sweep_exports() -> int:
    """Expired $export jobs go (files and keys); queued ones whose message was lost run."""
    from esante.fhir.bulk import purge_expired, stale_queued

    with transaction() as session:
        purged = purge_expired(session)
        stale = stale_queued(session)
    for job_id in stale:
        run_export_job(job_id)
    return purged


@huey.periodic_task(crontab(minute="*/5"))
def incident_reminders() -> int:
    """Reminders of incident reporting deadlines (CNIL 72 h, NIS2 24 h / 72 h / 1 month)."""
    from esante.cyber.incidents.reminders import send_reminders

    with transaction() as session:
        return send_reminders(session)


@huey.task()
def run_extract_job(extract_id: int) -> str:
    """A data-hub extract too large to run in the request that launched it."""
    from esante.datahub.extracts import run_job

    return run_job(extract_id)


@huey.periodic_task(crontab(minute="*/5"))
def sweep_extracts() -> int:
    """Extracts left running by a worker that died, or queued with a lost message, run again."""
    from esante.datahub.extracts import sweep

    with transaction() as session:
        again = sweep(session)
    for extract_id in again:
        run_extract_job(extract_id)
    return len(again)


@huey.periodic_task(crontab(minute="*/15"))
def space_reminders() -> int:
    """Reminders of the citizens' appointments of the next 24 hours."""
    from esante.space.agenda import send_reminders

    with transaction() as session:
        return send_reminders(session)


@huey.periodic_task(crontab(minute="7"))
def apps_upkeep() -> dict[str, int]:
    """The authorisation server's expired bookkeeping goes (esante.apps.upkeep), then the
    periodic re-reviews that fell due are announced (once per due date)."""
    from esante.apps.upkeep import purge, remind_due_reviews

    with transaction() as session:
        counts = purge(session)
        counts["reminders"] = len(remind_due_reviews(session))
    return counts


@huey.periodic_task(crontab(minute="10", hour="2"))
def space_hand_over() -> int:
    """Guardianships of the minors who turned 18 end: their space is theirs alone."""
    from esante.core.audit import Actor
    from esante.space.guardians import hand_over

    with transaction() as session:
        return len(hand_over(session, actor=Actor.system("worker")))
