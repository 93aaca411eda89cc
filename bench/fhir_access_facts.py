"""What the former-guardian grant costs the FHIR access layer's SQL: the read's one query
(the row and its access facts) and a citizen's search filter, each timed against the same
statement without the grant's clause (the code before it), interleaved in the same run.

    python bench/fhir_access_facts.py --database-url postgresql+psycopg://postgres@127.0.0.1/esante_bench_facts

The database must be empty: the script migrates it, then inserts rows directly (no HTTP,
no encryption: only the access SQL is measured): N Patients with 3 Observations each, a
professional in the care of all of them, a hiding Consent rule on 10 % of the patients and
a former guardian's grant on 1 %. Prints p50 and p95 in microseconds per statement."""

from __future__ import annotations

import argparse
import os
import random
import secrets
import statistics
import time
from typing import Any

from sqlalchemy import create_engine, exists, insert, or_, select
from sqlalchemy.orm import Session

from esante.core.accounts.models import User
from esante.core.db import utcnow
from esante.core.policy import Grant, Principal
from esante.fhir.access import _ROW_WITH_FACTS, Access
from esante.fhir.models import CareRelationship, ConsentRule, FhirResource, PatientLink
from esante.fhir.searchparams import DIRECTORY_TYPES
from esante.space.models import Guardianship


def populate(session: Session, n: int) -> tuple[int, int]:
    """Two accounts (a professional, a citizen) and the rows; returns their ids."""
    from esante.core.accounts import service as accounts
    from esante.core.audit import Actor

    actor = Actor.system("bench")
    secret = secrets.token_urlsafe(24)  # nobody signs in: the accounts only own rows
    pro = accounts.create_user(session, actor=actor, email="pro@bench.esante.fr",
                               password=secret, display_name="Pro")
    cit = accounts.create_user(session, actor=actor, email="cit@bench.esante.fr",
                               password=secret, display_name="Cit")
    now = utcnow()
    rows: list[dict[str, Any]] = []
    for i in range(n):
        rows.append({"resource_type": "Patient", "fid": f"p{i}", "version": 1,
                     "last_updated": now, "deleted": False, "patient_fid": f"p{i}",
                     "content": b"x"})
        rows.extend({"resource_type": "Observation", "fid": f"o{i}-{k}", "version": 1,
                     "last_updated": now, "deleted": False, "patient_fid": f"p{i}",
                     "content": b"x"} for k in range(3))
        if i % 10 == 0:
            rows.append({"resource_type": "Consent", "fid": f"c{i}", "version": 1,
                         "last_updated": now, "deleted": False, "patient_fid": f"p{i}",
                         "content": b"x"})
        if len(rows) >= 20_000:
            session.execute(insert(FhirResource), rows)
            rows = []
    if rows:
        session.execute(insert(FhirResource), rows)
    consents = dict(session.execute(select(FhirResource.patient_fid, FhirResource.pk).where(
        FhirResource.resource_type == "Consent")).all())
    rules = []
    for patient, pk in consents.items():
        i = int(str(patient)[1:])
        rules.append({"consent_pk": pk, "patient_fid": patient, "kind": "hide-resource",
                      "actor_rpps": "", "target_type": "Observation", "target_fid": f"o{i}-0"})
        if i % 100 == 0:
            rules.append({"consent_pk": pk, "patient_fid": patient, "kind": "permit-account",
                          "actor_rpps": f"a:{cit.id}", "target_type": "", "target_fid": ""})
    session.execute(insert(ConsentRule), rules)
    for start in range(0, n, 20_000):
        session.execute(insert(CareRelationship), [
            {"user_id": pro.id, "patient_fid": f"p{i}", "reason": "bench", "created_at": now,
             "ends_at": None} for i in range(start, min(n, start + 20_000))])
    session.add(PatientLink(user_id=cit.id, patient_fid="p1", created_at=now))
    session.commit()
    return pro.id, cit.id


def _timed(session: Session, stmt: Any, params: dict[str, Any]) -> float:
    t = time.perf_counter()
    session.execute(stmt, params).all()
    return (time.perf_counter() - t) * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--database-url", required=True)
    ap.add_argument("--patients", type=int, default=100_000)
    ap.add_argument("--reads", type=int, default=5_000, help="statements per variant")
    args = ap.parse_args()
    os.environ.setdefault("ESANTE_DATABASE_URL", args.database_url)
    from esante.core import migrate

    engine = create_engine(args.database_url)
    migrate.upgrade(engine)
    with Session(engine) as session:
        t = time.perf_counter()
        pro_id, cit_id = populate(session, args.patients)
        print(f"populated {args.patients} patients in {time.perf_counter() - t:.1f} s")
        session.execute(select(1)).all()
        if engine.dialect.name == "postgresql":
            session.connection().exec_driver_sql("ANALYZE")
            session.commit()
        after_read = _ROW_WITH_FACTS
        before_read = _ROW_WITH_FACTS.with_only_columns(
            *list(_ROW_WITH_FACTS.selected_columns)[:-1])
        citizen = session.get(User, cit_id)
        assert citizen is not None
        p = Principal(user=citizen, grants=(Grant("citizen", "self", ""),))
        after_filter = Access(session, p).search_filter()
        before_filter = or_(
            FhirResource.resource_type.in_(sorted(DIRECTORY_TYPES)),
            exists().where(PatientLink.user_id == cit_id,
                           PatientLink.patient_fid == FhirResource.patient_fid),
            exists().where(Guardianship.user_id == cit_id,
                           Guardianship.patient_fid == FhirResource.patient_fid,
                           Guardianship.ended_at.is_(None)))
        rng = random.Random(7)
        times: dict[str, list[float]] = {k: [] for k in (
            "read (pro), before", "read (pro), after",
            "citizen search, before", "citizen search, after")}
        for _ in range(args.reads):
            i = rng.randrange(args.patients)
            params = {"uid": pro_id, "now": utcnow(), "rpps": "10000000015",
                      "rtype": "Observation", "fid": f"o{i}-{rng.randrange(3)}",
                      "acct": f"a:{pro_id}"}
            pairs = [("read (pro), before", before_read), ("read (pro), after", after_read)]
            rng.shuffle(pairs)
            for name, stmt in pairs:
                times[name].append(_timed(session, stmt, params))
            patient = f"p{rng.choice([1, (i // 100) * 100])}"  # her own, or a granted one
            searches = [("citizen search, before", before_filter),
                        ("citizen search, after", after_filter)]
            rng.shuffle(searches)
            for name, cond in searches:
                stmt = select(FhirResource.pk).where(
                    FhirResource.resource_type == "Observation",
                    FhirResource.patient_fid == patient, cond)
                times[name].append(_timed(session, stmt, {}))
            session.rollback()
        load = os.getloadavg()
        print(f"{args.reads} statements per variant, load average {load[0]:.1f}")
        for name, values in times.items():
            q = statistics.quantiles(values, n=20)
            print(f"  {name:28s} p50 {statistics.median(values):7.0f} µs   p95 {q[18]:7.0f} µs")


if __name__ == "__main__":
    main()
