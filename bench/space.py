"""Citizen space benchmark: one heavy citizen among 1,000,000, her pages through a real server.

    python bench/space.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench

1. seeds N citizens (default 1,000,000): a FHIR Patient each (INS-NIR test identifier with
   a valid key, identity status QUAL, French name and town), written with the FHIR
   loader's own batch writer (``esante.fhir.loader.write_batch``: COPY of the resources,
   versions and index rows, encrypted as the API stores them), and its space
   (``space_spaces``, status "open") with its creation in the audit trail, by COPY;
2. seeds one heavy citizen through the service layer, as the pages and API write them:
   her account (citizen, TOTP), her space activated with the letter's code, 500 documents
   (PDF, DocumentReference + Binary; 10 of them hidden from professionals), 5 years of
   weekly measurements (weight, blood pressure, glucose, pulse: 1,040 Observations),
   allergies, conditions, treatments, appointments, and 2,000 accesses to her record by
   20 professionals of 4 establishments in the audit trail (a break-glass among them);
3. starts ``esante serve`` and times each main page (home, documents, profile, weight
   chart, agenda, access history page 1, a filtered history, CSV export) with an httpx
   client logged in as the citizen (password + TOTP): N sequential requests each,
   p50/p95/p99;
4. beside it, the peer: the same data read bare in SQL (psycopg; no HTTP, no access
   rules, no decryption, no audit, no HTML): the physical limit of this design.

``--reuse`` keeps the data of a previous run (same --work, --citizens and database) and
goes straight to the measures.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import statistics
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _setup import PYTHON, ROOT, start_server, stop_server

HEAVY = "cit-heavy"
EMAIL = "heavy@bench.esante.fr"
PASSWORD = "bench-citizen-password-42!"  # noqa: S105 - the bench's own account
PRO_COUNT = 20
PAGES = {
    "accueil": "/espace",
    "documents, page 1": "/espace/documents",
    "profil de santé": "/espace/profil",
    "courbe du poids": "/espace/profil/mesures/poids",
    "agenda": "/espace/agenda",
    "historique, page 1": "/espace/historique",
    "historique filtré": "/espace/historique?du=2024-01-01&au=2024-12-31&qui=pro",
    "historique CSV": "/espace/historique.csv",
}


# --- seeding -------------------------------------------------------------------------------

def _progress() -> Any:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("{task.fields[rate]}"), TimeElapsedColumn(),
                    TimeRemainingColumn())


def seed_citizens(n: int, batch: int = 5000) -> float:
    """N Patients with a qualified INS and their spaces; returns the seconds taken."""
    from fhir_api import patient
    from sqlalchemy import select, text

    from esante.core.audit import AuditEvent
    from esante.core.db import session_factory, utcnow
    from esante.core.settings import get_settings
    from esante.fhir import validation
    from esante.fhir.indexer import index_rows
    from esante.fhir.loader import Prepared, _copy, write_batch
    from esante.space.models import Space
    from esante.space.service import ins_hash

    rng = random.Random(7)
    settings = get_settings()
    factory = session_factory()
    # The generator's resources are the API's: the first ones go through the API's own
    # validation (``esante fhir load`` validates every one; bench/fhir_api.py times it).
    for i in range(50):
        validation.validate(patient(i, random.Random(i)))
    started = time.perf_counter()
    space_cols = ("patient_fid", "ins_hash", "status", "objection_until", "holder_id",
                  "code_hash", "code_failures", "created_at")
    audit_cols = ("at", "actor_id", "actor_label", "action", "object_type", "object_id",
                  "patient_ref", "ip", "justification", "outcome", "details")
    # PostgreSQL's statistics refreshed as the tables grow, as ``esante fhir load`` does: a
    # server without autovacuum otherwise plans each batch's "which ids exist" on an empty
    # table's numbers (a sequential scan: 21 s a batch at 365,000).
    pg = factory.kw["bind"].dialect.name == "postgresql"
    next_analyze = 2 * batch
    with _progress() as bar:
        task = bar.add_task("citoyens (Patient + espace)", total=n, rate="")
        for start in range(0, n, batch):
            prepared, spaces = [], []
            for i in range(start, min(n, start + batch)):
                res = patient(i, rng)
                fid = f"cit-{i}"
                res["id"] = fid
                prepared.append(Prepared(f"bench:{i}", "Patient", fid, True, res,
                                         index_rows(res)))
                now = utcnow()
                spaces.append((fid, ins_hash(res["identifier"][0]["value"]), "open",
                               now - timedelta(days=1), None, "", 0, now))
            with factory() as session, session.begin():
                write_batch(session, prepared, settings=settings)
                _copy(session, Space, space_cols, spaces)
                first = session.scalar(select(Space.id).where(
                    Space.patient_fid == spaces[0][0]))
                assert first is not None
                _copy(session, AuditEvent, audit_cols, [
                    (row[7], None, "bench", "space.create", "space", str(first + k),
                     f"Patient/{row[0]}", "", "", "success", "{}")
                    for k, row in enumerate(spaces)])
            done = min(n, start + batch)
            if pg and done >= next_analyze:
                with factory() as session, session.begin():
                    for table in ("fhir_resources", "fhir_idx_token", "space_spaces"):
                        session.execute(text(f"ANALYZE {table}"))
                next_analyze *= 4
            bar.update(task, completed=done,
                       rate=f"{done / (time.perf_counter() - started):,.0f}/s")
    return time.perf_counter() - started


def _pdf(i: int) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.cell(0, 10, f"Compte rendu {i}")
    return bytes(pdf.output())


def seed_heavy(rng: random.Random) -> str:
    """The heavy citizen, written through the service layer; returns her TOTP secret."""
    import pyotp
    from fhir_api import patient

    from esante.core.accounts import service as accounts
    from esante.core.audit import Actor, AuditEvent
    from esante.core.db import session_factory
    from esante.core.identifiers import finess_key, rpps_key
    from esante.core.orgs import service as orgs
    from esante.core.policy import Principal
    from esante.fhir.indexer import index_rows
    from esante.fhir.loader import Prepared, _copy, write_batch
    from esante.space import agenda, documents, privacy, profile, service

    actor = Actor.system("bench")
    factory = session_factory()
    heavy = patient(10**7, rng)
    heavy["id"] = HEAVY
    heavy["name"] = [{"use": "official", "family": "Lefèvre", "given": ["Hélène"]}]
    with factory() as session, session.begin():
        write_batch(session, [Prepared("bench", "Patient", HEAVY, True, heavy,
                                       index_rows(heavy))])
        _space, code = service.provision(session, patient_fid=HEAVY, actor=actor)
        user = accounts.create_user(session, actor=actor, email=EMAIL, password=PASSWORD,
                                    display_name="Hélène Lefèvre")
        accounts.grant_role(session, actor=actor, user=user, role="citizen", scope_kind="self")
        secret = pyotp.random_base32()
        accounts.start_totp_setup(session, user=user, secret=secret)
        accounts.confirm_totp(session, actor=actor, user=user, code=pyotp.TOTP(secret).now())
        orgs.ensure_regions(session)
        finesses = []
        for k, town in enumerate(("Paris", "Lyon", "Lille", "Nantes")):
            base = f"7500010{k}"
            finesses.append(orgs.create_establishment(
                session, actor=actor, finess=base + finess_key(base), name=f"CH de {town}",
                category="CH", department="75", town=town).finess)
        pros = []
        for k in range(PRO_COUNT):
            body = f"10000{k:05d}"
            pro = accounts.create_user(
                session, actor=actor, email=f"pro{k}@bench.esante.fr",
                password=PASSWORD, display_name=f"Dr Bench {k}", rpps=body + rpps_key(body))
            accounts.grant_role(session, actor=actor, user=pro, role="professional",
                                scope_kind="establishment", scope_ref=finesses[k % 4])
            pros.append(pro)
        p = Principal.of(user)
        space = service.activate(session, p, ins=heavy["identifier"][0]["value"], code=code)
        pro_ids = [(u.id, u.email) for u in pros]

    today = date.today()
    with _progress() as bar:
        task = bar.add_task("citoyenne chargée : documents", total=500, rate="")
        for chunk in range(0, 500, 50):
            with factory() as session, session.begin():
                user = accounts.get_user_by_email(session, EMAIL)
                assert user is not None
                p = Principal.of(user)
                space = service.require(session, p, write=True)
                for i in range(chunk, chunk + 50):
                    doc = documents.upload(
                        session, p, space, filename=f"document-{i}.pdf", data=_pdf(i),
                        category=rng.choice(list(documents.CATEGORIES)),
                        title=f"Document {i}", when=today - timedelta(days=rng.randrange(1825)))
                    if i % 50 == 0:
                        privacy.hide_document(session, p, space, doc.fid)
            bar.update(task, completed=chunk + 50)
        weeks = 52 * 5
        task = bar.add_task("citoyenne chargée : mesures", total=weeks, rate="")
        now = datetime.now(UTC)
        for chunk in range(0, weeks, 52):
            with factory() as session, session.begin():
                user = accounts.get_user_by_email(session, EMAIL)
                assert user is not None
                p = Principal.of(user)
                space = service.require(session, p, write=True)
                for w in range(chunk, chunk + 52):
                    at = now - timedelta(weeks=weeks - w, hours=rng.randrange(12))
                    profile.add_measurement(session, p, space, "poids",
                                            value=round(rng.uniform(62, 70), 1), at=at)
                    sys_ = rng.randrange(115, 140)
                    profile.add_measurement(session, p, space, "tension", value=sys_,
                                            second=rng.randrange(65, 90), at=at)
                    profile.add_measurement(session, p, space, "glycemie",
                                            value=round(rng.uniform(0.8, 1.2), 2), at=at)
                    profile.add_measurement(session, p, space, "pouls",
                                            value=rng.randrange(55, 85), at=at)
            bar.update(task, completed=chunk + 52)

    with factory() as session, session.begin():
        user = accounts.get_user_by_email(session, EMAIL)
        assert user is not None
        p = Principal.of(user)
        space = service.require(session, p, write=True)
        for section, texts in (("allergies", ["Pénicilline", "Pollens de graminées"]),
                               ("antecedents", ["Asthme", "Appendicectomie", "Hypertension"]),
                               ("traitements", ["Ventoline", "Amlodipine 5 mg"]),
                               ("vaccinations", ["Grippe 2025", "DTP", "COVID-19"])):
            for t in texts:
                profile.add_entry(session, p, space, section, text=t,
                                  when=today - timedelta(days=rng.randrange(3000)))
        for k in range(40):
            start = datetime.now(UTC) + timedelta(days=k * 20 - 400, hours=9)
            if start <= datetime.now(UTC):
                continue  # the agenda takes future appointments: past ones come from pros
            agenda.add(session, p, space, start=start, minutes=30,
                       what=f"Consultation de suivi {k}", with_whom="Dr Bench")

        # 2,000 accesses by professionals over 5 years, as the FHIR layer audits them.
        cols = ("at", "actor_id", "actor_label", "action", "object_type", "object_id",
                "patient_ref", "ip", "justification", "outcome", "details")
        actions = ["fhir.read"] * 6 + ["fhir.search"] * 3 + ["fhir.create"]
        rows = []
        for k in range(2000):
            uid, label = rng.choice(pro_ids)
            at = datetime.now(UTC) - timedelta(minutes=rng.randrange(5 * 525_600))
            rows.append((at, uid, label, rng.choice(actions), "DocumentReference",
                         f"DocumentReference/doc-{k}", f"Patient/{HEAVY}", "10.0.0.1", "",
                         "success", "{}"))
        uid, label = pro_ids[0]
        rows.append((datetime.now(UTC) - timedelta(days=200), uid, label, "fhir.break-glass",
                     "Patient", HEAVY, f"Patient/{HEAVY}", "10.0.0.1",
                     "Patiente inconsciente aux urgences", "success", "{}"))
        _copy(session, AuditEvent, cols, rows)
    return secret


def prepare(args: argparse.Namespace, url: str) -> str:
    from sqlalchemy import create_engine, text

    _esante("db", "upgrade")
    engine = create_engine(url)
    with engine.connect() as conn:
        if conn.scalar(text("SELECT count(*) FROM fhir_resources")):
            sys.exit("la base n'est pas vide : donnez une base neuve, ou --reuse")
    seconds = seed_citizens(args.citizens)
    print(f"{args.citizens:,} citoyens en {seconds:.0f} s "
          f"({args.citizens / seconds:,.0f}/s)", flush=True)
    started = time.perf_counter()
    secret = seed_heavy(random.Random(11))
    print(f"citoyenne chargée en {time.perf_counter() - started:.0f} s", flush=True)
    if url.startswith("postgresql"):
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()
    return secret


# --- measuring -----------------------------------------------------------------------------

def _esante(*args: str) -> None:
    done = subprocess.run([PYTHON, "-m", "esante.cli", *args], env=os.environ.copy(),  # noqa: S603
                          cwd=ROOT, text=True, capture_output=True, check=False)
    if done.returncode:
        sys.exit(f"esante {' '.join(args)} : {done.stdout}\n{done.stderr}")


def login(base: str, secret: str) -> Any:
    """An httpx client logged in as the heavy citizen (password, then TOTP)."""
    import re

    import httpx
    import pyotp

    client = httpx.Client(base_url=base, timeout=60, follow_redirects=True)

    def csrf(html: str) -> str:
        m = re.search(r'name="csrf_token" value="([^"]+)"', html)
        assert m, html[:500]
        return m.group(1)

    r = client.get("/login")
    r = client.post("/login", data={"email": EMAIL, "password": PASSWORD,
                                    "csrf_token": csrf(r.text)})
    assert "/login/otp" in str(r.url), (r.status_code, r.url)
    r = client.post("/login/otp", data={"code": pyotp.TOTP(secret).now(),
                                        "csrf_token": csrf(r.text)})
    r = client.get("/espace")
    assert r.status_code == 200 and "Mon espace santé" in r.text, (r.status_code, r.url)
    return client


def pct(samples: list[float], q: int) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[q - 1] * 1000


def time_pages(client: Any, n: int, only: list[str]) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    for name, path in PAGES.items():
        if only and not any(o in name for o in only):
            continue
        for _ in range(2):  # warm-up
            client.get(path)
        samples = []
        for _ in range(n):
            t = time.perf_counter()
            r = client.get(path)
            samples.append(time.perf_counter() - t)
            assert r.status_code == 200, (name, r.status_code, r.text[:300])
        out[name] = samples
        print(f"  HTTP {name:<22} p50 {pct(samples, 50):7.1f} ms  p95 {pct(samples, 95):7.1f} ms",
              flush=True)
    return out


def sql_peer(url: str, n: int) -> dict[str, list[float]]:
    """The same data, read bare in SQL: the rows each page shows (encrypted content
    fetched, not decrypted), found through the same index tables."""
    import psycopg

    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    pat = f"Patient/{HEAVY}"

    search = ("SELECT r.content FROM fhir_resources r JOIN fhir_idx_ref x ON x.res_pk = r.pk "
              "WHERE x.resource_type = %s AND x.param IN ('patient', 'subject') "
              "AND x.target_type = 'Patient' AND x.target_fid = %s AND NOT r.deleted ")
    obs = ("AND EXISTS (SELECT 1 FROM fhir_idx_token t WHERE t.res_pk = r.pk AND "
           "t.param = 'code' AND t.code = %s) ")
    history = ("SELECT * FROM audit_events WHERE patient_ref = %s {w} "
               "ORDER BY at DESC, id DESC LIMIT {lim}")
    count = "SELECT count(*) FROM audit_events WHERE patient_ref = %s {w}"
    filt = "AND at >= '2024-01-01' AND at < '2025-01-01' AND actor_id IS NOT NULL"

    def of(rtype: str) -> tuple[str, tuple[Any, ...]]:
        return search + "LIMIT 500", (rtype, HEAVY)

    def measure(code: str) -> tuple[str, tuple[Any, ...]]:
        return search + obs + "LIMIT 500", ("Observation", HEAVY, code)

    def latest(code: str) -> tuple[str, tuple[Any, ...]]:
        sql = search + obs + ("ORDER BY (SELECT min(d.low) FROM fhir_idx_date d WHERE "  # noqa: S608 - constants only
                              "d.res_pk = r.pk AND d.param = 'date') DESC LIMIT 5")
        return sql, ("Observation", HEAVY, code)

    def count_category(codes: list[str]) -> tuple[str, tuple[Any, ...]]:
        return ("SELECT count(*) FROM fhir_resources r JOIN fhir_idx_ref x ON x.res_pk = r.pk "
                "WHERE x.resource_type = 'DocumentReference' AND x.param = 'patient' AND "
                "x.target_fid = %s AND NOT r.deleted AND EXISTS (SELECT 1 FROM fhir_idx_token t "
                "WHERE t.res_pk = r.pk AND t.param = 'category' AND t.code = ANY(%s))",
                (HEAVY, codes))

    newest_documents = (search + "ORDER BY (SELECT min(d.low) FROM fhir_idx_date d WHERE "  # noqa: S608
                        "d.res_pk = r.pk AND d.param = 'date') DESC LIMIT 100",
                        ("DocumentReference", HEAVY))
    count_all = ("SELECT count(*) FROM fhir_resources r JOIN fhir_idx_ref x ON x.res_pk = r.pk "
                 "WHERE x.resource_type = 'DocumentReference' AND x.param = 'patient' AND "
                 "x.target_fid = %s AND NOT r.deleted")
    queries: dict[str, list[tuple[str, tuple[Any, ...]]]] = {
        "accueil": [count_category([k]) for k in (
            "compte-rendu", "ordonnance", "imagerie", "biologie", "vaccination")] + [
            (count_all, (HEAVY,)), (count.format(w="AND actor_id IS NOT NULL"), (pat,)),
            (history.format(w="AND actor_id IS NOT NULL", lim=5), (pat,))],
        "documents, page 1": [newest_documents, (count_all, (HEAVY,)), of("Consent")],
        "profil de santé": [of(t) for t in (
            "AllergyIntolerance", "Condition", "MedicationStatement", "Immunization")] + [
            latest(c) for c in ("29463-7", "8302-2", "85354-9", "2345-7", "8867-4")],
        "courbe du poids": [measure("29463-7")],
        "agenda": [of("Appointment")],
        "historique, page 1": [(count.format(w=""), (pat,)),
                               (history.format(w="", lim=200), (pat,))],
        "historique filtré": [(count.format(w=filt), (pat,)),
                              (history.format(w=filt, lim=200), (pat,))],
        "historique CSV": [(history.format(w="", lim=100_000), (pat,))],
    }
    out: dict[str, list[float]] = {}
    with psycopg.connect(dsn, autocommit=True) as conn:
        for name, qs in queries.items():
            samples = []
            for k in range(n + 2):
                t = time.perf_counter()
                for sql, params in qs:
                    conn.execute(sql, params).fetchall()  # type: ignore[arg-type]
                if k >= 2:
                    samples.append(time.perf_counter() - t)
            out[name] = samples
    return out


def table(http: dict[str, list[float]], sql: dict[str, list[float]]) -> str:
    head = (f"{'page':<22}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}   "
            f"{'SQL p50':>8}{'SQL p95':>8}   {'ratio p95':>9}  cible p95 < 200 ms")
    lines = [head, "-" * len(head)]
    for name, s in http.items():
        q = sql.get(name)
        peer = f"{pct(q, 50):>8.1f}{pct(q, 95):>8.1f}" if q else f"{'n/a':>8}{'':>8}"
        ratio = f"{pct(s, 95) / pct(q, 95):>8.1f}×" if q else f"{'':>9}"
        ok = "oui" if pct(s, 95) < 200 else "NON"
        lines.append(f"{name:<22}{pct(s, 50):>9.1f}{pct(s, 95):>9.1f}{pct(s, 99):>9.1f}   "
                     f"{peer}   {ratio}  {ok}")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--citizens", type=int, default=1_000_000)
    ap.add_argument("--database-url", required=True, help="base PostgreSQL neuve")
    ap.add_argument("--work", type=Path, default=Path("var/bench-space"))
    ap.add_argument("--requests", type=int, default=40, help="requêtes mesurées par page")
    ap.add_argument("--reuse", action="store_true", help="reprendre les données déjà chargées")
    ap.add_argument("--prepare-only", action="store_true")
    ap.add_argument("--only", default="", help="pages à mesurer (parties de leur nom, virgules)")
    ap.add_argument("--profile", type=Path, default=None,
                    help="cProfile du serveur dans ce fichier (mesures plus lentes)")
    args = ap.parse_args()

    work: Path = args.work.resolve()
    state_file = work / "state.json"
    state = {"citizens": args.citizens, "url": args.database_url}
    saved = json.loads(state_file.read_text()) if state_file.exists() else {}
    reuse = args.reuse and {k: saved.get(k) for k in state} == state
    if args.reuse and not reuse:
        sys.exit(f"--reuse : rien à reprendre dans {work} pour cette base et ce nombre")
    if not reuse:
        work.mkdir(parents=True, exist_ok=True)
        saved = state | {"secret_key": secrets.token_urlsafe(48)}
    os.environ.update(ESANTE_MODE="test", ESANTE_DATA_DIR=str(work / "var"),
                      ESANTE_DATABASE_URL=args.database_url,
                      ESANTE_SECRET_KEY=saved["secret_key"], ESANTE_COOKIE_SECURE="false",
                      ESANTE_ARGON2_TIME_COST="1", ESANTE_ARGON2_MEMORY_KIB="1024",
                      PYTHONPATH=str(ROOT / "src"))
    sys.path.insert(0, str(ROOT / "src"))
    if reuse:
        print(f"reprise des données de {work} ({args.citizens:,} citoyens)")
    else:
        (work / "var").mkdir(parents=True, exist_ok=True)
        saved["totp"] = prepare(args, args.database_url)
        state_file.write_text(json.dumps(saved))
    if args.prepare_only:
        return

    proc, base = start_server(dict(os.environ), profile=args.profile)
    try:
        client = login(base, saved["totp"])
        http = time_pages(client, args.requests, [x for x in args.only.split(",") if x])
        client.close()
    finally:
        stop_server(proc)
    sql = sql_peer(args.database_url, args.requests) if args.database_url.startswith(
        "postgresql") else {}
    load = os.getloadavg()
    print()
    print(f"{args.citizens:,} citoyens ; la citoyenne : 500 documents, 5 ans de mesures "
          f"hebdomadaires, 2 000 accès ; {args.requests} requêtes par page, une à la fois ; "
          f"charge {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(table(http, sql))
    if args.profile:
        import pstats

        pstats.Stats(str(args.profile)).sort_stats("cumulative").print_stats(40)


if __name__ == "__main__":
    main()
