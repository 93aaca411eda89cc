"""Real-time duplicate candidates: under 100 ms at 1,000,000 local identities?

    python bench/identity_candidates.py --identities 1000000          # SQLite in a fresh folder
    python bench/identity_candidates.py --database-url postgresql+psycopg://postgres@127.0.0.1/db

1. migrates a fresh database, creates one establishment and its desk agent, then bulk-loads
   ``--identities`` local identities there (synthetic French population of
   ``esante.identity.population``: Zipf-weighted names, twins, homonyms), each with its
   traits encrypted at rest and its blocking keys, as ``service.create`` writes them;
2. times ``duplicates.candidates`` (the function the desk calls before saving) on
   ``--queries`` new entries of existing people typed with realistic errors: a typo in
   the birth name, the used name instead of the birth name, a missing first name, day and
   month swapped; reports p50, p95, max and how often the existing record was among the
   candidates;
3. the peer: the same queries once the blocking indexes are dropped (what the search costs
   without them: a scan of the establishment's records), on ``--peer-queries`` entries.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_MS = 100.0


def parse() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--database-url", default="", help="empty database (default: SQLite file)")
    ap.add_argument("--identities", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=20261129)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--peer-queries", type=int, default=10)
    return ap.parse_args()


def _typo(rng: random.Random, name: str) -> str:
    i = rng.randrange(1, max(2, len(name)))
    return name[:i] + rng.choice("AEIOURST") + name[i + 1:]


def perturb(rng: random.Random, person: dict[str, object]) -> dict[str, object]:
    """One existing person as a desk agent might type them again."""
    data = dict(person)
    y, m, d = str(data["birth_date"]).split("-")
    firsts = list(data["first_names"])  # type: ignore[call-overload]
    error = rng.choice(("typo", "used_name", "first_names", "swap"))
    if error == "typo":
        data["birth_name"] = _typo(rng, str(data["birth_name"]))
    elif error == "used_name":
        data["birth_name"] = rng.choice(("MARTIN", "BERNARD", "ROBERT", "RICHARD"))
        data["used_name"] = person["birth_name"]
    elif error == "first_names":
        data["first_names"] = firsts[:1]
    elif int(d) <= 12:
        data["birth_date"] = f"{y}-{d}-{m}"
    data["error"] = error
    return data


def main() -> int:
    args = parse()
    work = Path(tempfile.mkdtemp(prefix="esante-bench-identity-"))
    os.environ["ESANTE_DATA_DIR"] = str(work)
    os.environ["ESANTE_DATABASE_URL"] = args.database_url or f"sqlite:///{work / 'bench.db'}"
    sys.path.insert(0, str(ROOT / "src"))
    from sqlalchemy import insert, text
    from sqlalchemy.orm import Session

    from esante.core import migrate
    from esante.core.audit import Actor
    from esante.core.db import make_engine
    from esante.core.orgs import service as orgs
    from esante.core.settings import get_settings
    from esante.identity import duplicates, population, service
    from esante.identity.models import LocalIdentity
    from esante.identity.traits import name_key

    engine = make_engine(get_settings().resolved_database_url)
    migrate.upgrade(engine)
    rng = random.Random(args.seed)
    gen = population.Generator(1, set())
    started = time.perf_counter()
    people: list[dict[str, object]] = []
    with Session(engine) as session:
        orgs.ensure_regions(session)
        est = orgs.create_establishment(session, actor=Actor.system("bench"), finess="750000010",
                                        name="CHU Banc d'essai", category="CHU", department="75",
                                        town="Paris")
        batch: list[dict[str, object]] = []
        for i, p in enumerate(gen.people(args.identities), 1):
            data = {"birth_name": p["birth_name"], "first_names": str(p["first_names"]).split(" "),
                    "sex": p["sex"], "birth_date": p["birth_date"], "birth_place": p["birth_place"],
                    "used_name": "", "used_first_name": "", "matricule": "", "oid": "",
                    "from_directory": False}
            if rng.random() < 0.001:
                people.append({**data, "_ipp": f"IPP{i}"})
            batch.append({
                "establishment_id": est.id, "finess": est.finess, "local_id": f"IPP{i}",
                "status": "PROV", "status_reason": "", "attribute": "", "document_type": "",
                "collection_method": "import", "nir_hash": "",
                "traits_enc": service.encode_traits(session, data),
                "birth_date": data["birth_date"], "sex": data["sex"],
                "name_key": name_key(str(data["birth_name"])),
                "first_key": name_key(data["first_names"][0])})  # type: ignore[index]
            if len(batch) == 20_000:
                session.execute(insert(LocalIdentity), batch)
                batch = []
        if batch:
            session.execute(insert(LocalIdentity), batch)
        session.commit()
        if engine.dialect.name == "postgresql":
            session.execute(text("ANALYZE identity_local"))
        else:
            session.execute(text("ANALYZE"))
        session.commit()
        load_s = time.perf_counter() - started
        queries = [perturb(rng, rng.choice(people)) for _ in range(args.queries)]
        ms, hits = run(session, duplicates, est.finess, queries)
        for name in ("ix_identity_local_block_date", "ix_identity_local_block_names",
                     "ix_identity_local_nir"):
            session.execute(text(f"DROP INDEX {name}"))
        session.commit()
        peer_ms, peer_hits = run(session, duplicates, est.finess, queries[:args.peer_queries])
    engine.dispose()
    load = os.getloadavg()
    print(f"identity candidates — {args.identities:,} identities at one establishment, "
          f"{engine.dialect.name}, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"  load (encrypt + bulk insert): {load_s:.1f} s")
    print(f"  {'':32}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}{'found':>8}")
    for label, m, h, n in (("candidates (indexed blocking)", ms, hits, len(queries)),
                           ("peer: same, no blocking index", peer_ms, peer_hits,
                            args.peer_queries)):
        print(f"  {label:32}{statistics.median(m):9.1f}{_p95(m):9.1f}{max(m):9.1f}"
              f"{h / n:8.0%}")
    print(f"  target: p95 < {TARGET_MS:.0f} ms")
    return 0 if _p95(ms) < TARGET_MS else 1


def _p95(values: list[float]) -> float:
    return sorted(values)[max(0, int(len(values) * 0.95) - 1)]


def run(session: object, duplicates: object, finess: str,
        queries: list[dict[str, object]]) -> tuple[list[float], int]:
    times, hits = [], 0
    for q in queries:
        t = time.perf_counter()
        found = duplicates.candidates(session, finess, q)  # type: ignore[attr-defined]
        times.append((time.perf_counter() - t) * 1000)
        hits += any(c.identity.local_id == q["_ipp"] for c in found)
    return times, hits


if __name__ == "__main__":
    sys.exit(main())
