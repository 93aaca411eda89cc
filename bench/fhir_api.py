"""FHIR API benchmark: synthetic French data, bulk load, HTTP workloads beside plain SQL.

    python bench/fhir_api.py --patients 1000000 --database-url postgresql+psycopg://...

1. generates NDJSON: N Patients (INS-NIR test identifiers with a valid key, identity
   status QUAL, French names and towns) and 3×N Observations, Conditions, Allergies and
   Immunizations referencing them;
2. loads them with ``esante fhir load`` (timed, a real process);
3. starts ``esante serve`` (uvicorn, ``--workers``) and runs each workload with C concurrent
   clients (httpx, asyncio): authenticated read, create, search by INS identifier, search
   by family + birthdate, and a mixed workload (60 % read, 20 % search, 20 % create);
4. runs the same operations directly in SQL through psycopg (same index tables, same
   concurrency, no HTTP, no auth, no decryption, no audit): the physical limit of this
   design; prints req/s, p50, p99, the ratio, and Medplum's published per-vCPU figures
   beside esante's per core.

Everything happens in a data folder of its own (``--work``); the database must be empty
(``--database-url``; a SQLite file in the work folder by default).
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _setup import PYTHON, ROOT, start_server, stop_server

OID_INS_NIR_TEST = "urn:oid:1.2.250.1.213.1.4.10"
RELIABILITY_URL = "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-identity-reliability"
STATUS_SYSTEM = "https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-identity-status"
MEDPLUM = {"read": 20_797 / 60, "mixed": 6_738 / 60}  # published 2026, 60 app vCPUs

FAMILIES = ["Martin", "Bernard", "Thomas", "Petit", "Robert", "Richard", "Durand", "Dubois",
            "Moreau", "Laurent", "Simon", "Michel", "Lefèvre", "Leroy", "Roux", "David",
            "Bertrand", "Morel", "Fournier", "Girard", "Bonnet", "Dupont", "Lambert", "Fontaine",
            "Rousseau", "Vincent", "Müller", "Lefebvre", "Faure", "André", "Mercier", "Blanc",
            "Guérin", "Boyer", "Garnier", "Chevalier", "François", "Legrand", "Gauthier",
            "Garcia", "Perrin", "Robin", "Clément", "Morin", "Nicolas", "Henry", "Roussel",
            "Mathieu", "Gautier", "Masson", "Marchand", "Duval", "Denis", "Dumont", "Marie",
            "Lemaire", "Noël", "Meyer", "Dufour", "Meunier", "Brun", "Blanchard", "Giraud",
            "Joly", "Rivière", "Lucas", "Brunet", "Gaillard", "Barbier", "Arnaud", "Martinez",
            "Gérard", "Roche", "Renard", "Schmitt", "Roy", "Leroux", "Colin", "Vidal", "Caron",
            "Picard", "Roger", "Fabre", "Aubert", "Lemoine", "Renaud", "Dumas", "Lacroix",
            "Olivier", "Philippe", "Bourgeois", "Pierre", "Benoît", "Rey", "Leclerc", "Payet",
            "Rolland", "Leclercq", "Guillaume", "Lecomte"]
GIVEN_F = ["Camille", "Léa", "Manon", "Chloé", "Emma", "Inès", "Jade", "Louise", "Zoé", "Lina",
           "Anaïs", "Élodie", "Hélène", "Françoise", "Nathalie", "Isabelle", "Sylvie", "Aurélie"]
GIVEN_M = ["Lucas", "Hugo", "Louis", "Gabriel", "Arthur", "Jules", "Raphaël", "Théo", "Noé",
           "Mathéo", "Jérôme", "François", "Stéphane", "Frédéric", "Éric", "Benoît", "Loïc"]
TOWNS = [("Paris", "75056", "75001"), ("Marseille", "13055", "13001"),
         ("Lyon", "69123", "69001"), ("Toulouse", "31555", "31000"), ("Nice", "06088", "06000"),
         ("Nantes", "44109", "44000"), ("Montpellier", "34172", "34000"),
         ("Strasbourg", "67482", "67000"), ("Bordeaux", "33063", "33000"),
         ("Lille", "59350", "59000"), ("Rennes", "35238", "35000"), ("Reims", "51454", "51100"),
         ("Saint-Étienne", "42218", "42000"), ("Toulon", "83137", "83000"),
         ("Le Havre", "76351", "76600"), ("Grenoble", "38185", "38000"),
         ("Dijon", "21231", "21000"), ("Angers", "49007", "49000"), ("Brest", "29019", "29200")]
LOINC = [("29463-7", "kg", 45.0, 120.0), ("8302-2", "cm", 150.0, 195.0),
         ("8867-4", "/min", 50.0, 110.0), ("8310-5", "Cel", 36.0, 39.5),
         ("2339-0", "mg/dL", 70.0, 160.0)]
CIM10 = [("E11.9", "Diabète sucré de type 2"), ("I10", "Hypertension essentielle"),
         ("J45.9", "Asthme"), ("E78.0", "Hypercholestérolémie pure"),
         ("F32.9", "Épisode dépressif"), ("M54.5", "Lombalgie basse")]
ALLERGENS = [("91936005", "Allergie à la pénicilline"), ("300913006", "Allergie aux crustacés"),
             ("418689008", "Allergie aux graminées"), ("91935009", "Allergie à l'arachide")]
VACCINES = [("3400936575617", "Vaccin grippe"), ("3400930018578", "Vaccin DTP"),
            ("3400938456921", "Vaccin ROR"), ("3400956541234", "Vaccin COVID-19")]


def nir(rng: random.Random, sex: int, birth: str, dept: str) -> str:
    from stdnum.fr import nir as stdnum_nir

    body = f"{sex}{birth[2:4]}{birth[5:7]}{dept}{rng.randint(1, 999):03d}{rng.randint(1, 999):03d}"
    return body + stdnum_nir.calc_check_digits(body)


def patient(i: int, rng: random.Random) -> dict[str, Any]:
    sex = rng.choice((1, 2))
    family = rng.choice(FAMILIES)
    given = rng.choice(GIVEN_M if sex == 1 else GIVEN_F)
    birth = f"{rng.randint(1930, 2024)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    town, insee, postal = rng.choice(TOWNS)
    return {
        "resourceType": "Patient", "id": f"pat-{i}",
        "extension": [{"url": RELIABILITY_URL, "extension": [{
            "url": "identityStatus",
            "valueCoding": {"system": STATUS_SYSTEM, "code": "QUAL"}}]}],
        "identifier": [
            {"use": "official", "system": OID_INS_NIR_TEST,
             "value": nir(rng, sex, birth, postal[:2])},
            {"system": "https://hopital.example.fr/ipp", "value": f"IPP{i:09d}"}],
        "name": [{"use": "official", "family": family, "given": [given]}],
        "gender": "male" if sex == 1 else "female", "birthDate": birth,
        "address": [{"line": [f"{rng.randint(1, 200)} rue de la République"], "city": town,
                     "postalCode": postal, "country": "FRA",
                     "extension": [{"url": "http://hl7.org/fhir/StructureDefinition/"
                                           "iso21090-ADXP-censusTract", "valueString": insee}]}],
        "telecom": [{"system": "phone", "value": f"06{rng.randint(0, 99_999_999):08d}"}],
    }


def other(i: int, pid: str, rng: random.Random) -> dict[str, Any]:
    kind = i % 4
    when = f"20{rng.randint(15, 26)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    subject = {"reference": f"Patient/{pid}"}
    if kind in (0, 1):
        code, unit, lo, hi = rng.choice(LOINC)
        return {"resourceType": "Observation", "id": f"obs-{i}", "status": "final",
                "category": [{"coding": [{
                    "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                    "code": "vital-signs"}]}],
                "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
                "subject": subject, "effectiveDateTime": f"{when}T10:00:00+01:00",
                "valueQuantity": {"value": round(rng.uniform(lo, hi), 1), "unit": unit,
                                  "system": "http://unitsofmeasure.org", "code": unit}}
    if kind == 2:
        code, label = rng.choice(CIM10)
        return {"resourceType": "Condition", "id": f"cond-{i}", "subject": subject,
                "clinicalStatus": {"coding": [{
                    "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                    "code": "active"}]},
                "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": code,
                                     "display": label}]}, "recordedDate": when}
    if rng.random() < 0.5:
        code, label = rng.choice(ALLERGENS)
        return {"resourceType": "AllergyIntolerance", "id": f"all-{i}", "patient": subject,
                "type": "allergy", "criticality": "low", "recordedDate": when,
                "code": {"coding": [{"system": "http://snomed.info/sct", "code": code,
                                     "display": label}]}}
    code, label = rng.choice(VACCINES)
    return {"resourceType": "Immunization", "id": f"imm-{i}", "status": "completed",
            "patient": subject, "occurrenceDateTime": when,
            "vaccineCode": {"coding": [{"system": "urn:oid:1.2.250.1.213.2.3.1", "code": code,
                                        "display": label}]}}


def generate(n: int, folder: Path, seed: int = 42) -> tuple[Path, Path]:
    """Writes patients.ndjson.gz and others.ndjson.gz; returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    patients, others = folder / "patients.ndjson.gz", folder / "others.ndjson.gz"
    with gzip.open(patients, "wt", encoding="utf-8", compresslevel=1) as fh:
        for i in range(n):
            fh.write(json.dumps(patient(i, rng), ensure_ascii=False, separators=(",", ":")))
            fh.write("\n")
    with gzip.open(others, "wt", encoding="utf-8", compresslevel=1) as fh:
        for i in range(3 * n):
            fh.write(json.dumps(other(i, f"pat-{rng.randrange(n)}", rng), ensure_ascii=False,
                                separators=(",", ":")))
            fh.write("\n")
    return patients, others


# --- the run ---------------------------------------------------------------------------------

SEED = """
import sys
from esante.core.audit import Actor
from esante.core.db import transaction
from esante.core.orgs import service as orgs
with transaction() as s:
    orgs.ensure_regions(s)
    orgs.create_establishment(s, actor=Actor.system("bench"), finess=sys.argv[1],
                              name="CHU Bench", category="CH", department="75", town="Paris")
"""

TOKENS = """
import sys
from esante.core.accounts import service
from esante.core.audit import Actor
from esante.core.db import transaction
with transaction() as s:
    user = service.get_user_by_email(s, sys.argv[1])
    for _ in range(int(sys.argv[2])):
        print(service.create_token(s, actor=Actor.system("bench"), user=user,
                                   scopes=["read", "write"])[1])
"""


@dataclass
class Sample:
    fid: str
    nir: str
    family: str
    birth: str


@dataclass
class Result:
    name: str
    count: int
    errors: int
    seconds: float
    latencies: list[float]
    cpu_app_ms: float = 0.0  # CPU time of the server processes per request
    cpu_db_ms: float = 0.0   # CPU time of PostgreSQL's backends (this database) per request

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        if len(self.latencies) < 2:
            return self.latencies[0] * 1000 if self.latencies else 0.0
        return statistics.quantiles(self.latencies, n=100)[int(q) - 1] * 1000


def sample_patients(path: Path, n: int, want: int = 5000) -> list[Sample]:
    step = max(1, n // want)
    out = []
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            if i % step == 0:
                p = json.loads(line)
                out.append(Sample(p["id"], p["identifier"][0]["value"], p["name"][0]["family"],
                                  p["birthDate"]))
    return out


def esante(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([PYTHON, "-m", "esante.cli", *args], env=env, cwd=ROOT, text=True,  # noqa: S603
                          capture_output=True, check=False)
    if done.returncode != 0:
        sys.exit(f"esante {' '.join(args)} : {done.stdout}\n{done.stderr}")
    return done


def timed_load(env: dict[str, str], path: Path, jobs: int) -> tuple[int, float]:
    started = time.perf_counter()
    done = esante(env, "fhir", "load", str(path), "--jobs", str(jobs))
    seconds = time.perf_counter() - started
    line = [x for x in done.stdout.splitlines() if "chargée(s)," in x][-1]
    return int(line.split()[0].replace(",", "").replace("\u202f", "")), seconds


Op = Callable[[Any, random.Random], Awaitable[bool]]


async def drive(name: str, op: Op, clients: int, seconds: float, make: Callable[[int], Any],
                warmup: float = 1.0, watch: Watch | None = None) -> Result:
    latencies: list[float] = []
    errors = 0
    stop_at = time.perf_counter() + warmup + seconds
    measure_from = time.perf_counter() + warmup

    async def one(k: int) -> None:
        nonlocal errors
        rng = random.Random(k)
        conn = make(k)
        try:
            while (now := time.perf_counter()) < stop_at:
                ok = await op(conn, rng)
                if now >= measure_from:
                    latencies.append(time.perf_counter() - now)
                    errors += 0 if ok else 1
        finally:
            if hasattr(conn, "aclose"):
                await conn.aclose()

    cpu = Cpu(watch) if watch else None
    await asyncio.gather(*(one(k) for k in range(clients)))
    result = Result(name, len(latencies), errors, seconds, latencies)
    if cpu:
        # Warm-up requests included on both sides: CPU over every request sent.
        sent = len(latencies) / seconds * (seconds + warmup)
        result.cpu_app_ms, result.cpu_db_ms = (x / sent * 1000 for x in cpu.used())
    return result


TICK = os.sysconf("SC_CLK_TCK")


def _cpu_of(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def _children(pid: int) -> list[int]:
    out = [pid]
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out += _children(int(stat.parent.name))
    return out


@dataclass
class Watch:
    """Where the CPU goes during a measure: the server's processes and the database's
    backends (their pids, read from pg_stat_activity at the start)."""

    server_pid: int
    db_url: str = ""

    def pids(self) -> tuple[list[int], list[int]]:
        db: list[int] = []
        if self.db_url.startswith("postgresql"):
            import psycopg

            dsn = self.db_url.replace("postgresql+psycopg://", "postgresql://")
            with psycopg.connect(dsn) as c:
                db = [r[0] for r in c.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid()")]
        return _children(self.server_pid), db


class Cpu:
    """CPU seconds used since creation; processes that appear meanwhile (the pool's new
    connections) count from zero."""

    def __init__(self, watch: Watch) -> None:
        self.watch = watch
        app, db = watch.pids()
        self.start = ({p: _cpu_of(p) for p in app}, {p: _cpu_of(p) for p in db})

    def used(self) -> tuple[float, float]:
        now = self.watch.pids()
        return tuple(sum(_cpu_of(p) - before.get(p, 0.0) for p in pids)  # type: ignore[return-value]
                     for pids, before in zip(now, self.start, strict=True))


def http_ops(base: str, tokens: list[str], samples: list[Sample], n: int) -> dict[str, Op]:
    import httpx

    async def read(c: httpx.AsyncClient, rng: random.Random) -> bool:
        r = await c.get(f"/fhir/Patient/pat-{rng.randrange(n)}")
        return r.status_code == 200

    async def create(c: httpx.AsyncClient, rng: random.Random) -> bool:
        body = other(rng.randrange(1 << 30), f"pat-{rng.randrange(n)}", rng)
        body.pop("id")
        r = await c.post(f"/fhir/{body['resourceType']}", json=body,
                         headers={"Content-Type": "application/fhir+json"})
        return r.status_code == 201

    async def by_ins(c: httpx.AsyncClient, rng: random.Random) -> bool:
        s = rng.choice(samples)
        r = await c.get("/fhir/Patient", params={"identifier": f"{OID_INS_NIR_TEST}|{s.nir}"})
        return r.status_code == 200 and r.json().get("total", 0) >= 1

    async def by_name(c: httpx.AsyncClient, rng: random.Random) -> bool:
        s = rng.choice(samples)
        r = await c.get("/fhir/Patient", params={"family": s.family, "birthdate": s.birth})
        return r.status_code == 200 and r.json().get("total", 0) >= 1

    async def mixed(c: httpx.AsyncClient, rng: random.Random) -> bool:
        x = rng.random()
        op = read if x < 0.6 else by_ins if x < 0.7 else by_name if x < 0.8 else create
        return await op(c, rng)

    return {"lecture authentifiée": read, "création": create, "recherche INS": by_ins,
            "recherche nom+naissance": by_name, "mixte 60/20/20": mixed,
            "__client__": lambda k: httpx.AsyncClient(  # type: ignore[dict-item,misc]
                base_url=base, timeout=30, headers={
                    "Authorization": f"Bearer {tokens[k % len(tokens)]}",
                    "Accept": "application/fhir+json"},
                limits=httpx.Limits(max_connections=1, max_keepalive_connections=1))}


def sql_ops(url: str, samples: list[Sample], n: int) -> dict[str, Op]:
    """The same operations straight in SQL (psycopg, async): no HTTP, no authentication,
    no access rules, no audit, no (de)cryption."""
    import psycopg

    blob = os.urandom(900)  # an encrypted Patient is about that size

    async def read(c: Any, rng: random.Random) -> bool:
        cur = await c.execute("SELECT content FROM fhir_resources WHERE resource_type = "
                              "'Patient' AND fid = %s", (f"pat-{rng.randrange(n)}",))
        return await cur.fetchone() is not None

    async def create(c: Any, rng: random.Random) -> bool:
        fid = f"sql-{uuid.uuid4().hex}"  # unique across clients (their generators share seeds)
        async with c.transaction():
            cur = await c.execute(
                "INSERT INTO fhir_resources (resource_type, fid, version, last_updated, deleted,"
                " patient_fid, content) VALUES ('Observation', %s, 1, now(), false, %s, %s) "
                "RETURNING pk", (fid, f"pat-{rng.randrange(n)}", blob))
            row = await cur.fetchone()
            assert row is not None
            pk = row[0]
            await c.execute("INSERT INTO fhir_versions (resource_type, fid, version, last_updated,"
                            " method, deleted, content) VALUES ('Observation', %s, 1, now(), "
                            "'POST', false, %s)", (fid, blob))
            async with c.cursor() as cur2:
                await cur2.executemany(
                    "INSERT INTO fhir_idx_token (res_pk, resource_type, param, system, code) "
                    "VALUES (%s, 'Observation', %s, %s, %s)",
                    [(pk, "code", "http://loinc.org", "29463-7"), (pk, "status", "", "final"),
                     (pk, "category", "x", "vital-signs")])
                await cur2.executemany(
                    "INSERT INTO fhir_idx_ref (res_pk, resource_type, param, target_type, "
                    "target_fid) VALUES (%s, 'Observation', %s, 'Patient', %s)",
                    [(pk, "subject", "pat-1"), (pk, "patient", "pat-1")])
            await c.execute("INSERT INTO audit_events (at, actor_label, action, object_type, "
                            "object_id, ip, justification, outcome, details, prev_hash, hash) "
                            "VALUES (now(), 'bench', 'bench', 'x', 'x', '', '', 'success', "
                            "'{}', '', %s)", (fid + os.urandom(8).hex(),))
        return True

    async def by_ins(c: Any, rng: random.Random) -> bool:
        s = rng.choice(samples)
        cur = await c.execute(
            "SELECT r.content FROM fhir_idx_token t JOIN fhir_resources r ON r.pk = t.res_pk "
            "WHERE t.resource_type = 'Patient' AND t.param = 'identifier' AND t.code = %s "
            "AND t.system = %s AND NOT r.deleted", (s.nir, OID_INS_NIR_TEST))
        return bool(await cur.fetchall())

    async def by_name(c: Any, rng: random.Random) -> bool:
        s = rng.choice(samples)
        from esante.fhir.values import date_range, normalise

        lo, hi = date_range(s.birth)
        cur = await c.execute(
            "SELECT r.content FROM fhir_resources r WHERE r.resource_type = 'Patient' AND "
            "EXISTS (SELECT 1 FROM fhir_idx_string i WHERE i.res_pk = r.pk AND "
            "i.resource_type = 'Patient' AND i.param = 'family' AND i.norm LIKE %s) AND "
            "EXISTS (SELECT 1 FROM fhir_idx_date d WHERE d.res_pk = r.pk AND "
            "d.resource_type = 'Patient' AND d.param = 'birthdate' AND d.low >= %s AND "
            "d.low <= %s AND d.high <= %s) LIMIT 20", (normalise(s.family) + "%", lo, hi, hi))
        return bool(await cur.fetchall())

    async def mixed(c: Any, rng: random.Random) -> bool:
        x = rng.random()
        op = read if x < 0.6 else by_ins if x < 0.7 else by_name if x < 0.8 else create
        return await op(c, rng)

    dsn = url.replace("postgresql+psycopg://", "postgresql://")

    class Lazy:
        """A connection opened on first use (``drive`` makes clients synchronously)."""

        def __init__(self, _k: int) -> None:
            self.conn: Any = None

        async def connect(self) -> Any:
            if self.conn is None:
                self.conn = await psycopg.AsyncConnection.connect(dsn, autocommit=True)
            return self.conn

        async def execute(self, *a: Any) -> Any:
            return await (await self.connect()).execute(*a)

        def transaction(self) -> Any:
            # Opened lazily: the first operation of a client may be a write.
            return _LazyTransaction(self)

        def cursor(self) -> Any:
            return self.conn.cursor()

        async def aclose(self) -> None:
            if self.conn is not None:
                await self.conn.close()

    return {"lecture authentifiée": read, "création": create, "recherche INS": by_ins,
            "recherche nom+naissance": by_name, "mixte 60/20/20": mixed,
            "__client__": Lazy}  # type: ignore[dict-item]


def table(http: dict[str, Result], sql: dict[str, Result], cores: int) -> str:
    head = (f"{'opération':<26}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'err':>6}"
            f"{'CPU app':>9}{'CPU PG':>8}   "
            f"{'SQL req/s':>10}{'p50':>8}{'p99':>8}   {'ratio':>6}   {'/cœur':>8}")
    lines = [head, "-" * len(head)]
    for name, r in http.items():
        s = sql.get(name)
        ratio = f"{s.rate / r.rate:6.1f}×" if s and r.rate else "   n/a"
        sql_cols = (f"{s.rate:>10,.0f}{s.pct(50):>8.1f}{s.pct(99):>8.1f}" if s
                    else f"{'n/a':>10}{'':>8}{'':>8}")
        lines.append(f"{name:<26}{r.rate:>9,.0f}{r.pct(50):>9.1f}{r.pct(99):>9.1f}"
                     f"{r.errors:>6}{r.cpu_app_ms:>9.2f}{r.cpu_db_ms:>8.2f}   "
                     f"{sql_cols}   {ratio}   {r.rate / cores:>8,.0f}")
    lines.append("CPU app / CPU PG : millisecondes de CPU par requête du serveur esante (tous ses "
                 "processus) et des processus PostgreSQL de la base")
    lines.append("")
    mine = {k: f"{http[n].rate / cores:,.0f}" if n in http else "n/a"
            for k, n in (("read", "lecture authentifiée"), ("mixed", "mixte 60/20/20"))}
    lines.append(f"Medplum 2026 (60 vCPU applicatifs) : lecture {MEDPLUM['read']:,.0f} req/s par "
                 f"vCPU, mixte {MEDPLUM['mixed']:,.0f} req/s par vCPU ; esante par cœur "
                 f"(÷{cores}) : lecture {mine['read']}, mixte {mine['mixed']}")
    return "\n".join(lines)


class _LazyTransaction:
    def __init__(self, client: Any) -> None:
        self.client = client
        self.inner: Any = None

    async def __aenter__(self) -> Any:
        conn = await self.client.connect()
        self.inner = conn.transaction()
        return await self.inner.__aenter__()

    async def __aexit__(self, *exc: Any) -> Any:
        return await self.inner.__aexit__(*exc)


def prepare(args: argparse.Namespace, work: Path, url: str, env: dict[str, str]
            ) -> tuple[Path, list[str]]:
    """Generate the data, load it with ``esante fhir load`` (timed), seed a professional in
    the care of every patient and one token per client."""
    if work.exists():
        shutil.rmtree(work)
    (work / "var").mkdir(parents=True)

    t = time.perf_counter()
    patients_file, others_file = generate(args.patients, work / "ndjson")
    print(f"génération : {args.patients:,} Patients + {3 * args.patients:,} autres en "
          f"{time.perf_counter() - t:.1f} s")

    esante(env, "db", "upgrade")
    n, secs = timed_load(env, patients_file, args.jobs)
    print(f"esante fhir load : {n:,} Patients en {secs:.1f} s ({n / secs:,.0f}/s ; 1 000 000 "
          f"en {1_000_000 / (n / secs) / 60:.1f} min à ce rythme)")
    n2, secs2 = timed_load(env, others_file, args.jobs)
    print(f"esante fhir load : {n2:,} autres ressources en {secs2:.1f} s ({n2 / secs2:,.0f}/s)")

    # A professional of an establishment, in the care of every patient.
    from esante.core.identifiers import finess_key, rpps_key

    finess = "75000042" + finess_key("75000042")
    done = subprocess.run([PYTHON, "-c", SEED, finess], env=env, cwd=ROOT, check=False,  # noqa: S603
                          capture_output=True, text=True)
    if done.returncode:
        sys.exit(done.stderr)
    email = "bench@chu.example.fr"
    esante(env, "user", "create", "--email", email, "--password", "bench-password-42!",
           "--role", "professional", "--scope", f"establishment:{finess}",
           "--rpps", "1000000420" + rpps_key("1000000420"))
    # One token per client: every request stamps its token's last use (UPDATE of the row),
    # so one shared token would serialise the clients on that row lock.
    done = subprocess.run([PYTHON, "-c", TOKENS, email, str(args.clients)], env=env,  # noqa: S603
                          cwd=ROOT, check=False, capture_output=True, text=True)
    if done.returncode:
        sys.exit(done.stderr)
    tokens = done.stdout.split()
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        uid = conn.scalar(text("SELECT id FROM users WHERE email = :e"), {"e": email})
        conn.execute(text(
            "INSERT INTO fhir_care_relationships (user_id, patient_fid, reason, created_at) "
            "SELECT :u, fid, 'bench', CURRENT_TIMESTAMP FROM fhir_resources "
            "WHERE resource_type = 'Patient'"), {"u": uid})
    if url.startswith("postgresql"):
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()

    return patients_file, tokens


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--patients", type=int, default=1_000_000)
    ap.add_argument("--work", type=Path, default=Path("var/bench-fhir"))
    ap.add_argument("--database-url", default="", help="base vide (SQLite dans --work sinon)")
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--duration", type=float, default=20.0, help="secondes par mesure")
    ap.add_argument("--workers", type=int, default=2, help="processus uvicorn")
    ap.add_argument("--jobs", type=int, default=2, help="processus de validation du chargement")
    ap.add_argument("--profile", type=Path, default=None,
                    help="cProfile du serveur (un seul processus) dans ce fichier")
    ap.add_argument("--prepare-only", action="store_true",
                    help="générer et charger les données, sans mesurer (reprendre avec --reuse)")
    ap.add_argument("--reuse", action="store_true",
                    help="reprendre les données déjà chargées (même --work, --patients, base)")
    ap.add_argument("--only", default="", help="mesures à faire, séparées par des virgules")
    args = ap.parse_args()

    work: Path = args.work.resolve()
    url = args.database_url or f"sqlite:///{work / 'var' / 'esante.db'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ESANTE_")}
    env.update(ESANTE_MODE="test", ESANTE_DATA_DIR=str(work / "var"), ESANTE_DATABASE_URL=url,
               PYTHONPATH=str(ROOT / "src"))
    cores = os.cpu_count() or 1
    marker = work / "loaded.json"
    state = {"patients": args.patients, "url": url, "clients": args.clients}
    if args.reuse and marker.exists() and json.loads(marker.read_text()) == state:
        print(f"reprise des données déjà chargées dans {work} ({args.patients:,} Patients)")
        patients_file = work / "ndjson" / "patients.ndjson.gz"
        tokens = (work / "tokens.txt").read_text().split()
    else:
        patients_file, tokens = prepare(args, work, url, env)
        (work / "tokens.txt").write_text("\n".join(tokens))
        marker.write_text(json.dumps(state))
    if args.prepare_only:
        return

    samples = sample_patients(patients_file, args.patients)
    wanted = [x for x in args.only.split(",") if x]
    workers = 1 if args.profile else args.workers
    proc, base = start_server(env, workers=workers, profile=args.profile)
    http: dict[str, Result] = {}
    try:
        ops = http_ops(base, tokens, samples, args.patients)
        make: Any = ops.pop("__client__")
        for name, op in ops.items():
            if wanted and not any(w in name for w in wanted):
                continue
            http[name] = asyncio.run(drive(name, op, args.clients, args.duration, make,
                                           watch=Watch(proc.pid, url)))
            print(f"  HTTP {name:<26} {http[name].rate:>8,.0f} req/s", flush=True)
    finally:
        stop_server(proc)
    sql: dict[str, Result] = {}
    if url.startswith("postgresql"):
        ops = sql_ops(url, samples, args.patients)
        make = ops.pop("__client__")
        for name, op in ops.items():
            if name in http:
                sql[name] = asyncio.run(drive(name, op, args.clients, args.duration / 2, make))
                print(f"  SQL  {name:<26} {sql[name].rate:>8,.0f} req/s", flush=True)
    print()
    print(f"{args.patients:,} Patients + {3 * args.patients:,} autres ; {args.clients} clients ; "
          f"serveur {workers} processus ; {cores} cœurs ; {url.split(':')[0]}")
    if http:
        print(table(http, sql, cores))
    if args.profile:
        import pstats

        pstats.Stats(str(args.profile)).sort_stats("tottime").print_stats(30)


if __name__ == "__main__":
    main()
