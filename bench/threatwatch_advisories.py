"""Threat watch benchmark (issue 6, benchmark 2): match 10,000 advisories against 3,089
inventories of 300 products each — target under 30 seconds.

    python bench/threatwatch_advisories.py                  # SQLite in a fresh folder
    python bench/threatwatch_advisories.py --advisories 1000 --establishments 300   # small
    python bench/threatwatch_advisories.py --database-url postgresql+psycopg://postgres@127.0.0.1/db

1. migrates a fresh database and seeds the demo's 3,089 establishments;
2. generates, deterministically, a universe of ``--universe`` products (the catalogue of
   software common in hospitals plus synthetic vendor/product pairs, 4 to 12 versions each:
   70 % PEP 440 ``X.Y.Z``, 20 % OpenSSH-like ``X.YpZ``, 10 % OpenSSL-like ``X.Y.Zk``); each
   inventory holds 300 distinct products, 40 of them among the 300 most common ones, the
   others in the long tail; inserts them (real table, real indexes);
3. generates the advisories: 1 to 3 affected products each (a quarter among the common
   ones), as a bounded range (half), an upper bound only (a quarter), one exact version or
   every version; inserts them without matching;
4. times ``esante.cyber.threatwatch.batch.match_all`` — what ``esante cyber advisories
   rematch`` runs: read every inventory from the database into one index by (part, vendor,
   product) with versions sorted, match every advisory by binary search, write the alerts
   in bulk — and prints each step;
5. the peer: the naive nested loop (every advisory compared with every installed product,
   version by version, with the same version comparison), timed on ``--sample`` advisories
   and extrapolated to all; its alerts are checked equal to the index's for the sample.
"""

from __future__ import annotations

import argparse
import os
import random
import time
from typing import Any

from _setup import configure, fresh_platform

TARGET_S = 30.0
PRODUCTS_PER_INVENTORY = 300
COMMON = 300  # the most common products
COMMON_PER_INVENTORY = 40


def parse() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--database-url", default="", help="empty database (default: SQLite file)")
    ap.add_argument("--work", default="", help="data folder (default: a temporary one)")
    ap.add_argument("--establishments", type=int, default=3089)
    ap.add_argument("--advisories", type=int, default=10_000)
    ap.add_argument("--universe", type=int, default=20_000, help="distinct products")
    ap.add_argument("--sample", type=int, default=20, help="advisories for the naive peer")
    ap.add_argument("--seed", type=int, default=6)
    ap.add_argument("--reuse", action="store_true",
                    help="--work holds a database seeded by an earlier run: drop its alerts, "
                         "match again")
    return ap.parse_args()


# --- data ------------------------------------------------------------------------------------

def universe(rng: random.Random, size: int) -> list[tuple[tuple[str, str, str], list[str]]]:
    from esante.cyber.threatwatch import versions
    from esante.cyber.threatwatch.catalogue import CATALOGUE

    out = [(key, [v for v in vs if v != "-"] or ["1.0"]) for key, vs in CATALOGUE.items()]
    n = 0
    while len(out) < size:
        n += 1
        major = rng.randint(0, 20)
        style = rng.random()
        found: set[str] = set()
        for _ in range(rng.randint(4, 12)):
            minor, patch = rng.randint(0, 15), rng.randint(0, 40)
            if style < 0.7:
                found.add(f"{major}.{minor}.{patch}")
            elif style < 0.9:
                found.add(f"{major}.{minor}p{rng.randint(1, 3)}")
            else:
                found.add(f"{major}.{minor}.{patch}{rng.choice('abcdefghijk')}")
        part = "o" if n % 10 == 0 else "a"
        out.append(((part, f"vendor{n // 7:05d}", f"product{n:05d}"),
                    sorted(found, key=versions.loose)))
    return out


def inventories(rng: random.Random, products: list[Any], ests: list[int]) -> list[dict[str, Any]]:
    from esante.cyber.threatwatch.catalogue import cpe_name

    common, tail = products[:COMMON], products[COMMON:]
    rows = []
    for est in ests:
        chosen = rng.sample(common, COMMON_PER_INVENTORY) + rng.sample(
            tail, PRODUCTS_PER_INVENTORY - COMMON_PER_INVENTORY)
        for (part, vendor, product), versions in chosen:
            version = rng.choice(versions)
            rows.append({"establishment_id": est, "part": part, "vendor": vendor,
                         "product": product, "version": version,
                         "cpe": cpe_name(part, vendor, product, version), "label": "",
                         "source": "bench"})
    return rows


def advisories(rng: random.Random, products: list[Any], count: int) -> list[dict[str, Any]]:
    common, tail = products[:COMMON], products[COMMON:]
    out = []
    for n in range(count):
        affected = []
        for _ in range(rng.randint(1, 3)):
            (part, vendor, product), versions = rng.choice(common if rng.random() < 0.25
                                                           else tail)
            bounds: dict[str, Any] = {"version": "*", "start_including": None,
                                      "start_excluding": None, "end_including": None,
                                      "end_excluding": None}
            kind = rng.random()
            if kind < 0.5 and len(versions) > 1:
                i, j = sorted(rng.sample(range(len(versions)), 2))
                bounds |= {"start_including": versions[i], "end_excluding": versions[j]}
            elif kind < 0.75:
                bounds |= {"end_including": rng.choice(versions)}
            elif kind < 0.9:
                bounds |= {"version": rng.choice(versions)}
            affected.append({"part": part, "vendor": vendor, "product": product,
                             "cpe": f"cpe:2.3:{part}:{vendor}:{product}:*:*:*:*:*:*:*:*",
                             **bounds})
        out.append({"reference": f"BENCH-{n:06d}", "affected": affected})
    return out


def seed(args: argparse.Namespace) -> tuple[int, int]:
    from sqlalchemy import insert, select

    from esante.core.db import transaction
    from esante.core.orgs.models import Establishment
    from esante.cyber.threatwatch.models import Advisory, AffectedProduct, InstalledProduct

    fresh_platform(personas=False)
    rng = random.Random(args.seed)
    with transaction() as session:
        ests = list(session.scalars(select(Establishment.id).order_by(Establishment.id)))
    ests = ests[:args.establishments]
    products = universe(rng, args.universe)
    rows = inventories(rng, products, ests)
    t = time.perf_counter()
    with transaction() as session:
        for i in range(0, len(rows), 50_000):
            session.execute(insert(InstalledProduct), rows[i:i + 50_000])
            print(f"  inventaires : {min(i + 50_000, len(rows)):,} / {len(rows):,} lignes",
                  end="\r", flush=True)
    print(f"\n  {len(rows):,} produits installés insérés en {time.perf_counter() - t:.1f} s")
    advs = advisories(rng, products, args.advisories)
    with transaction() as session:
        for i in range(0, len(advs), 2000):
            chunk = advs[i:i + 2000]
            ids = session.scalars(insert(Advisory).returning(Advisory.id), [
                {"reference": a["reference"], "title": a["reference"], "tlp": "CLEAR",
                 "source": "form", "cve_ids": [], "references": [], "summary": "",
                 "recommendations": "", "revision": "1", "status": "open"}
                for a in chunk]).all()
            session.execute(insert(AffectedProduct), [
                {"advisory_id": adv_id, **x} for adv_id, a in zip(ids, chunk, strict=True)
                for x in a["affected"]])
    print(f"  {len(advs):,} avis insérés")
    return len(rows), len(ests)


def reuse() -> tuple[int, int]:
    from sqlalchemy import delete, func, select

    from esante.core.db import transaction
    from esante.cyber.threatwatch.models import Alert, InstalledProduct

    with transaction() as session:
        session.execute(delete(Alert))
        installed = session.scalar(select(func.count()).select_from(InstalledProduct)) or 0
        ests = session.scalar(select(func.count(InstalledProduct.establishment_id.distinct())))
    print(f"  base réutilisée : {installed:,} produits installés, alertes effacées")
    return installed, ests or 0


# --- runs ------------------------------------------------------------------------------------

def run_index() -> dict[str, Any]:
    from esante.core.db import transaction
    from esante.cyber.threatwatch import batch

    with transaction() as session:
        return batch.match_all(session)


def run_naive(sample: int) -> tuple[float, int, bool]:
    """Seconds per advisory of the nested loop, alerts found, and agreement with the index."""
    from sqlalchemy import select

    from esante.core.db import transaction
    from esante.cyber.threatwatch.models import Advisory, Alert, InstalledProduct
    from esante.cyber.threatwatch.service import ranges_of

    with transaction() as session:
        rows = session.execute(select(
            InstalledProduct.part, InstalledProduct.vendor, InstalledProduct.product,
            InstalledProduct.version, InstalledProduct.establishment_id)).all()
        ids = list(session.scalars(select(Advisory.id).order_by(Advisory.id)))
        picked = random.Random(1).sample(ids, min(sample, len(ids)))
        ranges = ranges_of(session, picked)
        expected = set(session.execute(select(Alert.advisory_id, Alert.establishment_id).where(
            Alert.advisory_id.in_(picked))))
    found: set[tuple[int, int]] = set()
    started = time.process_time()  # CPU time: the loop is pure Python
    for adv_id in picked:
        for part, vendor, product, version, est in rows:
            for r in ranges[adv_id]:
                if (part, vendor, product) == r.key and (
                        version in ("*", "-") or r.contains(version)):
                    found.add((adv_id, est))
    per = (time.process_time() - started) / len(picked)
    return per, len(found), found == expected


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f} ({os.cpu_count()} cœurs)"


def main() -> None:
    args = parse()
    work = configure(args.work, args.database_url, "tw")
    print(f"Base : {os.environ['ESANTE_DATABASE_URL']}  (dossier {work})")
    installed, ests = reuse() if args.reuse else seed(args)
    print(f"Rapprochement : {args.advisories:,} avis × {ests:,} inventaires de "
          f"{PRODUCTS_PER_INVENTORY} produits ({installed:,} produits installés)")
    result = run_index()
    for step, label in (("load", "lecture des inventaires et index"),
                        ("read", "lecture des avis et des alertes existantes"),
                        ("match", "rapprochement"),
                        ("write", f"écriture de {result['alerts']:,} alertes")):
        print(f"  {label} : {result[step + '_s']:.1f} s écoulées, "
              f"{result[step + '_cpu_s']:.1f} s CPU")
    matching_cpu = sum(float(result[f"{s}_cpu_s"]) for s in ("load", "read", "match"))
    cpu, wall = float(result["cpu_s"]), float(result["total_s"])
    print(f"esante (index trié + recherche dichotomique) : {wall:.1f} s écoulées, {cpu:.1f} s "
          f"CPU au total, dont {matching_cpu:.1f} s CPU pour lire et rapprocher "
          f"({result['products']:,} noms CPE distincts) ; cible < {TARGET_S:.0f} s : "
          f"{'atteinte' if cpu < TARGET_S else 'manquée'} en CPU, "
          f"{'atteinte' if wall < TARGET_S else 'manquée'} en temps écoulé")
    print(f"charge pendant la mesure : {load_average()}")
    per, found, agree = run_naive(args.sample)
    print(f"pair — boucle imbriquée naïve sur {args.sample} avis : {per:.2f} s par avis, "
          f"soit ≈ {per * args.advisories:,.0f} s (CPU) extrapolés pour {args.advisories:,} avis "
          f"(rapprochement seul, sans lecture ni écriture) ; {found} alertes sur l'échantillon, "
          f"{'identiques' if agree else 'DIFFÉRENTES'} à celles de l'index")
    print(f"rapport : {per * args.advisories / max(float(result['match_cpu_s']), 1e-9):,.0f} × "
          "moins de CPU que la boucle naïve (rapprochement seul)")
    print(f"charge : {load_average()}")


if __name__ == "__main__":
    main()
